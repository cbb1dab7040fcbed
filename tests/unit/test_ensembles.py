"""Ensembles: checked members, a job that builds the averaged model and registers it as a run
(evaluated, converted, scored on the robustness suites, offered for predictions), and broken, not
crashing, once a member goes: still listed, with the member missing named."""

from __future__ import annotations

import time

import numpy as np
import pytest

from core.data.mnist import load_mnist
from core.queue import ensembles, jobs, model_states, scheduler
from core.runs import access, compare, layout, registry, run_results
from core.serving import prediction
from core.serving.inference import load_classifier
from tests import tiny_models
from tests.lite_models import lite_classifier, shipped_model_folder

pytestmark = pytest.mark.usefixtures("runs_dir")


@pytest.fixture(scope="module")
def model():
    return tiny_models.contract_mlp(units=16)


def shipped() -> registry.RunRecord:
    return registry.open_run(shipped_model_folder(), shipped=True)


def build(members: list[registry.RunRecord], timeout: float = 300) -> dict:
    target = ensembles.request_ensemble(members, "pair")
    deadline = time.monotonic() + timeout
    while (job := jobs.read("ensemble", target))["state"] in jobs.PENDING_STATES:
        assert time.monotonic() < deadline, "the ensemble job did not finish"
        scheduler.tick()
        time.sleep(0.5)
    assert job["state"] == jobs.DONE, job.get("error")
    return job["result"]


def test_members_are_checked_before_any_job(model):
    run = tiny_models.finished_run(model, "one")
    queued = registry.create_run(ensembles.PLACEHOLDER_CONFIG, "queued")
    for members, reason in [
        ([run], "2 to 5 different runs"),
        ([run, run], "2 to 5 different runs"),
        ([run, queued], "queued has no finished model"),
    ]:
        with pytest.raises(ensembles.EnsembleRefused, match=reason):
            ensembles.request_ensemble(members)
    with pytest.raises(ensembles.EnsembleRefused, match="Making ensembles is for the owner"):
        ensembles.request_ensemble([run, shipped()], who=access.Who(owner=False, session="visitor"))
    assert jobs.all_jobs() == []


def test_an_ensemble_averages_its_members_and_is_a_run_like_any_other(model, tmp_path):
    member = tiny_models.finished_run(model, "small mlp")
    result = build([shipped(), member])
    run = registry.open_run(layout.runs_dir() / result["run_id"])

    assert run.description == "ensemble of 2 runs" and run.state == "finished"
    assert compare.ensemble_info(run)["members"] == [shipped().id, member.id]
    evaluation = run_results.read_evaluation(run)
    assert evaluation["accuracy"] == result["test_accuracy"] > 0.9

    digits = load_mnist().x_test[:32].astype(np.float32)
    averaged = (
        load_classifier(shipped_model_folder() / layout.LITE_MODEL_FILE).probabilities_batch(digits)
        + lite_classifier(model, tmp_path / "member").probabilities_batch(digits)
    ) / 2
    ensemble = load_classifier(run.path / layout.LITE_MODEL_FILE)
    np.testing.assert_allclose(ensemble.probabilities_batch(digits), averaged, atol=1e-4)

    choices = prediction.model_choices(registry.list_runs(include_shipped=True))
    assert run.id in [choice.id for choice in choices]
    parameters = compare.parameter_count(run)
    assert parameters == model.count_params() + 207_178  # The shipped fast CNN's.
    row = compare.leaderboard_row(run, {}, evaluation)
    assert row["status"] == "finished" and row["epochs"] == "" and row["training time (s)"] is None

    # The ensemble job queued its robustness job through the one queue (the app test runs it).
    job = jobs.read("robustness", run.id)
    assert job["state"] == jobs.QUEUED and job["stamp"] == model_states.job_stamp("robustness", run)
    assert model_states.state("robustness", run) == model_states.RUNNING


def test_deleting_a_member_marks_the_ensemble_broken(model):
    member = tiny_models.finished_run(model, "to be deleted")
    result = build([shipped(), member])
    registry.delete_run(member)
    run = registry.open_run(layout.runs_dir() / result["run_id"])
    label = f"to be deleted ({member.description})"
    assert run.broken == f"member {label} deleted"
    listed = {run.id: run for run in registry.list_runs(include_shipped=False)}
    assert listed[result["run_id"]].state == layout.BROKEN
    assert result["run_id"] not in [c.id for c in prediction.model_choices(listed.values())]
    assert result["run_id"] not in [r.id for r in compare.comparable_runs(list(listed.values()))]

    # Still listed, beside single runs, saying which member went; its test accuracy stays.
    assert run.id in [r.id for r in compare.leaderboard_runs(list(listed.values()))]
    row = compare.leaderboard_row(run, {}, run_results.read_evaluation(run))
    assert row["status"] == f"broken: member {label} deleted"
    assert row["test accuracy (%)"] == round(100 * result["test_accuracy"], 2)
    assert row["parameters"] > 207_178 and row["model"] == "ensemble of 2 runs"
    [overview] = compare.ensemble_rows(list(listed.values()), run_results.read_evaluation)
    assert overview["status"] == row["status"] and overview["test accuracy (%)"] == row["test accuracy (%)"]
    assert label in overview["members"]


def test_a_damaged_ensemble_record_is_listed_broken_but_a_damaged_run_is_not():
    """The leaderboard lists broken ensembles only; a damaged run folder is for the runs page."""
    damaged = registry.create_run(
        ensembles.PLACEHOLDER_CONFIG, "damaged", meta_changes={layout.ENSEMBLE_KEY: {"members": "x"}}
    )
    unreadable = registry.create_run(ensembles.PLACEHOLDER_CONFIG, "unreadable")
    (unreadable.path / layout.STATUS_FILE).write_text("{")
    runs = registry.list_runs(include_shipped=False)
    assert [run.id for run in compare.leaderboard_runs(runs)] == [damaged.id]
    row = compare.leaderboard_row(damaged, {}, None)
    assert row["status"] == "broken: its ensemble record is damaged" and row["test accuracy (%)"] is None
    [overview] = compare.ensemble_rows(runs, lambda run: None)
    assert {key: overview[key] for key in ("name", "members", "test accuracy (%)", "status", "id")} == {
        "name": "damaged",
        "members": "",
        "test accuracy (%)": None,
        "status": "broken: its ensemble record is damaged",
        "id": damaged.id,
    }
