"""Train a preset from the command line: `python -m core.train --preset fast-cnn`.

The run is written to the runs folder like any other, so the dashboard lists it. It starts at
once rather than waiting in the queue, and the dashboard's scheduler waits while it trains.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from core.networks.config import PRESETS, ConfigError
from core.runs import layout, registry


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m core.train", description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="fast-cnn")
    parser.add_argument("--epochs", type=int, help="override the preset's epochs")
    parser.add_argument("--train-limit", type=int, help="train on a random subset this size")
    parser.add_argument("--validation-size", type=int, help="digits held out for validation")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--name", help="the run's name in the dashboard")
    parser.add_argument("--runs-dir", help="runs folder (default: $MNIST_RUNS_DIR or ./runs)")
    return parser.parse_args(argv)


def _log_to_terminal_and_file(path: os.PathLike) -> None:
    formatter = logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S")
    handlers = [logging.StreamHandler(sys.stdout), logging.FileHandler(path)]
    for handler in handlers:
        handler.setFormatter(formatter)
    logging.basicConfig(level=logging.INFO, handlers=handlers)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.runs_dir:
        os.environ["MNIST_RUNS_DIR"] = args.runs_dir
    overrides = {
        "epochs": args.epochs,
        "train_limit": args.train_limit,
        "validation_size": args.validation_size,
        "seed": args.seed,
    }
    try:
        config = PRESETS[args.preset].config.with_changes(
            **{key: value for key, value in overrides.items() if value is not None}
        )
    except ConfigError as error:
        print(f"invalid settings: {error}", file=sys.stderr)
        return 2

    # Imported late so that --help and bad arguments answer without loading TensorFlow.
    from core.jobs.device import configure_tensorflow

    configure_tensorflow()
    from core.jobs.worker import train_run

    run = registry.create_run(config, args.name, start_now=True)
    _log_to_terminal_and_file(run.path / layout.LOG_FILE)
    logging.info("run %s in %s", run.id, run.path)
    final = train_run(run)
    if final.state == "finished":
        print(f"{final.name}: test accuracy {100 * final.status['test_accuracy']:.2f}%")
        return 0
    print(f"{final.name}: {final.state} {final.status.get('error') or ''}".rstrip())
    return 1 if final.state == "failed" else 0
