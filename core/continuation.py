"""Continue a run: a new run, linked to its parent, that trains the parent's weights further.

The child is an ordinary queued run (so the visitor limits apply) whose config is the parent's
with `epochs` the added epochs, and whose meta.json names its parent and the epoch it starts at
on the parent's axis. The worker loads the parent's final weights instead of building fresh ones
(`starting_weights`) and compiles a fresh optimiser, so the learning-rate schedule restarts over
the added epochs: a cosine schedule that ended at 0 would otherwise train nothing. Pages draw the
parent's curves and the child's as one history (`history`).

No TensorFlow here: pages use it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from core import access, registry, run_results, scheduler
from core.config import ModelConfig
from core.registry import RegistryError, RunRecord

PARENT = "parent"  # meta.json: the parent run's id.
START_EPOCH = "start_epoch"  # meta.json: where the child's epochs begin on the parent's axis.
MAX_ANCESTORS = 100  # A chain longer than this is drawn from there on: a guard against loops.


def parent_id(run: RunRecord) -> str | None:
    """The id of the run this one continues, or None."""
    parent = run.meta.get(PARENT)
    return parent if isinstance(parent, str) and parent else None


def start_epoch(run: RunRecord) -> float:
    """Where the run's first epoch begins on its ancestors' axis: 0 for a run that started fresh."""
    start = run.meta.get(START_EPOCH)
    return float(start) if isinstance(start, (int, float)) and not isinstance(start, bool) else 0.0


def refusal(run: RunRecord) -> str | None:
    """Why `run` cannot be continued; None if it can."""
    if run.broken:
        return f"{run.name} cannot be read ({run.broken}), so it cannot be continued."
    if run.is_active:
        return f"{run.name} is still {run.state}: continue it once it has ended."
    if "imported" in run.meta or registry.ENSEMBLE_KEY in run.meta:
        return f"{run.name} was not trained here: it has no training settings to continue with."
    if run_results.usable_model_path(run) is None:
        return f"{run.name} has no saved weights (no model.keras or checkpoint.keras) to continue from."
    return None


def trained_epochs(
    run: RunRecord, read: Callable[[RunRecord], list[dict]] = run_results.read_metrics
) -> float:
    """How far the run's saved weights got, on its own epoch axis: its last point (a stopped run
    keeps the weights of its last batch), or its last whole epoch when only the checkpoint is left."""
    points = read(run)
    if (run.path / registry.MODEL_FILE).is_file():
        epochs = [p.get("epoch") for p in points]
    else:
        epochs = [p.get("epoch") for p in points if p.get("kind") == "epoch"]
    return max((e for e in epochs if isinstance(e, (int, float))), default=0)


def continued_config(parent: RunRecord, epochs: int) -> ModelConfig:
    """The parent's settings over `epochs` epochs. A warm-up is left out: it protects freshly
    initialised weights, and these are trained."""
    schedule = "cosine" if parent.config.schedule == "warmup_cosine" else parent.config.schedule
    return parent.config.with_changes(epochs=epochs, schedule=schedule, warmup_epochs=0)


def continue_run(parent: RunRecord, epochs: int, who: access.Who = access.OWNER) -> RunRecord:
    """Queue a run that trains `parent`'s weights for `epochs` more epochs.

    It is `who`'s own new run: continuing changes nothing in the parent, so anyone may continue
    any run, within the visitor limits (`scheduler.submit_run` raises limits.Refused).
    """
    problem = refusal(parent)
    if problem:
        raise RegistryError(problem)
    config = continued_config(parent, epochs)
    start = start_epoch(parent) + trained_epochs(parent)
    return scheduler.submit_run(
        config,
        f"{parent.name} +{epochs}",
        who=who,
        meta_changes={PARENT: parent.id, START_EPOCH: round(start, 5)},
    )


def starting_weights(run: RunRecord) -> Path | None:
    """The model file a continued run starts from; None for a run that starts fresh.

    Raises RegistryError when the parent or its weights are gone (deleted meanwhile).
    """
    link = parent_id(run)
    if link is None:
        return None
    parent = registry.find_run(link)
    path = run_results.usable_model_path(parent) if parent else None
    if path is None:
        raise RegistryError(f"the run it continues ({link}) or its saved weights were deleted")
    return path


def history(
    run: RunRecord, read: Callable[[RunRecord], list[dict]] = run_results.read_metrics
) -> list[dict[str, Any]]:
    """The run's metrics after its ancestors', on one epoch axis: each ancestor's points up to
    where its child began, then the run's own with their epochs moved on by its start.

    `read` reads one run's own points (pages pass their cached reader).
    """
    chain = [run]
    while (
        len(chain) < MAX_ANCESTORS and (link := parent_id(chain[-1])) and (parent := registry.find_run(link))
    ):
        chain.append(parent)
    joined: list[dict[str, Any]] = []
    for member in reversed(chain):
        start = start_epoch(member)
        own = [p for p in read(member) if isinstance(p.get("epoch"), (int, float))]
        joined = [p for p in joined if p["epoch"] <= start] + [
            {**p, "epoch": round(p["epoch"] + start, 5)} for p in own
        ]
    return joined
