"""How long does Stop take, from the request to the run reading "stopped"?

Starts real train jobs (`python -m core.jobs train <run>`, as the scheduler does) on a small
MLP with many epochs in a temporary runs folder, asks each to stop at a random moment once it is
fitting, and times the answer. Target: <= 2 s, validation included.

    python bench/stop_latency.py --stops 5
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.networks.config import ModelConfig  # noqa: E402
from core.networks.families.base import DenseLayer  # noqa: E402
from core.networks.families.mlp import MLP  # noqa: E402
from core.runs import layout, registry, run_results

CONFIG = ModelConfig(
    network=MLP(hidden_layers=(DenseLayer(64),)),
    batch_size=64,
    epochs=50,
    train_limit=3000,
    validation_size=1000,
)


def wait_for(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the worker did not get there")
        time.sleep(0.005)


def one_stop(rng: random.Random) -> float:
    run = registry.create_run(CONFIG, "stop bench")
    worker = subprocess.Popen(
        [sys.executable, "-m", "core.jobs", "train", run.id],
        cwd=layout.PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(lambda: any(r["kind"] == "batch" for r in run_results.read_metrics(run)), 180)
    time.sleep(rng.uniform(0, 3))  # Anywhere in an epoch, validation included.
    asked = time.monotonic()
    registry.request_stop(run)
    wait_for(lambda: registry.reload(run).state == "stopped", 60)
    latency = time.monotonic() - asked
    worker.wait(timeout=60)
    return latency


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stops", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(0)
    with tempfile.TemporaryDirectory(prefix="stop-bench-") as runs:
        os.environ["MNIST_RUNS_DIR"] = runs
        latencies = [one_stop(rng) for _ in range(args.stops)]
    print(
        f"stop latency over {len(latencies)} stops: median {statistics.median(latencies):.2f} s, "
        f"max {max(latencies):.2f} s (target <= 2 s)"
    )


if __name__ == "__main__":
    main()
