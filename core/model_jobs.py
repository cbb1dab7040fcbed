"""Background work on a run's saved model: its test evaluation and its LiteRT copy.

A run stopped early, a failed run that kept a checkpoint, or an imported model may lack
evaluation.json / predictions.npz, or a model.tflite for the server to predict with. Pages never
do that work in a script run: they ask with `request_evaluation(runs)` or `request_lite(run)`,
which queue one job per run through core.jobs (merged with any earlier request) and read back
the state. The job bodies below run in a job process, where TensorFlow may be imported; the rest
of this module is TensorFlow-free.
"""

from __future__ import annotations

from typing import Any

from core import inference, jobs, registry, run_results, scheduler
from core.registry import RunRecord

READY, RUNNING, NEEDED, FAILED, UNAVAILABLE = "ready", "running", "needed", "failed", "unavailable"


def has_evaluation(run: RunRecord) -> bool:
    return (run.path / registry.EVALUATION_FILE).is_file() and (
        run.path / registry.PREDICTIONS_FILE
    ).is_file()


def model_stamp(run: RunRecord) -> int | None:
    """The usable model file's modification time: a new file deserves a new try of a failed job."""
    path = run_results.usable_model_path(run)
    try:
        return path.stat().st_mtime_ns if path else None
    except OSError:
        return None


def _job_state(kind: str, run: RunRecord) -> str:
    job = jobs.read(kind, run.id)
    if job is None:
        return NEEDED
    if job["state"] in jobs.PENDING_STATES:
        return RUNNING
    return FAILED if job.get("stamp") == model_stamp(run) and job["state"] == jobs.FAILED else NEEDED


def failure(kind: str, run: RunRecord) -> str | None:
    """Why the last job of `kind` on this run's current model failed, if it did."""
    job = jobs.read(kind, run.id)
    if job is None or job["state"] != jobs.FAILED or job.get("stamp") != model_stamp(run):
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


# --- Job bodies (run by core.job_main in a job process) ----------------------------------------


def _run_for(target: str) -> RunRecord:
    run = registry.open_run(registry.runs_dir() / target)
    if run.broken or run_results.usable_model_path(run) is None:
        raise jobs.JobRefused(f"{run.name} has no readable model file ({run.broken or 'no weights saved'}).")
    return run


def evaluate_job(target: str) -> dict[str, Any]:
    """Evaluate the run's usable model on the test set and store evaluation.json and
    predictions.npz; also record the scores in status.json (for tables that only read status),
    unless the run has started training again meanwhile."""
    from core.convert import load_keras_model
    from core.data import load_mnist
    from core.evaluate import evaluate_and_store

    run = _run_for(target)
    path = run_results.usable_model_path(run)
    data = load_mnist()
    evaluation = evaluate_and_store(
        run.path,
        load_keras_model(path),
        data.x_test,
        data.y_test,
        model_file=path.name,
        evaluated_by="background",
    )
    scores = {"test_accuracy": evaluation["accuracy"], "test_loss": evaluation["loss"]}
    registry.update_status(run, scores, only_if=("finished", "stopped", "failed"))
    return {"accuracy": evaluation["accuracy"]}


def convert_job(target: str) -> dict[str, Any]:
    """Write model.tflite (and the first layer's weights) from the run's usable model."""
    from core.convert import load_keras_model, write_lite_files

    run = _run_for(target)
    path = run_results.usable_model_path(run)
    if inference.lite_is_fresh(run.path):  # Written meanwhile, e.g. by a worker that was stopping.
        return {"source": path.name}
    write_lite_files(load_keras_model(path), run.path, source_name=path.name)
    return {"source": path.name}
