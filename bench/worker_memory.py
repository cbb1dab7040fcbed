"""How much memory does a training worker take at its peak?

Runs `python -m core.train` as a subprocess into a temporary runs folder (deleted afterwards) and
samples the resident memory (VmRSS) of it and of any process it starts every 50 ms; the kernel's
own high-water mark (VmHWM) of the worker is read too, so a spike between two samples still
counts. Epoch times come from the run's metrics.jsonl. `import tensorflow` alone is 600-800 MB,
depending on the machine. Target for the fast-cnn preset on all 60,000 digits: peak <= 800 MB.

    python bench/worker_memory.py                       # fast-cnn, 1 epoch, all digits
    python bench/worker_memory.py --epochs 3 --train-limit 10000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from bench.procfs import process_tree, status_kb  # noqa: E402

SAMPLE_SECONDS = 0.05


def sample_until_exit(worker: subprocess.Popen) -> tuple[int, int]:
    """(peak summed VmRSS of the worker and its children, the worker's last VmHWM), in kB."""
    peak_rss = high_water = 0
    while worker.poll() is None:
        peak_rss = max(peak_rss, sum(status_kb(pid, "VmRSS") for pid in process_tree(worker.pid)))
        high_water = max(high_water, status_kb(worker.pid, "VmHWM"))
        time.sleep(SAMPLE_SECONDS)
    return peak_rss, high_water


def epoch_seconds(runs_dir: Path) -> list[float]:
    return [
        record["seconds"]
        for path in runs_dir.glob("*/metrics.jsonl")
        for record in map(json.loads, path.read_text().splitlines())
        if record["kind"] == "epoch"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="fast-cnn")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--train-limit", type=int, help="train on a subset this size")
    args = parser.parse_args()

    command = [
        sys.executable,
        "-m",
        "core.train",
        "--preset",
        args.preset,
        "--epochs",
        str(args.epochs),
        "--name",
        "memory bench",
    ]
    if args.train_limit:
        command += ["--train-limit", str(args.train_limit)]
    environment = {"TF_CPP_MIN_LOG_LEVEL": "2", **os.environ}
    with tempfile.TemporaryDirectory(prefix="bench-runs-") as runs:
        with open(Path(runs) / "worker.out", "w+") as log:
            started = time.monotonic()
            worker = subprocess.Popen(
                [*command, "--runs-dir", runs],
                cwd=PROJECT_ROOT,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            peak_rss, high_water = sample_until_exit(worker)
            wall = time.monotonic() - started
            log.seek(0)
            output = log.read()
            if worker.returncode != 0:
                sys.exit(f"{output[-3000:]}\nthe worker exited with code {worker.returncode}")
        seconds = epoch_seconds(Path(runs))
    print(" ".join(command[1:]) + f": {wall:.1f} s in all")
    print(f"peak RSS, sampled (worker and children): {peak_rss / 1024:.0f} MB")
    print(f"peak RSS, VmHWM (worker):                {high_water / 1024:.0f} MB")
    print("epoch seconds: " + ", ".join(f"{s:.1f}" for s in seconds))
    print(f"worker: {output.splitlines()[-1]}")  # Its summary: the run's test accuracy.


if __name__ == "__main__":
    main()
