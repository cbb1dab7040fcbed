"""Time the compare page with 20 runs in the registry, in a real browser.

Trains one tiny real run (fast-cnn preset, one epoch on 3,000 digits), copies its folder 20 times
into a temporary MNIST_RUNS_DIR (each with its evaluation, as the worker leaves it), starts a
server on 127.0.0.1 and measures, in Debian chromium, the time from navigation until the
leaderboard, the overlaid curves of the two default runs and the manage section are visible:
after a click in the sidebar (in-app navigation, the usual way in), and when /compare is opened
in a new tab (the browser then boots Streamlit's frontend and Plotly again). Runs the pages'
script in ~50 ms; the rest is the browser. Compare with bench/page_load.py on the same machine.

    .venv/bin/python bench/compare_page.py [--runs 20] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from core.runs import atomic_files, layout
from tests import train_command  # noqa: E402
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, PROJECT_ROOT, streamlit_server  # noqa: E402


def train_template(runs_dir: Path) -> Path:
    subprocess.run(
        train_command(
            "fast-cnn",
            runs_dir,
            "--epochs",
            "1",
            "--train-limit",
            "3000",
            "--validation-size",
            "1000",
            "--name",
            "template",
        ),
        cwd=PROJECT_ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    return next(p for p in runs_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def fill(runs_dir: Path, template: Path, count: int) -> None:
    for index in range(count):
        target = runs_dir / f"20260101-{index:06d}-{index:06x}"
        shutil.copytree(template, target, ignore=shutil.ignore_patterns(layout.CHECKPOINT_FILE, ".lock"))
        atomic_files.write_json(target / layout.META_FILE, {"name": f"copy {index + 1:02d}", "notes": ""})
    shutil.rmtree(template)


def warm_up(context, url: str) -> None:
    """A first visit boots the server's caches and fills the browser's HTTP cache."""
    page = context.new_page()
    page.goto(url)
    expect(page.get_by_text("Training digits")).to_be_visible(timeout=60_000)
    page.close()


def compare_page_ready(page, started: float) -> tuple[float, float]:
    """Seconds until the leaderboard shows, and until the overlaid curves and the manage section
    are on screen too (the page is complete)."""
    expect(page.get_by_test_id("stDataFrame")).to_be_visible(timeout=30_000)
    table = time.perf_counter() - started
    expect(page.locator(".js-plotly-plot .legendtext").first).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Manage a run")).to_be_visible(timeout=30_000)
    return table, time.perf_counter() - started


def time_url_load(context, url: str) -> tuple[float, float]:
    """Open /compare in a new tab (a reload, or a link from outside the app)."""
    page = context.new_page()
    started = time.perf_counter()
    page.goto(f"{url}/compare")
    times = compare_page_ready(page, started)
    page.close()
    return times


def time_navigation(page) -> tuple[float, float]:
    """From the home page, click "Compare runs" in the sidebar (what a user usually does)."""
    page.get_by_role("link", name="Home").first.click()
    expect(page.get_by_text("Training digits")).to_be_visible(timeout=60_000)
    started = time.perf_counter()
    page.get_by_role("link", name="Compare runs").first.click()
    return compare_page_ready(page, started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="compare-bench-") as folder:
        runs_dir = Path(folder)
        fill(runs_dir, train_template(runs_dir), args.runs)
        with streamlit_server(runs_dir, runs_dir / "server.log") as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            warm_up(context, url)
            tab = context.new_page()
            tab.goto(url)
            first_click = time_navigation(tab)  # Also loads the table and Plotly scripts.
            clicks = [time_navigation(tab) for _ in range(args.repeats)]
            loads = [time_url_load(context, url) for _ in range(args.repeats)]
            browser.close()
    print(f"compare page with {args.runs} runs (plus any shipped model): leaderboard shown / page complete")
    print(
        f"  sidebar click, first in the tab (loads the table and Plotly scripts): "
        f"{first_click[0]:.2f} s / {first_click[1]:.2f} s"
    )
    for what, times in (("sidebar click, later", clicks), ("new tab on /compare", loads)):
        tables, complete = [t for t, _ in times], [c for _, c in times]
        print(
            f"  {what}: median {statistics.median(tables):.2f} s / {statistics.median(complete):.2f} s, "
            f"max {max(tables):.2f} s / {max(complete):.2f} s over {len(times)}"
        )


if __name__ == "__main__":
    main()
