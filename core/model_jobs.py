"""Background work on a run's saved model: its test evaluation, its LiteRT copy, and its scores
on the robustness suites.

A run stopped early, a failed run that kept a checkpoint, or an imported model may lack
evaluation.json / predictions.npz, or a model.tflite for the server to predict with. Pages never
do that work in a script run: they ask with `request_evaluation(runs)` or `request_lite(run)`,
which queue one job per run through core.jobs (merged with any earlier request) and read back
the state. The job bodies below run in a job process, where TensorFlow may be imported; the rest
of this module is TensorFlow-free.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core import atomic_files, inference, jobs, registry, run_results, scheduler
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


def job_stamp(kind: str, run: RunRecord) -> int | str | None:
    """What a job of `kind` on this run works from: the model file, and for the robustness suites
    also the way they score (the suites and the preprocessing). A change deserves a new job."""
    if kind == "robustness":
        from core import robustness

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
    from core import robustness

    stored = atomic_files.read_json_object(run.path / registry.ROBUSTNESS_FILE)
    scores, lite = stored.get("scores"), stored.get("lite")
    try:
        fresh = (
            isinstance(lite, dict)
            and stored.get("method") == robustness.method_stamp()
            and inference.stamp_matches(run.path / registry.LITE_MODEL_FILE, lite)
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


def robustness_job(target: str) -> dict[str, Any]:
    """Score the run's LiteRT model on clean MNIST and every robustness suite (no TensorFlow:
    preprocessing and LiteRT, as on the predict page) and store robustness.json."""
    run = registry.open_run(registry.runs_dir() / target)
    if not inference.lite_is_fresh(run.path):
        raise jobs.JobRefused(f"{run.name} has no up-to-date LiteRT model to score.")
    stored = robustness_record(run.path / registry.LITE_MODEL_FILE)
    atomic_files.write_json(run.path / registry.ROBUSTNESS_FILE, stored, what="the robustness scores")
    return {"clean": stored["scores"]["clean"]}


def robustness_record(lite_path: Path) -> dict[str, Any]:
    """What robustness.json holds: the LiteRT file scored (its stamp), how it was scored (the
    suites' and preprocessing's stamp) and its scores by suite."""
    from core import robustness

    lite = inference.source_stamp(lite_path)
    classifier = inference.load_classifier(lite_path)
    scores = robustness.scores(classifier.probabilities_batch)
    return {
        "lite": lite,
        "method": robustness.method_stamp(),
        "digits_per_suite": robustness.DIGITS_PER_SUITE,
        "scores": scores,
    }
