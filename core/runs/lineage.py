"""A run's lineage: the run it continues, where its epochs begin on its ancestors' axis, the
weights it starts from, and the history of curves it shares with them (core.queue.continuation
makes such runs).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.runs import layout, registry, run_results
from core.runs.layout import RegistryError
from core.runs.registry import RunRecord

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


def trained_epochs(
    run: RunRecord, read: Callable[[RunRecord], list[dict]] = run_results.read_metrics
) -> float:
    """How far the run's saved weights got, on its own epoch axis: its last point (a stopped run
    keeps the weights of its last batch), or its last whole epoch when only the checkpoint is left."""
    points = read(run)
    if (run.path / layout.MODEL_FILE).is_file():
        epochs = [p.get("epoch") for p in points]
    else:
        epochs = [p.get("epoch") for p in points if p.get("kind") == "epoch"]
    return max((e for e in epochs if isinstance(e, (int, float))), default=0)


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
