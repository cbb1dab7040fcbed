"""Runs whose worker died without a word are marked failed, so pages never show them training.

A worker killed by SIGKILL or the out-of-memory killer cannot report its own death; every
listing pages show goes through `reconcile_all`, which notices it and says what was kept.
"""

from __future__ import annotations

from core.runs import layout, registry
from core.runs.atomic_files import write_json
from core.runs.layout import CHECKPOINT_FILE, MODEL_FILE, STATUS_FILE
from core.runs.processes import worker_is_alive
from core.runs.registry import RunRecord


def _death_reason(run: RunRecord) -> str:
    progress = run.progress
    phase = run.status.get("phase")
    if phase == "evaluating":
        where = "while evaluating the trained model"
    elif phase in ("queued", "starting", "loading", "compiling") or not progress.get("epoch"):
        where = "before training started"
    else:
        where = f"during epoch {progress['epoch']}"
    if (run.path / MODEL_FILE).exists():
        kept = "the saved model is kept"
    elif (run.path / CHECKPOINT_FILE).exists():
        kept = "the last completed epoch's weights are kept"
    else:
        kept = "no epoch had completed, so no weights were kept"
    return f"worker process died (killed or out of memory) {where}; {kept}"


def reconcile(run: RunRecord) -> RunRecord:
    """Mark a run failed if it claims to be training but its worker process is gone.

    Notices a vanished pid, a zombie, or a pid now used by a different process.
    """
    if run.shipped or run.broken or not run.is_live or worker_is_alive(run.status):
        return run
    failed = {"state": "failed", "error": _death_reason(run), "ended": layout.now_iso()}
    with layout.run_lock(run.path):
        current = registry.open_run(run.path)
        if current.is_live and not worker_is_alive(current.status):
            write_json(run.path / STATUS_FILE, {**current.status, **failed})
    return registry.reload(run)


def reconcile_all(include_shipped: bool = False) -> list[RunRecord]:
    """`list_runs` with every run whose worker died marked failed: what pages should show."""
    return [reconcile(run) for run in registry.list_runs(include_shipped=include_shipped)]
