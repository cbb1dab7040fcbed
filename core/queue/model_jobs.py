"""Background work on a run's saved model: its test evaluation, its LiteRT copy, and its scores
on the robustness suites.

A run stopped early, a failed run that kept a checkpoint, or an imported model may lack
evaluation.json / predictions.npz, or a model.tflite for the server to predict with. Pages never
do that work in a script run: they ask with `request_evaluation(runs)` or `request_lite(run)`,
which queue one job per run through core.queue.jobs (merged with any earlier request) and read back
the state. The job bodies run in a job process (core.jobs.model_bodies).
"""

from __future__ import annotations

from core.data import robustness
from core.queue import jobs, scheduler
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


def job_stamp(kind: str, run: RunRecord) -> int | str | None:
    """What a job of `kind` on this run works from: the model file, and for the robustness suites
    also the way they score (the suites and the preprocessing). A change deserves a new job."""
    if kind == "robustness":
        return f"{model_stamp(run)}:{robustness.method_stamp()}"
    return model_stamp(run)


def _job_state(kind: str, run: RunRecord) -> str:
    job = jobs.read(kind, run.id)
    if job is None:
        return NEEDED
    if job["state"] in jobs.PENDING_STATES:
        return RUNNING
    return FAILED if job.get("stamp") == job_stamp(kind, run) and job["state"] == jobs.FAILED else NEEDED


def failure(kind: str, run: RunRecord) -> str | None:
    """Why the last job of `kind` on this run's current model failed, if it did."""
    job = jobs.read(kind, run.id)
    if job is None or job["state"] != jobs.FAILED or job.get("stamp") != job_stamp(kind, run):
        return None
    return job.get("error") or "unknown error"


def waiting_message(kind: str, run: RunRecord) -> str:
    return jobs.waiting_message(jobs.read(kind, run.id))


def evaluation_state(run: RunRecord) -> str:
    """ready, running (queued or running in the background), needed, failed, or unavailable.

    Unavailable: broken, still training, no weights, or a shipped (read-only) model without
    a stored evaluation.
    """
    if has_evaluation(run):
        return READY
    if run.broken or run.is_active or run_results.usable_model_path(run) is None or run.shipped:
        return UNAVAILABLE
    return _job_state("evaluate", run)


def request_evaluation(runs: list[RunRecord]) -> list[str]:
    """Queue an evaluation for each run that needs one; the ids of those newly queued."""
    queued = []
    for run in runs:
        if evaluation_state(run) == NEEDED:
            scheduler.request("evaluate", run.id, model_stamp(run))
            queued.append(run.id)
    return queued


def lite_state(run: RunRecord) -> str:
    """Whether the server can predict with this run: ready (a fresh model.tflite), running,
    needed, failed, or unavailable (no weights, still training, broken, or shipped without one)."""
    if inference.lite_is_fresh(run.path):
        return READY
    if run.broken or run.is_active or run_results.usable_model_path(run) is None or run.shipped:
        return UNAVAILABLE
    return _job_state("convert", run)


def request_lite(run: RunRecord) -> str:
    """Queue the LiteRT conversion of a run that needs one; the run's lite state afterwards."""
    if lite_state(run) == NEEDED:
        scheduler.request("convert", run.id, model_stamp(run))
    return lite_state(run)


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


def robustness_state(run: RunRecord) -> str:
    """ready, running, needed, failed or unavailable, like `evaluation_state`; the suites run on
    the LiteRT copy, so a run without a fresh one waits for its conversion first."""
    if robustness_scores(run) is not None:
        return READY
    if run.shipped:  # Read-only: its scores ship with it.
        return UNAVAILABLE
    lite = lite_state(run)
    return _job_state("robustness", run) if lite == READY else lite


def request_robustness(run: RunRecord) -> str:
    """Queue what the run's robustness scores still need (conversion, then the suites); the state."""
    if lite_state(run) == NEEDED:
        request_lite(run)
    elif robustness_state(run) == NEEDED:
        scheduler.request("robustness", run.id, job_stamp("robustness", run))
    return robustness_state(run)
