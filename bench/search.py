"""A 20-trial search on this machine: the best validation accuracy it finds and its wall time.

Runs `python -m core.search` in a temporary runs folder (deleted afterwards) with the default
ranges around a preset, 3 epochs per trial, and reports the best trial's validation and test
accuracy and its configuration, to set beside the presets' own figures in BENCHMARKS.md.

    python bench/studies.py                                     # fast-cnn, 20 trials, all digits
    python bench/studies.py --preset seed-mlp --trials 10 --train-limit 20000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="fast-cnn")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train-limit", type=int, default=0, help="0 = all 60,000 training digits")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-search-") as runs:
        command = [sys.executable, "-m", "core.search", "--study", "bench", "--runs-dir", runs]
        command += ["--preset", args.preset, "--trials", str(args.trials), "--epochs", str(args.epochs)]
        if args.train_limit:
            command += ["--train-limit", str(args.train_limit)]
        started = time.perf_counter()
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        result = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if result.returncode:
            sys.exit(result.stderr[-3000:])
        os.environ["MNIST_RUNS_DIR"] = runs
        from core.runs import compare, registry, run_results
        from core.search import studies

        runs_by_trial = {run.meta[studies.SEARCH_KEY]["trial"]: run for run in studies.trial_runs("bench")}
        summaries = {
            n: compare.metrics_summary(run_results.read_metrics(run)) for n, run in runs_by_trial.items()
        }
        finished = {n: s["best_val_accuracy"] for n, s in summaries.items() if s["best_val_accuracy"]}
        best = max(finished, key=finished.get)
        pruned = sum(run.state == "stopped" for run in runs_by_trial.values())
        print(f"{args.trials} trials x {args.epochs} epochs of {args.preset}: {seconds / 60:.1f} min wall")
        print(f"trials pruned: {pruned}; best validation accuracy {100 * finished[best]:.2f}% (trial {best})")
        print(
            f"best trial: {runs_by_trial[best].description}; test accuracy "
            f"{100 * (runs_by_trial[best].status.get('test_accuracy') or 0):.2f}%"
        )
        print(result.stdout.strip().splitlines()[-1])
        print("settings:", registry.reload(runs_by_trial[best]).config.to_dict())


if __name__ == "__main__":
    main()
