"""What does the dashboard server cost in memory and CPU, and how fast is its predict page?

Prepares a runs folder with a second model (`python -m core.train --preset seed-mlp --epochs 1
--train-limit 5000 --validation-size 1000`, which writes model.tflite too; the preset's default
hold-out of 5,000 would leave no digit to train on), then, for each `--server.fileWatcherType`
asked for, starts a fresh server on a copy of that folder and drives it with headless Debian
Chromium (Playwright):

1. Home, then Predict first, through the sidebar: the time from the click on the sidebar link to
   the canvas being ready (`canvas.upper-canvas` present and laid out, i.e. Fabric has set it
   up), then for the shipped model and the second one: clear the canvas, draw a 1 and a 0, and
   the time from mouse-up to the answer (`.predicted-digit`) on screen. Both times are taken in
   the browser (`performance.now()` in capture listeners and in requestAnimationFrame polling),
   so Playwright's own round trips are not counted.
2. Every other page through the sidebar, each until the server's CPU goes quiet, then back to Home.
3. Server RSS (VmRSS from /proc of the streamlit process, plus its children, i.e. job
   processes, if any), once no job is running.
4. Server CPU (utime + stime from /proc/<pid>/stat, children included) while the browser sits
   idle on Home for `--idle-seconds`.
5. On the last server only (unless --no-training): Design and train, the Fast CNN preset, Start
   training; then RSS of the server and of its job processes every 100 ms until the run and
   every job after it (evaluation, conversion) have ended: peaks of the server, of the worker
   (all job processes together) and of their sum.

A sampler thread records the server's and its children's RSS every 100 ms throughout, so job
processes started by any page show up in the peaks too. Targets (2-core VM): RSS <= 350 MB after
the tour; Predict canvas ready <= 1.5 s after the click; answer <= 0.5 s after mouse-up; idle CPU
< 5% of one core; server + worker <= 1.15 GB while a fast-cnn run trains.

    .venv/bin/python bench/server_footprint.py                        # auto, poll, none; training once
    .venv/bin/python bench/server_footprint.py --watchers none --no-training
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from bench.procfs import process_tree, status_kb  # noqa: E402
from tests import train_command  # noqa: E402
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, streamlit_process  # noqa: E402

SECOND_MODEL_NAME = "footprint second model"
PAGES = {  # Sidebar link -> the page's heading.
    "Home": "MNIST digit recognition",
    "Predict": "Predict a digit",
    "Explore digits": "Explore digits",
    "Dataset statistics": "Dataset statistics",
    "Design and train": "Design and train",
    "Training runs": "Training runs",
    "Export and import": "Export and import",
    "Compare runs": "Compare runs",
    "Run detail": "Run detail",
    "What the model looks at": "What the model looks at",
}
ONE = [(140, 45), *[(140 + i // 6, 45 + 10 * i) for i in range(1, 20)]]
ZERO = [
    (140 + 55 * math.sin(2 * math.pi * k / 36), 140 - 85 * math.cos(2 * math.pi * k / 36)) for k in range(38)
]
SAMPLE_S = 0.1
TICKS_PER_S = os.sysconf("SC_CLK_TCK")
TIMEOUT_MS = 120_000

# In-page clocks: the last click and mouse-up, taken before any app handler sees them.
CLOCKS_JS = """() => {
    if (window.__bench) return;
    window.__bench = {};
    for (const kind of ["click", "mouseup"])
        window.addEventListener(kind, () => { window.__bench[kind] = performance.now(); }, true);
}"""
# The canvas component renders into a shadow root, which querySelector does not enter.
CANVAS_READY_JS = """() => {
    const find = (root) => root.querySelector("canvas.upper-canvas")
        || [...root.querySelectorAll("*")].filter((e) => e.shadowRoot)
            .map((e) => find(e.shadowRoot)).find(Boolean);
    const canvas = find(document);
    const box = canvas && canvas.getBoundingClientRect();
    return box && box.width > 0 && box.height > 0 ? performance.now() : null;
}"""
ANSWER_JS = """() => {
    const answer = document.querySelector(".predicted-digit");
    return answer ? {at: performance.now(), digit: answer.textContent.trim()} : null;
}"""


# --- /proc --------------------------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    """VmRSS of one process in MB (10^6 bytes), 0 once it has gone."""
    return status_kb(pid, "VmRSS") * 1024 / 1e6


def cpu_seconds(pid: int, reaped_children: bool = False) -> float:
    """utime + stime of one process (and of its waited-for children if asked), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat).
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime.
    return ticks / TICKS_PER_S


def tree_cpu_seconds(pid: int) -> float:
    return cpu_seconds(pid, reaped_children=True) + sum(cpu_seconds(child) for child in process_tree(pid)[1:])


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ").strip()
    except OSError:
        return ""


class MemorySampler(threading.Thread):
    """RSS of the server and of its children (job processes) every SAMPLE_S, with peaks."""

    def __init__(self, server_pid: int) -> None:
        super().__init__(daemon=True)
        self.server_pid = server_pid
        self.peaks = {"server": 0.0, "worker": 0.0, "sum": 0.0}
        self.peak_times: dict[str, str] = {}
        self.children_seen: dict[int, str] = {}
        self.series: list[tuple[float, float, float]] | None = None  # (unix time, server, worker MB)
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(SAMPLE_S):
            self.sample()

    def sample(self) -> None:
        server = rss_mb(self.server_pid)
        children = process_tree(self.server_pid)[1:]
        worker = sum(rss_mb(child) for child in children)
        for child in children:
            self.children_seen.setdefault(child, command_line(child))
        now = time.time()
        for key, value in {"server": server, "worker": worker, "sum": server + worker}.items():
            if value > self.peaks[key]:
                self.peaks[key] = value
                self.peak_times[key] = time.strftime("%H:%M:%S", time.localtime(now))
        if self.series is not None:
            self.series.append((now, server, worker))

    def reset(self, keep_series: bool = False) -> None:
        self.peaks = dict.fromkeys(self.peaks, 0.0)
        self.peak_times = {}
        self.children_seen = {}
        self.series = [] if keep_series else None

    def stop(self) -> None:
        self._done.set()
        self.join()


def wait_for_no_children(pid: int, timeout_s: float = 600) -> float:
    """Seconds spent waiting until the server has no child process left."""
    started = time.monotonic()
    while len(process_tree(pid)) > 1 and time.monotonic() - started < timeout_s:
        time.sleep(0.5)
    return time.monotonic() - started


# --- runs folder and server ---------------------------------------------------------------------


def prepare_runs(folder: Path) -> None:
    """A runs folder holding a finished seed-mlp run (model.keras and model.tflite)."""
    command = train_command(
        "seed-mlp",
        folder,
        "--epochs",
        "1",
        "--train-limit",
        "5000",
        "--validation-size",
        "1000",
        "--name",
        SECOND_MODEL_NAME,
    )
    subprocess.run(
        command, cwd=PROJECT_ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    if not list(folder.glob("*/model.tflite")):
        raise SystemExit("the seed-mlp run wrote no model.tflite")


# --- browser ------------------------------------------------------------------------------------


def sidebar_link(page, title: str):
    # Link texts start with the icon's ligature name ("home Home"), so match the end.
    return page.get_by_test_id("stSidebarNav").get_by_role("link", name=re.compile(rf"{re.escape(title)}$"))


def visit(page, title: str, server_pid: int) -> None:
    """Open a page through the sidebar and stay until its script has finished, as a reader would."""
    sidebar_link(page, title).click()
    expect(page.get_by_role("heading", name=PAGES[title])).to_be_visible(timeout=TIMEOUT_MS)
    settle(server_pid)


def settle(server_pid: int, read_s: float = 1.0, quiet_percent: float = 10, timeout_s: float = 10) -> None:
    """Wait until the server has used under `quiet_percent` of a core for 0.5 s (its script has
    finished; the browser's running indicator only shows after a delay), then read for `read_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        before = tree_cpu_seconds(server_pid)
        time.sleep(0.5)
        if 100 * (tree_cpu_seconds(server_pid) - before) / 0.5 < quiet_percent:
            break
    time.sleep(read_s)


def in_page_time(page, predicate_js: str):
    """The first truthy value of `predicate_js`, polled on every animation frame."""
    return page.wait_for_function(predicate_js, polling="raf", timeout=TIMEOUT_MS).json_value()


def open_predict(page) -> float:
    """Seconds from the click on Predict's sidebar link to the canvas being drawable."""
    page.evaluate(CLOCKS_JS)
    sidebar_link(page, "Predict").click()
    ready_at = in_page_time(page, CANVAS_READY_JS)
    return (ready_at - page.evaluate("window.__bench.click")) / 1000


def clear_canvas(page) -> None:
    page.get_by_role("button", name="Reset canvas & history").click()
    expect(page.locator(".predicted-digit")).to_have_count(0, timeout=TIMEOUT_MS)


def draw_and_time(page, points) -> tuple[float, str]:
    """Draw one stroke; seconds from mouse-up to the answer on screen, and the answer."""
    clear_canvas(page)
    box = page.locator("canvas.upper-canvas").bounding_box()
    page.mouse.move(box["x"] + points[0][0], box["y"] + points[0][1])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=4)
    page.mouse.up()
    answer = in_page_time(page, ANSWER_JS)
    return (answer["at"] - page.evaluate("window.__bench.mouseup")) / 1000, answer["digit"]


def choose_model(page, name: str) -> None:
    page.get_by_test_id("stMain").get_by_test_id("stSelectbox").filter(has_text="Model").click()
    page.get_by_role("option", name=re.compile(re.escape(name))).click()
    expect(page.get_by_text(f"Model: {name}")).to_be_visible(timeout=TIMEOUT_MS)
    page.locator("canvas.upper-canvas").wait_for(timeout=TIMEOUT_MS)


def predict_with_two_models(page, server_pid: int) -> dict:
    """First visit to Predict, then a 1 and a 0 with the shipped model and with the second."""
    result = {"canvas_ready_s": open_predict(page), "answers": []}
    for model in ("shipped", SECOND_MODEL_NAME):
        if model != "shipped":
            choose_model(page, model)
            settle(server_pid)
        for digit, points in (("1", ONE), ("0", ZERO)):
            seconds, answer = draw_and_time(page, points)
            result["answers"].append({"model": model, "drawn": digit, "answer": answer, "seconds": seconds})
    return result


def idle_cpu_percent(server_pid: int, seconds: float) -> float:
    """Server CPU (children included) over `seconds` of idling, in % of one core."""
    before, started = tree_cpu_seconds(server_pid), time.monotonic()
    time.sleep(seconds)
    return 100 * (tree_cpu_seconds(server_pid) - before) / (time.monotonic() - started)


def train_fast_cnn(page, runs: Path, sampler: MemorySampler) -> dict:
    """Start a Fast CNN run from the Design and train page and watch it on Training runs;
    memory peaks until the run and every job after it have ended."""
    visit(page, "Design and train", sampler.server_pid)
    page.get_by_test_id("stSelectbox").filter(has_text="Start from a preset").click()
    page.get_by_role("option", name="Fast CNN").click()
    expect(page.get_by_role("radio", name="CNN")).to_be_checked(timeout=TIMEOUT_MS)
    sampler.reset(keep_series=True)
    started = time.monotonic()
    page.get_by_role("button", name="Start training").click()
    expect(page.get_by_role("heading", name=PAGES["Training runs"])).to_be_visible(timeout=TIMEOUT_MS)
    folder, state = wait_for_new_run(runs)
    wait_for_no_children(sampler.server_pid)
    log = (folder / "worker.log").read_text() if folder else ""
    return {
        "state": state,
        "seconds": time.monotonic() - started,
        **{f"{k}_peak_mb": v for k, v in sampler.peaks.items()},
        "peak_times": sampler.peak_times,
        "processes": sorted(set(sampler.children_seen.values())),
        "worker_log": log,
        "series": sampler.series,
    }


def wait_for_new_run(runs: Path, timeout_s: float = 900) -> tuple[Path | None, str]:
    """The fast-cnn run's folder and final state, once it has one."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for status_path in runs.glob("*/status.json"):
            try:
                status = json.loads(status_path.read_text())
                config = json.loads((status_path.parent / "config.json").read_text())
            except (OSError, ValueError):
                continue
            if config.get("architecture") == "cnn" and status.get("state") in (
                "finished",
                "failed",
                "stopped",
            ):
                return status_path.parent, status["state"]
        time.sleep(1)
    return None, "timed out"


# --- one fresh server ---------------------------------------------------------------------------


def measure_server(browser, template: Path, watcher: str, idle_s: float, train: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="footprint-runs-") as folder:
        runs = Path(folder) / "runs"
        shutil.copytree(template, runs)
        with streamlit_process(runs, runs / "server.log", watcher) as (url, server):
            sampler = MemorySampler(server.pid)
            sampler.start()
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            try:
                result = {"watcher": watcher, "rss_started_mb": rss_mb(server.pid)}
                page.goto(url)
                expect(page.get_by_role("heading", name=PAGES["Home"])).to_be_visible(timeout=TIMEOUT_MS)
                page.locator(".stPlotlyChart .main-svg").first.wait_for(timeout=TIMEOUT_MS)
                settle(server.pid)
                result["rss_home_mb"] = rss_mb(server.pid)
                result.update(predict_with_two_models(page, server.pid))
                result["page_peaks_mb"] = {"Home + Predict": sampler.peaks["server"]}
                for title in [*PAGES, "Home"][2:]:
                    sampler.sample()
                    peak_before, sampler.peaks["server"] = sampler.peaks["server"], 0.0
                    visit(page, title, server.pid)
                    result["page_peaks_mb"][title] = sampler.peaks["server"]
                    sampler.peaks["server"] = max(peak_before, sampler.peaks["server"])
                result["waited_for_jobs_s"] = wait_for_no_children(server.pid)
                time.sleep(2)  # Let the last reruns settle.
                result["rss_mb"] = rss_mb(server.pid)
                result["tour_peaks_mb"] = dict(sampler.peaks)
                result["tour_processes"] = sorted(set(sampler.children_seen.values()))
                result["idle_cpu_percent"] = idle_cpu_percent(server.pid, idle_s)
                result["load_1min"] = os.getloadavg()[0]
                if train:
                    result["training"] = train_fast_cnn(page, runs, sampler)
            finally:
                context.close()
                sampler.stop()
    return result


def report(result: dict) -> None:
    answers = ", ".join(f"{a['drawn']}->{a['answer']} {a['seconds']:.2f} s" for a in result["answers"])
    print(
        f"[{result['watcher']}] Predict canvas ready {result['canvas_ready_s']:.2f} s after the click; "
        f"mouse-up to answer (shipped, shipped, second, second): {answers}"
    )
    print(
        f"[{result['watcher']}] server RSS after the tour {result['rss_mb']:.0f} MB "
        f"(started {result['rss_started_mb']:.0f}, Home shown {result['rss_home_mb']:.0f}) "
        f"(tour peaks: server {result['tour_peaks_mb']['server']:.0f}, job processes "
        f"{result['tour_peaks_mb']['worker']:.0f} MB; jobs: {len(result['tour_processes'])}); "
        f"idle CPU on Home {result['idle_cpu_percent']:.2f}% of one core (load {result['load_1min']:.1f})",
        flush=True,
    )
    print(
        f"[{result['watcher']}] server RSS peak per page: "
        + ", ".join(f"{title} {peak:.0f}" for title, peak in result["page_peaks_mb"].items())
        + " MB"
    )
    if "training" in result:
        t = result["training"]
        print(
            f"[{result['watcher']}] fast-cnn from the browser "
            f"({t['state']}, {t['seconds']:.0f} s): peaks server "
            f"{t['server_peak_mb']:.0f} MB, worker "
            f"{t['worker_peak_mb']:.0f} MB, sum {t['sum_peak_mb']:.0f} MB "
            f"(at {t['peak_times'].get('sum')}; the run's log:)",
            flush=True,
        )
        print("    " + t["worker_log"].strip().replace("\n", "\n    "), flush=True)


def summary(results: list[dict]) -> None:
    def line(name: str, values: list[float], unit: str, target: str) -> None:
        print(
            f"{name:40s} median {statistics.median(values):7.2f} "
            f"{unit}, range {min(values):.2f}-{max(values):.2f} "
            f"(n={len(values)}; target {target})"
        )

    print("\nAll servers:")
    line("server RSS after the tour", [r["rss_mb"] for r in results], "MB", "<= 350 MB")
    line("Predict: click to canvas ready", [r["canvas_ready_s"] for r in results], "s", "<= 1.5 s")
    line("mouse-up to answer, first stroke", [r["answers"][0]["seconds"] for r in results], "s", "<= 0.5 s")
    line(
        "mouse-up to answer, every stroke",
        [a["seconds"] for r in results for a in r["answers"]],
        "s",
        "<= 0.5 s",
    )
    trained = [r["training"] for r in results if "training" in r]
    if trained:
        for key in ("server", "worker", "sum"):
            line(
                f"while fast-cnn trains: peak {key} RSS",
                [t[f"{key}_peak_mb"] for t in trained],
                "MB",
                "<= 1150 MB" if key == "sum" else "-",
            )
    for watcher in dict.fromkeys(r["watcher"] for r in results):
        line(
            f"idle CPU, fileWatcherType={watcher}",
            [r["idle_cpu_percent"] for r in results if r["watcher"] == watcher],
            "%",
            "< 5%",
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--watchers", default="auto,poll,none", help="fileWatcherType values, one fresh server each"
    )
    parser.add_argument("--idle-seconds", type=float, default=30)
    parser.add_argument("--no-training", action="store_true", help="skip the fast-cnn run on the last server")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args()
    watchers = args.watchers.split(",")

    results = []
    with tempfile.TemporaryDirectory(prefix="footprint-template-") as template:
        print("training the second model (seed-mlp, 1 epoch, 5,000 digits)...", flush=True)
        prepare_runs(Path(template))
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            for index, watcher in enumerate(watchers):
                train = not args.no_training and index == len(watchers) - 1
                results.append(measure_server(browser, Path(template), watcher, args.idle_seconds, train))
                report(results[-1])
            browser.close()
    summary(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
