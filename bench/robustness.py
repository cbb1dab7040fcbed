"""Accuracy of a model on clean MNIST and on every robustness suite (core/robustness.py).

Runs the app's own path: each suite's pictures through the preprocessing, then the model's
LiteRT file, as the predict page would. With `--baseline REV`, the same suites also go through
the preprocessing of git revision REV, to show what a change of preprocessing gained.

    python bench/robustness.py                                  # the shipped model
    python bench/robustness.py --model runs/<id>/model.tflite --digits 1000
    python bench/robustness.py --baseline ab07f78               # before the faint-ink fix
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import types
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from core import registry, robustness  # noqa: E402
from core.inference import load_classifier  # noqa: E402
from core.preprocess import to_mnist  # noqa: E402


def shipped_model() -> Path:
    return next(run.path for run in registry.list_runs(include_shipped=True) if run.shipped) / "model.tflite"


def preprocessing_at(revision: str):
    """`to_mnist` as core/preprocess.py was at `revision`."""
    source = subprocess.run(
        ["git", "show", f"{revision}:core/preprocess.py"], cwd=PROJECT_ROOT, check=True, capture_output=True
    ).stdout.decode()
    module = types.ModuleType(f"preprocess_{revision}")
    sys.modules[module.__name__] = module  # Its dataclasses look their module up.
    exec(compile(source, f"{revision}:core/preprocess.py", "exec"), module.__dict__)
    return module.to_mnist


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="a model.tflite (default: shipped)")
    parser.add_argument("--digits", type=int, default=robustness.DIGITS_PER_SUITE, help="per suite")
    parser.add_argument("--baseline", help="git revision whose preprocessing to compare with")
    args = parser.parse_args()
    classifier = load_classifier(args.model or shipped_model())
    ways = {"now": to_mnist}
    if args.baseline:
        ways[args.baseline] = preprocessing_at(args.baseline)
    print(f"{'suite':15} " + " ".join(f"{name:>9}" for name in ways) + "  gated")
    clean = robustness.accuracy(classifier.probabilities_batch, robustness.clean_digits(args.digits))
    print(f"{'clean MNIST':15} " + " ".join(f"{100 * clean:8.1f}%" for _ in ways))
    started = time.perf_counter()
    for suite in robustness.SUITES.values():
        scores = [
            robustness.accuracy(
                classifier.probabilities_batch, robustness.suite_digits(suite, args.digits, way)
            )
            for way in ways.values()
        ]
        print(
            f"{suite.name:15} "
            + " ".join(f"{100 * s:8.1f}%" for s in scores)
            + f"  {'yes' if suite.gated else 'no'}"
        )
    print(f"{len(robustness.SUITES) * args.digits} pictures per way in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
