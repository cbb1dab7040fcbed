"""What a visitor may start: design size, queue places, disk, and how many of their runs are kept.

The figures have defaults and can be changed in `.streamlit/secrets.toml` under `[limits]`
(Streamlit's config.toml refuses unknown sections). The owner is held to none of them. The
scheduler enforces them on every submission, so a page that forgets to ask cannot get round them;
pages ask first only to explain and disable their button.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from core.networks import architecture
from core.networks.config import ModelConfig
from core.runs import access, layout, registry
from core.runs.registry import RunRecord

logger = logging.getLogger(__name__)


class Refused(Exception):
    """A submission over a limit; the message, for the user, names the figure and the limit."""


@dataclass(frozen=True)
class Limits:
    """The visitor limits; each field is also its key in the `[limits]` table."""

    trainable_parameters: int = 2_000_000
    training_memory_mb: int = 1_000  # Estimated memory of the model in training, beyond TensorFlow's own.
    epoch_seconds: float = 120.0  # Estimated time of one epoch on this machine's CPU.
    run_minutes: float = 30.0  # Estimated time of one run: its epochs times the epoch's estimate.
    queue_minutes: float = 60.0  # Estimated time of every visitor run waiting or training, together.
    waiting_runs: int = 3  # Runs queued and not started yet, everyone's together.
    runs_per_visitor: int = 1  # Waiting or training at once, per browser session.
    visitor_runs_kept: int = 20  # Per visitor: their older runs are deleted, never anyone else's.
    runs_folder_mb: int = 5_000  # No visitor run or import once the runs folder is this big.
    visitor_imports: bool = False  # Whether visitors may import models.
    visitor_searches: bool = False  # Whether visitors may start searches (each trial within the above).

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> Limits:
        """The defaults, changed by the table's keys; a wrong key or value is logged and ignored,
        so a typo in secrets.toml keeps the default instead of breaking every page."""
        limits = cls()
        known = {field.name: type(getattr(limits, field.name)) for field in fields(cls)}
        for key, value in table.items():
            kind = known.get(key)
            usable = (
                kind is not None
                and isinstance(value, (bool, int, float))
                and isinstance(value, bool) == (kind is bool)
                and math.isfinite(value)
                and value >= 0
            )
            if not usable:
                logger.warning("ignored [limits] %s = %r in secrets.toml", key, value)
                continue
            limits = replace(limits, **{key: kind(value)})
        return limits


def current() -> Limits:
    """The limits in force: the defaults and secrets.toml's `[limits]` table."""
    table = access.secret("limits", {})
    return Limits.from_table(table if isinstance(table, Mapping) else {})


def design_refusal(config: ModelConfig, limits: Limits) -> str | None:
    """Why this network is too big for a visitor to train; None if it is within every limit."""
    trainable, _ = architecture.parameter_counts(config)
    if trainable > limits.trainable_parameters:
        return (
            f"This network has {trainable:,} trainable parameters; "
            f"visitors may train up to {limits.trainable_parameters:,}."
        )
    memory_mb = architecture.training_memory_bytes(config) / 1e6
    if memory_mb > limits.training_memory_mb:
        return (
            f"Training this network would take about {memory_mb:,.0f} MB of memory; "
            f"visitors may use up to {limits.training_memory_mb:,} MB."
        )
    seconds = architecture.epoch_seconds(config)
    if seconds > limits.epoch_seconds:
        return (
            f"One epoch of this network would take about {seconds:,.0f} s on this machine's CPU; "
            f"visitors may train up to {limits.epoch_seconds:,.0f} s per epoch."
        )
    return None


def queue_refusal(runs: list[RunRecord], who: access.Who, limits: Limits) -> str | None:
    """Why the queue has no place for this visitor now; None if it has."""
    waiting = sum(run.state == "queued" for run in runs)
    if waiting >= limits.waiting_runs:
        return (
            f"{waiting} runs are already waiting; the queue holds at most {limits.waiting_runs}. "
            "Try again when one has started."
        )
    mine = sum(run.is_active and access.started_by(run) == who.session for run in runs)
    if mine >= limits.runs_per_visitor:
        return (
            f"You have {mine} run(s) waiting or training; a visitor may have {limits.runs_per_visitor} "
            "at a time. Stop it or wait until it ends."
        )
    return None


def run_seconds(config: ModelConfig) -> float:
    """Estimated training time of a whole run: its epochs, each as estimated on this machine."""
    return config.epochs * architecture.epoch_seconds(config)


def time_refusal(config: ModelConfig, runs: list[RunRecord], limits: Limits) -> str | None:
    """Why this run would hold the queue too long: alone (200 epochs of a CNN is hours), or with
    the visitor runs already waiting or training (three long runs would lock everyone out)."""
    minutes = run_seconds(config) / 60
    if minutes > limits.run_minutes:
        return (
            f"This run would train for about {minutes:,.0f} minutes ({config.epochs} epochs); "
            f"visitors may start runs of up to {limits.run_minutes:,.0f} minutes. Try fewer epochs."
        )
    visitors = [run for run in runs if run.is_active and run.config and access.started_by(run)]
    ahead = sum(run_seconds(run.config) for run in visitors) / 60
    if ahead + minutes > limits.queue_minutes:
        return (
            f"Visitors' runs already waiting or training take about {ahead:,.0f} minutes; with this "
            f"one ({minutes:,.0f} minutes) that is over the {limits.queue_minutes:,.0f} minutes "
            "visitors may fill the queue with. Try fewer epochs, or later."
        )
    return None


def folder_bytes(root: Path) -> int:
    """Bytes of every file under `root`; files vanishing meanwhile (a deleted run) count nothing."""
    total = 0
    for directory, _, names in os.walk(root):
        for name in names:
            try:
                total += os.lstat(os.path.join(directory, name)).st_size
            except OSError:
                pass
    return total


def folder_refusal(limits: Limits) -> str | None:
    """Why the runs folder is too full for a visitor's new run or import; None if it is not."""
    size_mb = folder_bytes(layout.runs_dir()) / 1e6
    if size_mb >= limits.runs_folder_mb:
        return (
            f"The runs folder holds {size_mb:,.0f} MB; visitors may add runs while it is under "
            f"{limits.runs_folder_mb:,} MB. The owner can delete runs to make room."
        )
    return None


def refusal(config: ModelConfig, who: access.Who, limits: Limits | None = None) -> str | None:
    """Why `who` may not start a run of `config` now; None if they may (always, for the owner).

    The train page shows it before its Start button; `scheduler.submit_run` enforces it.
    """
    if who.owner:
        return None
    limits = limits or current()
    runs = registry.list_runs(include_shipped=False)
    return (
        design_refusal(config, limits)
        or queue_refusal(runs, who, limits)
        or time_refusal(config, runs, limits)
        or folder_refusal(limits)
    )


def _owner_unless_allowed(who: access.Who, allowed: str, doing: str, limits: Limits | None) -> str | None:
    """Why `who` may not do something that adds runs for everyone (an import, an ensemble, a
    search); visitors only where the owner's `[limits]` flag `allowed` says so."""
    if who.owner:
        return None
    limits = limits or current()
    if not getattr(limits, allowed):
        return f"{doing} is for the owner of this dashboard."
    return folder_refusal(limits)


def import_refusal(who: access.Who, limits: Limits | None = None) -> str | None:
    """Why `who` may not import a model; None if they may (always, for the owner)."""
    return _owner_unless_allowed(who, "visitor_imports", "Importing models", limits)


def ensemble_refusal(who: access.Who, limits: Limits | None = None) -> str | None:
    """Why `who` may not make an ensemble: the imports rule, since it adds a model for all."""
    return _owner_unless_allowed(who, "visitor_imports", "Making ensembles", limits)


def search_refusal(who: access.Who, limits: Limits | None = None) -> str | None:
    """Why `who` may not start a search; None if they may (always, for the owner)."""
    return _owner_unless_allowed(who, "visitor_searches", "Starting searches", limits)


def trained_nothing(run: RunRecord) -> bool:
    """A run stopped or failed with no model and no checkpoint (cancelled while queued, or failed
    at start): nothing in it is worth keeping, so it takes none of its visitor's kept places."""
    return (
        run.state in ("stopped", "failed")
        and not (run.path / layout.MODEL_FILE).exists()
        and not (run.path / layout.CHECKPOINT_FILE).exists()
    )


def prune_visitor_runs(who: access.Who, limits: Limits | None = None) -> list[str]:
    """Delete this visitor's own runs beyond their newest `visitor_runs_kept`, and their runs that
    trained nothing, so one session cannot fill the disk; the ids deleted.

    Only `who`'s runs: pressing Start and Cancel again and again never costs another visitor a
    finished run. Never one still waiting or training, never the owner's (the owner deletes runs
    by choice); the runs folder's size limit bounds all visitors together.
    """
    if who.owner:
        return []
    limits = limits or current()
    mine = [
        run
        for run in registry.list_runs(include_shipped=False)  # Newest first.
        if access.started_by(run) == who.session and not run.is_active
    ]
    empty = [run for run in mine if trained_nothing(run)]
    trained = [run for run in mine if not trained_nothing(run)]
    deleted = []
    for run in empty + trained[limits.visitor_runs_kept :]:
        try:
            registry.delete_run(run)
        except (layout.RegistryError, OSError) as error:
            logger.warning("could not prune visitor run %s: %s", run.id, error)
            continue
        deleted.append(run.id)
    return deleted
