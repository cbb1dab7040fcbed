"""Time what a person waits for: the home page after the server is ready, and 100 digits on the
explore page once the data is cached. Starts its own server on 127.0.0.1 and drives Debian chromium.

    .venv/bin/python bench/page_load.py [--repeats 5]
"""

import argparse
import functools
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, streamlit_server  # noqa: E402


def time_to(action, done) -> float:
    started = time.perf_counter()
    action()
    done()
    return time.perf_counter() - started


def show_explore(page):
    return lambda: page.get_by_role("link", name="Explore digits").first.click()


def hundred_digits(page):
    return lambda: expect(page.locator(".digit-grid .digit-label")).to_have_count(100, timeout=30_000)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    times: dict[str, list[float]] = {
        "home page visible (new tab)": [],
        "explore, first visit in the tab": [],
        "explore, later visits": [],
    }
    with (
        tempfile.TemporaryDirectory() as runs,
        streamlit_server(Path(runs), Path(runs) / "server.log") as url,
    ):
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for _ in range(args.repeats):
                page = browser.new_page(viewport={"width": 1400, "height": 1000})

                def home_visible(page=page):
                    expect(page.get_by_text("Training digits")).to_be_visible(timeout=30_000)

                times["home page visible (new tab)"].append(
                    time_to(functools.partial(page.goto, url), home_visible)
                )
                page.locator(".stPlotlyChart .main-svg").first.wait_for(timeout=30_000)
                time.sleep(1)  # A person reads the home page before moving on.
                times["explore, first visit in the tab"].append(
                    time_to(show_explore(page), hundred_digits(page))
                )
                page.get_by_role("link", name="Home").first.click()
                home_visible()
                times["explore, later visits"].append(time_to(show_explore(page), hundred_digits(page)))
                page.close()
            browser.close()
    for name, values in times.items():
        print(
            f"{name:34s} median {statistics.median(values):.2f} "
            f"s, min {min(values):.2f} s, max {max(values):.2f} s"
        )


if __name__ == "__main__":
    main()
