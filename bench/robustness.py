"""Accuracy of a model on clean MNIST and on every robustness suite (core/data/robustness.py).

Runs the app's own path: each suite's pictures through the preprocessing, then the model's
LiteRT file, as the predict page would. With `--baseline REV [REV ...]`, the same pictures also go
through the preprocessing of each git revision REV, to show what a change of preprocessing gained:
each baseline's column is followed by the paired difference "now - REV" in points with two
standard errors (the same digits and pictures in both, so only the pictures on which the two
disagree count).

    python bench/robustness.py                                  # the shipped model
    python bench/robustness.py --model runs/<id>/model.tflite --digits 1000
    python bench/robustness.py --baseline ab07f78               # before the faint-ink fix
    python bench/robustness.py --store                          # the shipped model's scores

`--store` writes the model folder's robustness.json, as the robustness job does for a run: the
shipped model's file is made this way whenever the suites or the preprocessing change.
    python bench/robustness.py --digits 1000 --baseline ab07f78 28d9d5b --suites lowres_blocky,pencil
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from core.data import robustness
from core.data.preprocess import to_mnist  # noqa: E402
from core.jobs import model_bodies
from core.runs import atomic_files, layout, registry
from core.serving.inference import load_classifier  # noqa: E402


def shipped_model() -> Path:
    return next(run.path for run in registry.list_runs(include_shipped=True) if run.shipped) / "model.tflite"


def preprocessing_at(revision: str):
    """`to_mnist` as core/data/preprocess.py was at `revision`."""
    source = subprocess.run(
        ["git", "show", f"{revision}:core/data/preprocess.py"],
        cwd=PROJECT_ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    module = types.ModuleType(f"preprocess_{revision}")
    sys.modules[module.__name__] = module  # Its dataclasses look their module up.
    exec(compile(source, f"{revision}:core/data/preprocess.py", "exec"), module.__dict__)
    return module.to_mnist


def paired_difference(right_now: np.ndarray, right_then: np.ndarray) -> tuple[float, float]:
    """Accuracy now minus then, in points, and two standard errors of it, for the same pictures."""
    count = len(right_now)
    gained = float(np.sum(right_now & ~right_then))
    lost = float(np.sum(right_then & ~right_now))
    spread = np.sqrt(max(gained + lost - (gained - lost) ** 2 / count, 0.0)) / count
    return 100 * (gained - lost) / count, 200 * spread


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="a model.tflite (default: shipped)")
    parser.add_argument("--digits", type=int, default=robustness.DIGITS_PER_SUITE, help="per suite")
    parser.add_argument(
        "--baseline",
        nargs="+",
        default=[],
        metavar="REV",
        help="git revisions whose preprocessing to compare with",
    )
    parser.add_argument("--suites", help="comma-separated suite names (default: all)")
    parser.add_argument("--store", action="store_true", help="write robustness.json beside the model")
    args = parser.parse_args()
    model = args.model or shipped_model()
    if args.store:
        atomic_files.write_json(model.parent / layout.ROBUSTNESS_FILE, model_bodies.robustness_record(model))
        print(f"wrote {model.parent / layout.ROBUSTNESS_FILE}")
        return
    suites = [robustness.SUITES[name] for name in args.suites.split(",")] if args.suites else None
    classifier = load_classifier(model)
    ways = {"now": to_mnist, **{revision: preprocessing_at(revision) for revision in args.baseline}}
    header = f"{'suite':15} {'now':>8}" + "".join(
        f" {name[:8]:>8} {'now-' + name[:7]:>14}" for name in args.baseline
    )
    print(f"{args.digits} MNIST test digits per suite\n{header}  gated")
    clean = robustness.accuracy(classifier.probabilities_batch, robustness.clean_digits(args.digits))
    print(
        f"{'clean MNIST':15} {100 * clean:7.1f}%"
        + "".join(f" {100 * clean:7.1f}% {'':>14}" for _ in args.baseline)
    )
    started = time.perf_counter()
    for suite in suites or robustness.SUITES.values():
        right = {}
        for name, way in ways.items():
            digits = robustness.suite_digits(suite, args.digits, way)
            right[name] = classifier.probabilities_batch(digits.pixels).argmax(axis=1) == digits.labels
        line = f"{suite.name:15} {100 * right['now'].mean():7.1f}%"
        for name in args.baseline:
            difference, two_errors = paired_difference(right["now"], right[name])
            line += f" {100 * right[name].mean():7.1f}% {difference:+6.1f} +/-{two_errors:4.1f}"
        print(line + f"  {'yes' if suite.gated else 'no'}", flush=True)
    count = len(suites or robustness.SUITES)
    print(f"{count * args.digits} pictures per way in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
