"""What the compare pages show about runs: leaderboard rows, labels and curve names.

No Streamlit and no TensorFlow: the pages cache these per file modification time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pandas as pd

from core.networks import architecture
from core.runs import layout, run_results
from core.runs.registry import RunRecord

LEADERBOARD_COLUMNS = [
    "name",
    "model",
    "parameters",
    "epochs",
    "training time (s)",
    "device",
    "best val accuracy (%)",
    "test accuracy (%)",
    "test loss",
    "status",
    "id",
]


def ensemble_info(run: RunRecord) -> dict[str, Any] | None:
    """The ensemble record of a run (member ids, labels, parameters); None for other runs."""
    record = run.meta.get(layout.ENSEMBLE_KEY)
    return record if isinstance(record, dict) else None


def imported_info(run: RunRecord) -> dict[str, Any] | None:
    """What core.queue.imports recorded about an uploaded model; None for a trained run."""
    info = run.meta.get("imported")
    return info if isinstance(info, dict) else None


def parameter_count(run: RunRecord) -> int | None:
    info = imported_info(run) or ensemble_info(run)
    if isinstance(info, dict):
        return info.get("parameters")
    if run.config is None:
        return None
    return architecture.parameter_counts(run.config)[0]


def metrics_summary(metrics: list[dict[str, Any]]) -> dict[str, Any]:
    """Epochs completed, seconds of training (validation included), best validation accuracy."""
    epochs = [m for m in metrics if m.get("kind") == "epoch"]
    val = [m["val_accuracy"] for m in epochs if isinstance(m.get("val_accuracy"), (int, float))]
    times = [m["time"] for m in metrics if isinstance(m.get("time"), (int, float))]
    return {
        "epochs_done": len(epochs),
        "training_seconds": max(times) if times else None,
        "best_val_accuracy": max(val) if val else None,
    }


def _elapsed(status: dict[str, Any]) -> float | None:
    try:
        started = datetime.fromisoformat(status["started"])
        ended = datetime.fromisoformat(status["ended"])
    except (KeyError, TypeError, ValueError):
        return None
    return (ended - started).total_seconds()


def _percent(value: Any) -> float | None:
    return round(100 * value, 2) if isinstance(value, (int, float)) else None


def leaderboard_row(
    run: RunRecord, summary: dict[str, Any], evaluation: dict[str, Any] | None
) -> dict[str, Any]:
    """One row of the leaderboard; the stored evaluation wins over status for test scores. An
    imported model or an ensemble was not trained here: no epochs, no training time."""
    evaluation = evaluation or {}
    status = run.status
    accuracy = evaluation.get("accuracy", status.get("test_accuracy"))
    loss = evaluation.get("loss", status.get("test_loss"))
    imported = imported_info(run) is not None
    trained = not imported and ensemble_info(run) is None
    planned = run.config.epochs if run.config and trained else None
    seconds = summary.get("training_seconds") or (_elapsed(status) if trained else None)
    state = "shipped" if run.shipped else run.state
    if imported:
        state = "imported"
    if run.broken and ensemble_info(run):  # The leaderboard lists no other broken run.
        state = f"broken: {run.broken}"  # Which members were deleted.
    return {
        "name": run.name,
        "model": run.description,
        "parameters": parameter_count(run),
        "epochs": f"{summary.get('epochs_done', 0)}/{planned}" if planned else "",
        "training time (s)": None if seconds is None else round(seconds, 1),
        "device": status.get("device") or "",
        "best val accuracy (%)": _percent(summary.get("best_val_accuracy")),
        "test accuracy (%)": _percent(accuracy),
        "test loss": round(float(loss), 4) if isinstance(loss, (int, float)) else None,
        "status": state,
        "id": run.id,
    }


def leaderboard_runs(runs: list[RunRecord]) -> list[RunRecord]:
    """The runs the leaderboard lists: every readable one, and the ensembles a deleted member
    broke (their rows say so; nothing that needs a model is offered them)."""
    return [run for run in runs if not run.broken or ensemble_info(run)]


def ensemble_rows(
    runs: list[RunRecord], evaluation_of: Callable[[RunRecord], dict[str, Any] | None]
) -> list[dict[str, Any]]:
    """The leaderboard's rows of the ensembles among `runs`, broken ones included, each with its
    members' labels."""
    rows = []
    for run in leaderboard_runs(runs):
        record = ensemble_info(run)
        if record is not None:
            labels = record.get("labels") if isinstance(record.get("labels"), list) else []
            rows.append(
                {**leaderboard_row(run, {}, evaluation_of(run)), "members": ", ".join(map(str, labels))}
            )
    return rows


def leaderboard(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows sorted best test accuracy first; runs not tested yet go last, newest first."""
    table = pd.DataFrame(rows, columns=LEADERBOARD_COLUMNS)
    if table.empty:
        return table
    return table.sort_values(
        "test accuracy (%)", ascending=False, na_position="last", kind="stable"
    ).reset_index(drop=True)


def best_per_model(table: pd.DataFrame, candidates: list[str]) -> list[str]:
    """Of the `candidates` (run ids), the first one of each architecture, in table order.

    With the table sorted best first, that is each architecture's best run, so the default
    overlay compares different structures (say the seed MLP and the fast CNN), not two copies.
    """
    chosen, seen = [], set()
    for run_id, model in zip(table["id"], table["model"], strict=True):
        if run_id in candidates and model not in seen:
            chosen.append(run_id)
            seen.add(model)
    return chosen


def overlay_selection(current: list[str] | None, table: pd.DataFrame, ranked: list[str]) -> list[str]:
    """The runs to overlay: the user's choice without runs gone since, or at first the best run
    of each of the two best architectures."""
    if current is None:
        return best_per_model(table, ranked)[:2]
    return [run_id for run_id in current if run_id in ranked]


def run_label(run: RunRecord) -> str:
    """`name · architecture` (plus "shipped"), for pickers."""
    suffix = " · shipped" if run.shipped else ""
    return f"{run.name} · {run.description}{suffix}"


def comparable_runs(runs: list[RunRecord]) -> list[RunRecord]:
    """Runs that can be shown in detail: readable, not training, with a model file."""
    return [
        run
        for run in runs
        if not run.broken and not run.is_active and run_results.usable_model_path(run) is not None
    ]


def curve_names(runs: list[RunRecord]) -> list[str]:
    """Each run's name in a figure legend; runs sharing a name get their id's tail added."""
    names = [run.name for run in runs]
    return [
        name if names.count(name) == 1 else f"{name} ({run.id[-6:]})"
        for name, run in zip(names, runs, strict=True)
    ]
