"""Where the work on a run's saved model stands: its test evaluation, its LiteRT copy, and its
scores on the robustness suites; asking for that work is core.queue.model_jobs.

A run stopped early, a failed run that kept a checkpoint, or an imported model may lack
evaluation.json / predictions.npz, a model.tflite for the server to predict with, or its scores.
Each kind of that work is declared once in `ON_A_RUN` (how the queue runs it: `jobs.KINDS`), and
one generic `state` reads them all. Nothing here starts a job, so a page's polling fragment that
imports this stays clear of the scheduler's imports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.data import robustness
from core.queue import jobs
from core.runs import atomic_files, layout, run_results
from core.runs.registry import RunRecord
from core.serving import inference

READY, RUNNING, NEEDED, FAILED, UNAVAILABLE = "ready", "running", "needed", "failed", "unavailable"


def has_evaluation(run: RunRecord) -> bool:
    return (run.path / layout.EVALUATION_FILE).is_file() and (run.path / layout.PREDICTIONS_FILE).is_file()


def model_stamp(run: RunRecord) -> int | None:
    """The usable model file's modification time: a new file deserves a new try of a failed job."""
    path = run_results.usable_model_path(run)
    try:
        return path.stat().st_mtime_ns if path else None
    except OSError:
        return None


def robustness_scores(run: RunRecord) -> dict[str, float] | None:
    """Accuracy by suite ("clean" first) of the run's current LiteRT model, if measured with
    today's suites and preprocessing."""
    stored = atomic_files.read_json_object(run.path / layout.ROBUSTNESS_FILE)
    scores, lite = stored.get("scores"), stored.get("lite")
    try:
        fresh = (
            isinstance(lite, dict)
            and stored.get("method") == robustness.method_stamp()
            and inference.stamp_matches(run.path / layout.LITE_MODEL_FILE, lite)
        )
    except OSError:
        fresh = False
    if not fresh or not isinstance(scores, dict):
        return None
    return {name: float(value) for name, value in scores.items() if isinstance(value, (int, float))}


@dataclass(frozen=True)
class RunJob:
    """What a job kind on a run's model makes, and what it works from."""

    made: Callable[[RunRecord], bool]  # Whether its output is there and fresh: nothing to do.
    # The kind whose output it works from, ready first; None: the run's model file itself.
    needs: str | None = None
    # What it works from, as recorded with its job: a change deserves a new job.
    stamp: Callable[[RunRecord], int | str | None] = model_stamp


ON_A_RUN = {
    "evaluate": RunJob(has_evaluation),
    "convert": RunJob(lambda run: inference.lite_is_fresh(run.path)),
    # The suites run on the LiteRT copy, and score the way they do today.
    "robustness": RunJob(
        lambda run: robustness_scores(run) is not None,
        needs="convert",
        stamp=lambda run: f"{model_stamp(run)}:{robustness.method_stamp()}",
    ),
}


def job_stamp(kind: str, run: RunRecord) -> int | str | None:
    return ON_A_RUN[kind].stamp(run)


def _job_state(kind: str, run: RunRecord) -> str:
    job = jobs.read(kind, run.id)
    if job is None:
        return NEEDED
    if job["state"] in jobs.PENDING_STATES:
        return RUNNING
    return FAILED if job.get("stamp") == job_stamp(kind, run) and job["state"] == jobs.FAILED else NEEDED


def state(kind: str, run: RunRecord) -> str:
    """ready, running (its job, or the one it needs first, queued or running), needed, failed,
    or unavailable: a shipped (read-only) run without it, or, for work on the model file itself,
    a run broken, still training or without weights."""
    declared = ON_A_RUN[kind]
    if declared.made(run):
        return READY
    if run.shipped:  # Read-only: what it has ships with it.
        return UNAVAILABLE
    if declared.needs is not None:
        before = state(declared.needs, run)
        if before != READY:
            return before
    elif run.broken or run.is_active or run_results.usable_model_path(run) is None:
        return UNAVAILABLE
    return _job_state(kind, run)


def failure(kind: str, run: RunRecord) -> str | None:
    """Why the last job of `kind` on this run's current model failed, if it did."""
    job = jobs.read(kind, run.id)
    if job is None or job["state"] != jobs.FAILED or job.get("stamp") != job_stamp(kind, run):
        return None
    return job.get("error") or "unknown error"


def waiting_message(kind: str, run: RunRecord) -> str:
    """What a page says while `kind` waits: about the job it needs first, while that one is."""
    needs = ON_A_RUN[kind].needs
    if needs is not None and state(needs, run) != READY:
        return waiting_message(needs, run)
    return jobs.waiting_message(jobs.read(kind, run.id))
