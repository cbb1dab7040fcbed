"""A search's study: an Optuna study, in a storage shared by every worker, whose trials are runs.

The study lives in an Optuna storage: by default `sqlite:///<runs>/search.db`; a shared SQLAlchemy
URL (PostgreSQL) lets workers on several machines pull trials from one study, Optuna handing each
trial to one worker only. The study keeps its settings (preset, epochs, digits, space), so a worker
that joins or resumes it needs only its name and storage. `$MNIST_SEARCH_STORAGE` points the
dashboard at a shared storage, so it shows every machine's trials. Trials run in core.search.trials;
the command line is `python -m core.search` (core.jobs.search_command).
"""

from __future__ import annotations

import functools
import os
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy.exc

from core.networks.config import PRESETS, ConfigError, ModelConfig
from core.networks.training import TRAINING_FIELDS
from core.runs import access, layout, limits, registry
from core.runs.registry import RunRecord
from core.search.space import SearchSpace, default_space, parse_space, read_space, space_from_json

STORAGE_FILE = "search.db"
SEARCH_KEY = "search"  # In meta.json: {"study": name, "trial": number}.
SETTINGS_ATTR = "settings"  # The study's user attribute holding its SearchSettings.
STOP_ATTR = "stop_requested"  # Set by `request_stop`; workers end after their current trial.
STARTED_BY_ATTR = "started_by"  # The visitor session that created the study; none: the owner's.
SAMPLERS = ("tpe", "random")
PRUNERS = ("median", "hyperband", "none")
STORAGE_VARIABLE = "MNIST_SEARCH_STORAGE"
HEARTBEAT_SECONDS = 60  # A worker that dies leaves its trial running until others see it stale.
OPEN_ATTEMPTS = 3  # Workers starting together on a new storage may race to create its tables.


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
        validation = min(
            base.validation_size, max(TRAINING_FIELDS["validation_size"].bounds[0], train_limit // 5)
        )
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
    return os.environ.get(STORAGE_VARIABLE) or f"sqlite:///{layout.runs_dir() / STORAGE_FILE}"


@functools.cache
def _storage(url: str) -> optuna.storages.RDBStorage:
    """One storage (and connection pool) per URL in a process: the page reads it every second."""
    # SQLite: wait for another worker's write rather than fail; a server: drop dead connections.
    engine = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    with warnings.catch_warnings():  # Heartbeats are "experimental" in Optuna 5, and needed.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RDBStorage(url, engine_kwargs=engine, heartbeat_interval=HEARTBEAT_SECONDS)


def make_sampler(name: str) -> optuna.samplers.BaseSampler:
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
                sampler=sampler or make_sampler("tpe"),
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
    study.set_user_attr(STOP_ATTR, layout.now_iso())
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


def study_names(storage: str | None = None) -> list[str]:
    """The studies in the storage, the newest first."""
    return optuna.get_all_study_names(_storage(storage or default_storage()))[::-1]


def trial_table(study: optuna.Study):
    """One row per trial: its number, state, validation accuracy, run and parameters."""
    table = study.trials_dataframe(attrs=("number", "state", "value", "duration", "params", "user_attrs"))
    return table.rename(columns={"number": "trial", "value": "validation accuracy"})


def best_line(study: optuna.Study) -> str:
    """The study's best validation accuracy, as the command line's last line says it."""
    finished = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not finished:
        return "no trial has finished yet"
    best = max(finished, key=lambda trial: trial.value)
    return f"best validation accuracy {best.value:.4f} (trial {best.number})"
