"""The bodies of the jobs on a run's saved model: its test evaluation, its LiteRT copy, and its
scores on the robustness suites (declared in core.queue.model_states, asked for through
core.queue.model_jobs, waited for on pages by core.ui.job_wait)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.data import robustness
from core.data.mnist import load_mnist
from core.jobs.convert import load_keras_model, write_lite_files
from core.queue import jobs
from core.runs import atomic_files, layout, registry, run_results
from core.runs.registry import RunRecord
from core.serving import inference
from core.serving.evaluate import evaluate_and_store


def _run_for(target: str) -> RunRecord:
    run = registry.open_run(layout.runs_dir() / target)
    if run.broken or run_results.usable_model_path(run) is None:
        raise jobs.JobRefused(f"{run.name} has no readable model file ({run.broken or 'no weights saved'}).")
    return run


def evaluate_job(target: str) -> dict[str, Any]:
    """Evaluate the run's usable model on the test set and store evaluation.json and
    predictions.npz; also record the scores in status.json (for tables that only read status),
    unless the run has started training again meanwhile."""
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
    run = _run_for(target)
    path = run_results.usable_model_path(run)
    if inference.lite_is_fresh(run.path):  # Written meanwhile, e.g. by a worker that was stopping.
        return {"source": path.name}
    write_lite_files(load_keras_model(path), run.path, source_name=path.name)
    return {"source": path.name}


def robustness_job(target: str) -> dict[str, Any]:
    """Score the run's LiteRT model on clean MNIST and every robustness suite (no TensorFlow:
    preprocessing and LiteRT, as on the predict page) and store robustness.json."""
    run = registry.open_run(layout.runs_dir() / target)
    if not inference.lite_is_fresh(run.path):
        raise jobs.JobRefused(f"{run.name} has no up-to-date LiteRT model to score.")
    stored = robustness_record(run.path / layout.LITE_MODEL_FILE)
    atomic_files.write_json(run.path / layout.ROBUSTNESS_FILE, stored, what="the robustness scores")
    return {"clean": stored["scores"]["clean"]}


def robustness_record(lite_path: Path) -> dict[str, Any]:
    """What robustness.json holds: the LiteRT file scored (its stamp), how it was scored (the
    suites' and preprocessing's stamp) and its scores by suite."""
    lite = inference.source_stamp(lite_path)
    classifier = inference.load_classifier(lite_path)
    scores = robustness.scores(classifier.probabilities_batch)
    return {
        "lite": lite,
        "method": robustness.method_stamp(),
        "digits_per_suite": robustness.DIGITS_PER_SUITE,
        "scores": scores,
    }
