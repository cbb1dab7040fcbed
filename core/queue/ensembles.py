"""Ensembles: several runs answering together with their averaged probabilities.

An ensemble is a run folder of its own. Its record is meta.json's `ensemble` entry: the members' run
ids, their labels ("name (architecture)", so a deleted member can still be named), their parameter
count and the job that built it; config.json is a placeholder, as nothing is trained. Beside the
record the folder keeps the averaged model the job built once: one Keras model that feeds the digit
to every member and averages their probabilities (a built-in `Average` layer, so it obeys the model
contract and loads in safe mode), saved as model.keras with its LiteRT copy. So export, LiteRT
predictions, saliency and the look inside treat it like any run, and it is evaluated on the test set
(evaluation.json, predictions.npz) and, by the robustness job the ensemble job queues, on the
robustness suites (robustness.json). The job that builds it is core.jobs.ensemble_body. The folder
is therefore about the size of its members' weights (no optimiser state), twice: the Keras file and
its LiteRT copy. It is listed on the leaderboard and offered on Predict and Present. A deleted
member marks the ensemble broken (registry.open_run): still listed, naming the members missing, but
offered for nothing that needs its model.
"""

from __future__ import annotations

import secrets

from core.networks.config import ModelConfig
from core.queue import scheduler
from core.runs import access, limits, run_results
from core.runs.compare import ensemble_info
from core.runs.registry import RunRecord

MEMBERS_RANGE = (2, 5)
PLACEHOLDER_CONFIG = ModelConfig(epochs=1)  # config.json must exist; an ensemble trains nothing.


class EnsembleRefused(ValueError):
    """The runs cannot form an ensemble; the message says why, for the user."""


def check_members(members: list[RunRecord]) -> None:
    """EnsembleRefused unless these are 2-5 distinct runs, each with a saved model and idle."""
    low, high = MEMBERS_RANGE
    if not low <= len({run.id for run in members}) == len(members) <= high:
        raise EnsembleRefused(f"An ensemble needs {low} to {high} different runs (got {len(members)}).")
    for run in members:
        if run.broken or run.is_active or run_results.usable_model_path(run) is None:
            raise EnsembleRefused(f"{run.name} has no finished model to join an ensemble with.")
        if ensemble_info(run):
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
