"""Search for better structures: an Optuna study whose trials are normal runs.

  python -m core.search --study NAME --trials N --epochs E --train-limit L
                        [--preset P | --space FILE] [--storage URL] [--runs-dir DIR]

Each trial samples a configuration from the study's space (core.search_space), trains it as a run
in the registry, tagged in meta.json with its study and trial number, and reports each epoch's
validation accuracy to the pruner (the test set never chooses). The study lives in an Optuna
storage: by default `sqlite:///<runs>/search.db`; a shared SQLAlchemy URL (PostgreSQL) lets workers
on several machines pull trials from one study, Optuna handing each trial to one worker only. The
study keeps its settings (preset, epochs, digits, space), so a worker that joins or resumes it
needs only its name and storage. From the dashboard, the "search" job (`search_job`) runs a
study's trials the same way; `$MNIST_SEARCH_STORAGE` points the dashboard at a shared storage, so it
shows every machine's trials. Optuna is imported here and by the Search page, never by the rest of
the server; TensorFlow only once trials run.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import socket
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy.exc

from core import access, jobs, limits, registry, run_results, scheduler
from core.config import PRESETS, VALIDATION_SIZE_RANGE, ConfigError, ModelConfig
from core.registry import RunRecord
from core.search_space import SearchSpace, default_space, parse_space, read_space, sample, space_from_json

logger = logging.getLogger(__name__)

STORAGE_FILE = "search.db"
SEARCH_KEY = "search"  # In meta.json: {"study": name, "trial": number}.
SETTINGS_ATTR = "settings"  # The study's user attribute holding its SearchSettings.
STOP_ATTR = "stop_requested"  # Set by `request_stop`; workers end after their current trial.
STARTED_BY_ATTR = "started_by"  # The visitor session that created the study; none: the owner's.
SAMPLERS = ("tpe", "random")
PRUNERS = ("median", "hyperband", "none")
TRIALS_RANGE = (1, 200)  # Trials one dashboard request may ask for.
STORAGE_VARIABLE = "MNIST_SEARCH_STORAGE"
HEARTBEAT_SECONDS = 60  # A worker that dies leaves its trial running until others see it stale.
OPEN_ATTEMPTS = 3  # Workers starting together on a new storage may race to create its tables.


class TrialFailed(RuntimeError):
    """A trial whose run failed or was stopped: recorded as failed, and the search goes on."""


@dataclass(frozen=True)
class SearchSettings:
    """What a study searches: the base configuration (epochs and digits included) and the space."""

    preset: str
    base: ModelConfig
    space: SearchSpace

    def to_dict(self) -> dict[str, Any]:
        return {"preset": self.preset, "base": self.base.to_dict(), "space": self.space.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SearchSettings:
        base = ModelConfig.from_dict(data["base"])
        return cls(data["preset"], base, parse_space(data["space"], base))


def new_settings(
    preset: str = "fast-cnn",
    *,
    epochs: int | None = None,
    train_limit: int | None = None,
    space_file: Path | None = None,
) -> SearchSettings:
    """A study's settings: the preset with these epochs and digits, searched over the space file's
    ranges or, without one, the default ranges around the preset. With few digits the hold-out
    shrinks to a fifth of them (at least its minimum), so there are digits left to train on."""
    base = PRESETS[preset].config
    changes: dict[str, Any] = {"epochs": epochs} if epochs is not None else {}
    if train_limit:
        validation = min(base.validation_size, max(VALIDATION_SIZE_RANGE[0], train_limit // 5))
        changes.update(train_limit=train_limit, validation_size=validation)
    base = base.with_changes(**changes)
    space = read_space(space_file, base) if space_file else default_space(base)
    return SearchSettings(preset, base, space)


def with_space(settings: SearchSettings, text: str) -> SearchSettings:
    """`settings` searching the space that JSON `text` describes (the page's edited ranges)."""
    return replace(settings, space=space_from_json(text.encode(), settings.base))


def settings_of(study: optuna.Study) -> SearchSettings | None:
    """The settings the study keeps; None before its first worker stored them."""
    stored = study.user_attrs.get(SETTINGS_ATTR)
    return None if stored is None else SearchSettings.from_dict(stored)


def default_storage() -> str:
    """`$MNIST_SEARCH_STORAGE`, else the SQLite file in the runs folder."""
    return os.environ.get(STORAGE_VARIABLE) or f"sqlite:///{registry.runs_dir() / STORAGE_FILE}"


@functools.cache
def _storage(url: str) -> optuna.storages.RDBStorage:
    """One storage (and connection pool) per URL in a process: the page reads it every second."""
    # SQLite: wait for another worker's write rather than fail; a server: drop dead connections.
    engine = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    with warnings.catch_warnings():  # Heartbeats are "experimental" in Optuna 5, and needed.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RDBStorage(url, engine_kwargs=engine, heartbeat_interval=HEARTBEAT_SECONDS)


def _sampler(name: str) -> optuna.samplers.BaseSampler:
    return optuna.samplers.RandomSampler() if name == "random" else optuna.samplers.TPESampler()


def make_pruner(name: str) -> optuna.pruners.BasePruner:
    """The median rule once 3 trials have finished, Hyperband over the trials' epochs, or none."""
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1)
    if name == "none":
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=3)


def open_study(
    name: str,
    storage: str | None = None,
    *,
    sampler: optuna.samplers.BaseSampler | None = None,
    pruner: optuna.pruners.BasePruner | None = None,
) -> optuna.Study:
    """The study `name` in `storage` (default: the runs folder's SQLite file), created if new."""
    url = storage or default_storage()
    attempt = 1
    while True:
        try:
            return optuna.create_study(
                study_name=name,
                storage=_storage(url),
                sampler=sampler or _sampler("tpe"),
                pruner=pruner or make_pruner("median"),
                direction="maximize",
                load_if_exists=True,
            )
        except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.IntegrityError):
            if attempt == OPEN_ATTEMPTS:
                raise
            attempt += 1


def load_study(name: str, storage: str | None = None) -> optuna.Study:
    """An existing study, for reading; KeyError if there is none of that name."""
    return optuna.load_study(study_name=name, storage=_storage(storage or default_storage()))


def study_settings(study: optuna.Study, proposed: SearchSettings, given: set[str]) -> SearchSettings:
    """The settings the study keeps, stored from `proposed` if it has none yet.

    A worker joining a study follows its settings; any of `given` ("preset", "epochs",
    "train_limit", "space": what its command line named) that disagrees is refused.
    """
    settings = settings_of(study)
    if settings is None:
        study.set_user_attr(SETTINGS_ATTR, proposed.to_dict())
        return proposed
    differ = {
        "preset": settings.preset != proposed.preset,
        "epochs": settings.base.epochs != proposed.base.epochs,
        "train_limit": settings.base.train_limit != proposed.base.train_limit,
        "space": settings.space != proposed.space,
    }
    clashes = sorted(key for key in given if differ[key])
    if clashes:
        raise ConfigError(
            clashes[0],
            f"differs from study {study.study_name!r}'s own (preset {settings.preset}, "
            f"{settings.base.epochs} epochs, {settings.base.train_limit or 'all'} digits); "
            "leave it out to join the study, or name a new study",
        )
    return settings


def _last_validation_accuracy(run: RunRecord) -> float | None:
    epochs = [record for record in run_results.read_metrics(run) if record["kind"] == "epoch"]
    return epochs[-1].get("val_accuracy") if epochs else None


class _RunLog:
    """The trial's lines also go to its run's worker.log, as a trained run's do."""

    def __init__(self, run: RunRecord):
        self.handler = logging.FileHandler(run.path / registry.LOG_FILE)
        self.handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))

    def __enter__(self):
        logging.getLogger().addHandler(self.handler)

    def __exit__(self, *exc):
        logging.getLogger().removeHandler(self.handler)
        self.handler.close()


def _objective(settings: SearchSettings, who: access.Who, launcher: str) -> Callable[[optuna.Trial], float]:
    from core.callbacks import SearchPruning
    from core.worker import train_run

    def objective(trial: optuna.Trial) -> float:
        config = sample(settings.base, settings.space, lambda name, bounds: bounds.suggest(trial, name))
        if not who.owner:  # Each of a visitor's trials is a visitor's run: within their limits.
            limits.prune_visitor_runs(who)
            current = limits.current()
            refused = limits.design_refusal(config, current) or limits.folder_refusal(current)
            if refused:
                raise TrialFailed(refused)
        study = trial.study.study_name
        run = registry.create_run(
            config,
            f"{study} #{trial.number}",
            start_now=True,
            status_changes={"launcher": launcher},
            meta_changes={SEARCH_KEY: {"study": study, "trial": trial.number}, **who.run_meta()},
        )
        trial.set_user_attr("run", run.id)
        trial.set_user_attr("host", socket.gethostname())
        pruning = SearchPruning(trial)
        with _RunLog(run):
            logger.info("trial %d of study %s: run %s, %s", trial.number, study, run.id, config.describe())
            final = train_run(run, [pruning])
        if pruning.pruned_after is not None:
            raise optuna.TrialPruned(final.status.get("stop_reason"))
        accuracy = _last_validation_accuracy(final)
        if final.state == "finished" and accuracy is not None:
            return accuracy
        if final.state == "stopped" and not final.stop_requested:
            raise KeyboardInterrupt  # Ctrl-C, which the worker turned into a stopped run.
        raise TrialFailed(f"run {run.id} {final.state}: {final.status.get('error') or 'no result'}")

    return objective


def _stop_if_requested(study: optuna.Study, _trial: optuna.trial.FrozenTrial) -> None:
    if study.user_attrs.get(STOP_ATTR):
        study.stop()


def run_trials(
    study: optuna.Study,
    settings: SearchSettings,
    trials: int,
    *,
    who=access.OWNER,
    launcher: str = "cli",
    wall_seconds: float | None = None,
) -> None:
    """Run up to `trials` trials of this worker, one after another, in this process (TensorFlow
    is loaded here), starting none after `wall_seconds`. Starting is resuming: a stop asked for
    earlier is cleared. A visitor's trials must each be within the visitor limits. `launcher`
    "cli" makes the dashboard's queue wait for the trials; the search job holds its own place."""
    from core.device import configure_tensorflow

    configure_tensorflow(settings.base.devices)
    study.set_user_attr(STOP_ATTR, None)
    study.optimize(
        _objective(settings, who, launcher),
        n_trials=trials,
        timeout=wall_seconds,
        catch=(TrialFailed, ConfigError),
        callbacks=[_stop_if_requested],
    )


def check_may_change(study: optuna.Study, who: access.Who) -> None:
    """limits.Refused unless `who` is the owner or the visitor session that started the study."""
    if not (who.owner or (who.session and study.user_attrs.get(STARTED_BY_ATTR) == who.session)):
        raise limits.Refused(
            f"The study {study.study_name} was started by someone else: only they or the owner can "
            "stop or resume it."
        )


def request_stop(study: optuna.Study, who: access.Who = access.OWNER) -> None:
    """Ask every worker of the study, on any machine, to end after its current trial, and stop
    this machine's trial runs at once (limits.Refused if `who` may not change the study)."""
    check_may_change(study, who)
    study.set_user_attr(STOP_ATTR, registry.now_iso())
    for run in trial_runs(study.study_name):
        if run.is_active:
            registry.request_stop(run)


def trial_runs(study_name: str) -> list[RunRecord]:
    """This machine's runs of the study's trials, newest first."""
    return [
        run
        for run in registry.list_runs(include_shipped=False)
        if isinstance(run.meta.get(SEARCH_KEY), dict) and run.meta[SEARCH_KEY].get("study") == study_name
    ]


def best_run(study: optuna.Study) -> RunRecord | None:
    """The run of the study's best trial, if it ran on this machine and still exists."""
    try:
        best = study.best_trial.number
    except ValueError:  # No trial has completed yet.
        return None
    return next(
        (run for run in trial_runs(study.study_name) if run.meta[SEARCH_KEY].get("trial") == best), None
    )


def request_search(name: str, settings: SearchSettings, trials: int, who: access.Who) -> dict[str, Any]:
    """Create study `name` (or check `settings` are its own) and queue the dashboard's search job
    for it; limits.Refused says why a visitor may not."""
    refused = limits.search_refusal(who)
    if refused:
        raise limits.Refused(refused)
    if not jobs.TARGET_PATTERN.match(name):
        raise ConfigError("study", "must be letters, digits, dots, dashes or underscores, up to 120")
    if not TRIALS_RANGE[0] <= trials <= TRIALS_RANGE[1]:
        raise ConfigError("trials", f"must be between {TRIALS_RANGE[0]} and {TRIALS_RANGE[1]}")
    study = open_study(name)
    if SETTINGS_ATTR not in study.user_attrs and not who.owner:  # A new study: the visitor's own.
        study.set_user_attr(STARTED_BY_ATTR, who.session)
    check_may_change(study, who)
    study_settings(study, settings, {"preset", "epochs", "train_limit", "space"})  # Listed now.
    payload = {"trials": trials, "visitor": None if who.owner else who.session}
    return scheduler.request("search", name, registry.now_iso(), payload)


def search_job(target: str) -> dict[str, Any]:
    """The search job's body: the trials the page asked for, in study `target`."""
    payload = (jobs.read("search", target) or {}).get("payload") or {}
    visitor = payload.get("visitor")
    who = access.OWNER if visitor is None else access.Who(owner=False, session=str(visitor))
    study = load_study(target)
    run_trials(study, settings_of(study), int(payload["trials"]), who=who, launcher="search")
    return {"best": best_line(study)}


def study_names(storage: str | None = None) -> list[str]:
    """The studies in the storage, the newest first."""
    return optuna.get_all_study_names(_storage(storage or default_storage()))[::-1]


def trial_table(study: optuna.Study):
    """One row per trial: its number, state, validation accuracy, run and parameters."""
    table = study.trials_dataframe(attrs=("number", "state", "value", "duration", "params", "user_attrs"))
    return table.rename(columns={"number": "trial", "value": "validation accuracy"})


def figures(study: optuna.Study) -> dict[str, Any]:
    """Optuna's own Plotly figures: those that need two finished trials appear once there are."""
    from optuna import visualization

    finished = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    shown = {}
    if finished:
        shown["Optimisation history"] = visualization.plot_optimization_history(study)
    if len(finished) >= 2:
        shown["Parallel coordinates"] = visualization.plot_parallel_coordinate(study)
        shown["Parameter importances"] = visualization.plot_param_importances(study)
    return shown


def best_line(study: optuna.Study) -> str:
    """The study's best validation accuracy, as the command line's last line says it."""
    finished = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not finished:
        return "no trial has finished yet"
    best = max(finished, key=lambda trial: trial.value)
    return f"best validation accuracy {best.value:.4f} (trial {best.number})"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m core.search", description=__doc__.splitlines()[0])
    parser.add_argument("--study", required=True, help="the study's name; the same name resumes or joins it")
    parser.add_argument("--trials", type=int, required=True, help="trials this worker runs")
    parser.add_argument("--epochs", type=int, help="epochs per trial (default: the preset's)")
    parser.add_argument("--train-limit", type=int, help="digits per trial, hold-out included (default: all)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--preset", choices=sorted(PRESETS), help="the base configuration (default fast-cnn)")
    source.add_argument("--space", type=Path, help="a JSON file of ranges (see core/search_space.py)")
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
            args.study, args.storage, sampler=_sampler(args.sampler), pruner=make_pruner(args.pruner)
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


if __name__ == "__main__":
    sys.exit(main())
