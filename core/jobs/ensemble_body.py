"""The ensemble job's body: one Keras model that averages the members' probabilities, registered
as a finished run with its LiteRT copy, evaluated, and queued for the robustness suites (the
request and the record: core.queue.ensembles)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras

from core.jobs.convert import load_keras_model, write_lite_files
from core.jobs.model_bodies import evaluate_job
from core.queue import ensembles, jobs, model_jobs
from core.runs import access, layout, limits, registry, run_results


def ensemble_job(target: str) -> dict[str, Any]:
    """Build the averaged model from the members' saved models, register it as a finished run
    with its LiteRT copy, evaluate it on the test set, and queue its robustness job (which the
    scheduler starts once this job's slot is free)."""
    payload = (jobs.read("ensemble", target) or {}).get("payload") or {}
    members = [registry.find_run(str(run_id)) for run_id in payload.get("members") or []]
    if any(run is None for run in members):
        raise jobs.JobRefused("A member of the ensemble was deleted before it was built.")
    try:
        ensembles.check_members(members)
    except ensembles.EnsembleRefused as error:
        raise jobs.JobRefused(str(error)) from None
    models = [load_keras_model(run_results.usable_model_path(run)) for run in members]
    combined = averaged_model(models)
    record = {
        "members": [run.id for run in members],
        "labels": [f"{run.name} ({run.description})" for run in members],
        "parameters": int(sum(model.count_params() for model in models)),
        "job": target,
    }
    name = payload.get("name") or "Ensemble of " + " + ".join(run.name for run in members)
    run = registry.create_run(
        ensembles.PLACEHOLDER_CONFIG,
        name[:80],
        status_changes=_finished_status(),
        meta_changes={layout.ENSEMBLE_KEY: record, **(payload.get("run_meta") or {})},
        add_files=lambda folder: combined.save(Path(folder) / layout.MODEL_FILE),
    )
    write_lite_files(combined, run.path, source_name=layout.MODEL_FILE)
    evaluation = evaluate_job(run.id)
    model_jobs.request("robustness", run)
    # A visitor's ensemble counts among their runs kept.
    limits.prune_visitor_runs(access.who_from_run_meta(payload.get("run_meta")))
    return {"run_id": run.id, "name": run.name, "test_accuracy": evaluation["accuracy"]}


def averaged_model(models: list[Any]) -> Any:
    """One model: the input to every member (each a nested model, renamed to be unique), and the
    average of their probabilities out."""
    inputs = keras.Input(shape=(28, 28, 1), dtype="float32", name="pixels")
    outputs = []
    for index, model in enumerate(models, start=1):
        model.name = f"member_{index}"  # Nested models need distinct names.
        outputs.append(model(inputs))
    averaged = keras.layers.Average(name="probabilities")(outputs)
    return keras.Model(inputs, averaged, name="ensemble")


def _finished_status() -> dict[str, Any]:
    now = layout.now_iso()
    return {
        "state": "finished",
        "phase": "done",
        "launcher": "ensemble",
        "started": now,
        "ended": now,
        "progress": {"epochs": 0},
    }
