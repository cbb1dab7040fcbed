"""The search's trials in a job process: `python -m core.search` and the dashboard's search job.

Both train each trial with the worker's own loop (`train_run`), a `SearchPruning` callback carrying
the pruner's verdict; the study, its settings and its trials are core.search's.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

import sqlalchemy.exc

from core.jobs.callbacks import SearchPruning
from core.jobs.device import configure_tensorflow
from core.jobs.worker import train_run
from core.networks.config import PRESETS, ConfigError
from core.queue import jobs
from core.runs import access
from core.runs.registry import RunRecord
from core.search import trials
from core.search.studies import (
    PRUNERS,
    SAMPLERS,
    SearchSettings,
    best_line,
    load_study,
    make_pruner,
    make_sampler,
    new_settings,
    open_study,
    settings_of,
    study_settings,
)


def train_trial(run: RunRecord, trial: Any) -> tuple[RunRecord, bool]:
    """Train the trial's run, reporting each epoch to `trial`; the ended run, and whether pruned."""
    pruning = SearchPruning(trial)
    final = train_run(run, [pruning])
    return final, pruning.pruned_after is not None


def run_trials(study: Any, settings: SearchSettings, count: int, **options: Any) -> None:
    """`count` of the study's trials in this process, on the devices the base configuration names."""
    configure_tensorflow(settings.base.devices)
    trials.run_trials(study, settings, count, train_trial, **options)


def search_job(target: str) -> dict[str, Any]:
    """The search job's body: the trials the page asked for, in study `target`."""
    payload = (jobs.read("search", target) or {}).get("payload") or {}
    visitor = payload.get("visitor")
    who = access.OWNER if visitor is None else access.Who(owner=False, session=str(visitor))
    study = load_study(target)
    run_trials(study, settings_of(study), int(payload["trials"]), who=who, launcher="search")
    return {"best": best_line(study)}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m core.search",
        description="Search for better structures: an Optuna study whose trials are normal runs.",
    )
    parser.add_argument("--study", required=True, help="the study's name; the same name resumes or joins it")
    parser.add_argument("--trials", type=int, required=True, help="trials this worker runs")
    parser.add_argument("--epochs", type=int, help="epochs per trial (default: the preset's)")
    parser.add_argument("--train-limit", type=int, help="digits per trial, hold-out included (default: all)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--preset", choices=sorted(PRESETS), help="the base configuration (default fast-cnn)")
    source.add_argument("--space", type=Path, help="a JSON file of ranges (see core/search/space.py)")
    parser.add_argument("--storage", help="SQLAlchemy URL (default: sqlite:///<runs>/search.db)")
    parser.add_argument("--sampler", choices=SAMPLERS, default="tpe")
    parser.add_argument("--pruner", choices=PRUNERS, default="median")
    parser.add_argument("--runs-dir", help="runs folder (default: $MNIST_RUNS_DIR or ./runs)")
    parser.add_argument("--wall-time", type=float, help="seconds after which no new trial starts")
    args = parser.parse_args(argv)
    if args.trials < 1:
        parser.error("--trials must be at least 1")
    if args.wall_time is not None and args.wall_time <= 0:
        parser.error("--wall-time must be a positive number of seconds")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.runs_dir:
        os.environ["MNIST_RUNS_DIR"] = args.runs_dir
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    given = {name for name in ("preset", "epochs", "train_limit", "space") if getattr(args, name) is not None}
    try:
        proposed = new_settings(
            args.preset or "fast-cnn", epochs=args.epochs, train_limit=args.train_limit, space_file=args.space
        )
        study = open_study(
            args.study, args.storage, sampler=make_sampler(args.sampler), pruner=make_pruner(args.pruner)
        )
        settings = study_settings(study, proposed, given)
    except ConfigError as error:
        print(f"invalid settings: {error}", file=sys.stderr)
        return 2
    except (sqlalchemy.exc.SQLAlchemyError, ImportError, ValueError) as error:
        print(f"cannot open the study's storage: {error}", file=sys.stderr)
        return 2
    code = 0
    try:
        run_trials(study, settings, args.trials, wall_seconds=args.wall_time)
    except KeyboardInterrupt:
        code = 130
    print(best_line(study))
    return code
