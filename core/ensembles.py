"""Ensembles: several runs answering together with their averaged probabilities.

An ensemble is a run folder of its own. Its record is meta.json's `ensemble` entry: the members'
run ids, their labels ("name (architecture)", so a deleted member can still be named), their
parameter count and the job that built it; config.json is a placeholder, as nothing is trained.
Beside the record the folder keeps the averaged model the job built once: one Keras model that
feeds the digit to every member and averages their probabilities (a built-in `Average` layer,
so it obeys the model contract and loads in safe mode), saved as model.keras with its LiteRT
copy. So export, LiteRT predictions, saliency and the look inside treat it like any run, and it
is evaluated on the test set (evaluation.json, predictions.npz) and, by the robustness job the
ensemble job queues, on the robustness suites (robustness.json). The folder is therefore about
the size of its members' weights (no optimiser state), twice: the Keras file and its LiteRT
copy. It is listed on the leaderboard and offered on Predict and Present. A deleted member marks the
ensemble broken (registry.open_run): still listed, naming the members missing, but offered for
nothing that needs its model.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from core import access, jobs, limits, model_jobs, registry, run_results, scheduler
from core.config import ModelConfig
from core.registry import RunRecord

MEMBERS_RANGE = (2, 5)
PLACEHOLDER_CONFIG = ModelConfig(epochs=1)  # config.json must exist; an ensemble trains nothing.


class EnsembleRefused(ValueError):
    """The runs cannot form an ensemble; the message says why, for the user."""


def info(run: RunRecord) -> dict[str, Any] | None:
    """The ensemble record of a run (member ids, labels, parameters); None for other runs."""
    record = run.meta.get(registry.ENSEMBLE_KEY)
    return record if isinstance(record, dict) else None


def check_members(members: list[RunRecord]) -> None:
    """EnsembleRefused unless these are 2-5 distinct runs, each with a saved model and idle."""
    low, high = MEMBERS_RANGE
    if not low <= len({run.id for run in members}) == len(members) <= high:
        raise EnsembleRefused(f"An ensemble needs {low} to {high} different runs (got {len(members)}).")
    for run in members:
        if run.broken or run.is_active or run_results.usable_model_path(run) is None:
            raise EnsembleRefused(f"{run.name} has no finished model to join an ensemble with.")
        if info(run):
            raise EnsembleRefused(f"{run.name} is an ensemble itself: choose its members instead.")


def request_ensemble(
    members: list[RunRecord], name: str | None = None, who: access.Who = access.OWNER
) -> str:
    """Check the members and who asks (as for an import), then queue the job that builds the
    ensemble; the job's target, to follow with `jobs.read("ensemble", ...)`."""
    refused = limits.ensemble_refusal(who)
    if refused:
        raise EnsembleRefused(refused)
    check_members(members)
    target = secrets.token_hex(8)
    payload = {"members": [run.id for run in members], "name": name, "run_meta": who.run_meta()}
    scheduler.request("ensemble", target, payload=payload)
    return target


# --- The job (TensorFlow) ----------------------------------------------------------------------


def ensemble_job(target: str) -> dict[str, Any]:
    """Build the averaged model from the members' saved models, register it as a finished run
    with its LiteRT copy, evaluate it on the test set, and queue its robustness job (which the
    scheduler starts once this job's slot is free)."""
    from core.convert import load_keras_model, write_lite_files

    payload = (jobs.read("ensemble", target) or {}).get("payload") or {}
    members = [registry.find_run(str(run_id)) for run_id in payload.get("members") or []]
    if any(run is None for run in members):
        raise jobs.JobRefused("A member of the ensemble was deleted before it was built.")
    try:
        check_members(members)
    except EnsembleRefused as error:
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
        PLACEHOLDER_CONFIG,
        name[:80],
        status_changes=_finished_status(),
        meta_changes={registry.ENSEMBLE_KEY: record, **(payload.get("run_meta") or {})},
        add_files=lambda folder: combined.save(Path(folder) / registry.MODEL_FILE),
    )
    write_lite_files(combined, run.path, source_name=registry.MODEL_FILE)
    evaluation = model_jobs.evaluate_job(run.id)
    model_jobs.request_robustness(run)
    # A visitor's ensemble counts among their runs kept.
    limits.prune_visitor_runs(access.who_from_run_meta(payload.get("run_meta")))
    return {"run_id": run.id, "name": run.name, "test_accuracy": evaluation["accuracy"]}


def averaged_model(models: list[Any]) -> Any:
    """One model: the input to every member (each a nested model, renamed to be unique), and the
    average of their probabilities out."""
    import keras

    inputs = keras.Input(shape=(28, 28, 1), dtype="float32", name="pixels")
    outputs = []
    for index, model in enumerate(models, start=1):
        model.name = f"member_{index}"  # Nested models need distinct names.
        outputs.append(model(inputs))
    averaged = keras.layers.Average(name="probabilities")(outputs)
    return keras.Model(inputs, averaged, name="ensemble")


def _finished_status() -> dict[str, Any]:
    now = registry.now_iso()
    return {
        "state": "finished",
        "phase": "done",
        "launcher": "ensemble",
        "started": now,
        "ended": now,
        "progress": {"epochs": 0},
    }
