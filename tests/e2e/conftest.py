"""One Streamlit server and one Debian Chromium for the whole browser-test session."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERVER_START_TIMEOUT_S = 90


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_healthy(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not become healthy within {SERVER_START_TIMEOUT_S} s")


@pytest.fixture(scope="session")
def server_runs_dir(tmp_path_factory) -> Path:
    """The runs folder of the session's Streamlit server (its own process, its own environment)."""
    return tmp_path_factory.mktemp("e2e-runs")


@contextmanager
def streamlit_process(
    runs_dir: Path, log_path: Path, watcher: str = "none", root: Path = PROJECT_ROOT
) -> Iterator[tuple[str, subprocess.Popen]]:
    """`streamlit run app.py` of the checkout `root` on 127.0.0.1 and a free port; yields
    (URL, process) once healthy."""
    port = _free_port()
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.address",
                "127.0.0.1",
                "--server.port",
                str(port),
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
                "--server.fileWatcherType",
                watcher,
            ],
            cwd=root,
            env={**os.environ, "MNIST_RUNS_DIR": str(runs_dir)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_healthy(url, server)
            yield url, server
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


@contextmanager
def streamlit_server(runs_dir: Path, log_path: Path) -> Iterator[str]:
    """As `streamlit_process`, yielding only the URL."""
    with streamlit_process(runs_dir, log_path) as (url, _):
        yield url


@pytest.fixture(scope="session")
def app_url(server_runs_dir, tmp_path_factory) -> Iterator[str]:
    with streamlit_server(server_runs_dir, tmp_path_factory.mktemp("streamlit") / "server.log") as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()
