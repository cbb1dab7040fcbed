"""Time what a person waits for: the home page after the server is ready, and 100 digits on the
explore page once the data is cached. Starts its own server on 127.0.0.1 and drives Debian chromium.

    .venv/bin/python bench/page_load.py [--repeats 5]
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, PROJECT_ROOT, _free_port, _wait_until_healthy  # noqa: E402

import subprocess  # noqa: E402

from playwright.sync_api import expect, sync_playwright  # noqa: E402


def start_server(port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(port)
    try:
        _wait_until_healthy(url, server)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            home_times, explore_times = [], []
            for _ in range(args.repeats):
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                started = time.perf_counter()
                page.goto(url)
                expect(page.get_by_text("Training digits")).to_be_visible(timeout=30_000)
                home_times.append(time.perf_counter() - started)
                started = time.perf_counter()
                page.get_by_role("link", name="Explore digits").first.click()
                expect(page.locator(".digit-grid .digit-label")).to_have_count(100, timeout=30_000)
                expect(page.locator(".digit-grid img")).to_be_visible()
                explore_times.append(time.perf_counter() - started)
                page.close()
            browser.close()
    finally:
        server.terminate()
        server.wait()
    for name, times in (("home page visible", home_times), ("explore: 100 digits shown", explore_times)):
        print(f"{name:28s} first {times[0]:.2f} s, median {statistics.median(times):.2f} s, max {max(times):.2f} s")


if __name__ == "__main__":
    main()
