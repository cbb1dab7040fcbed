"""Background work on saved models through the job queue, with the real job bodies: a stopped
run is evaluated once with the worker's own function, a run without a LiteRT copy gets one, and
a failure is recorded and not retried until the model file changes."""

from __future__ import annotations

import os
import time

import pytest

from core.data.mnist import load_mnist
from core.jobs import runner as job_main
from core.networks.config import ModelConfig
from core.queue import jobs, model_jobs, scheduler
from core.runs import layout, registry, run_results
from tests import assert_labels_agree_but_for_near_ties, tiny_models


@pytest.fixture(autouse=True)
def runs_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_RUNS_DIR", str(tmp_path / "runs"))
    yield
    scheduler.reap_children()


@pytest.fixture(scope="module")
def model():
    return tiny_models.contract_mlp(units=16)


def wait_while_running(state_of, run, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        scheduler.tick()  # What the server's scheduler thread does twice a second.
        state = state_of(registry.reload(run))
        if state not in (model_jobs.RUNNING, model_jobs.NEEDED):
            return state
        time.sleep(0.5)
    raise TimeoutError("the background job did not finish")


def test_runs_that_cannot_be_evaluated_start_no_job(model):
    queued = registry.create_run(ModelConfig(epochs=1), "queued")
    assert model_jobs.evaluation_state(queued) == model_jobs.UNAVAILABLE  # Still to train.
    no_weights = registry.create_run(ModelConfig(epochs=1), "empty")
    registry.update_status(no_weights, {"state": "stopped"})
    assert model_jobs.evaluation_state(registry.reload(no_weights)) == model_jobs.UNAVAILABLE
    assert model_jobs.request_evaluation([registry.reload(no_weights), queued]) == []
    assert model_jobs.lite_state(registry.reload(no_weights)) == model_jobs.UNAVAILABLE
    assert jobs.all_jobs() == []


@pytest.mark.slow
def test_a_stopped_run_is_evaluated_in_the_background_once(model):
    run = tiny_models.finished_run(model, "stopped early", state="stopped")
    assert model_jobs.evaluation_state(run) == model_jobs.NEEDED
    assert model_jobs.request_evaluation([run]) == [run.id]
    assert model_jobs.evaluation_state(run) == model_jobs.RUNNING
    assert model_jobs.request_evaluation([run]) == []  # Merged: never launched twice.
    assert wait_while_running(model_jobs.evaluation_state, run) == model_jobs.READY
    run = registry.reload(run)
    evaluation = run_results.read_evaluation(run)
    data = load_mnist()
    stored = run_results.read_predictions(run)["labels"]
    assert evaluation["accuracy"] == (stored == data.y_test).mean()
    assert evaluation["model_file"] == "model.keras" and evaluation["evaluated_by"] == "background"
    assert_labels_agree_but_for_near_ties(model.predict(data.x_test[..., None], verbose=0), stored)
    assert run.status["test_accuracy"] == evaluation["accuracy"] and run.state == "stopped"
    assert jobs.read("evaluate", run.id)["result"] == {"accuracy": evaluation["accuracy"]}
    assert model_jobs.request_evaluation([run]) == []


@pytest.mark.slow
def test_a_run_with_only_a_checkpoint_gets_its_lite_model_from_a_job(model):
    run = tiny_models.finished_run(model, "died in epoch 3", state="failed")
    os.rename(run.path / layout.MODEL_FILE, run.path / layout.CHECKPOINT_FILE)
    assert model_jobs.request_lite(run) == model_jobs.RUNNING
    assert wait_while_running(model_jobs.lite_state, run) == model_jobs.READY
    assert (run.path / layout.LITE_MODEL_FILE).is_file()
    assert jobs.read("convert", run.id)["result"] == {"source": layout.CHECKPOINT_FILE}


def test_failures_are_recorded_and_not_retried_until_the_model_changes(model):
    run = tiny_models.finished_run(model, "corrupt")
    (run.path / layout.MODEL_FILE).write_bytes(b"PK\x03\x04 cut short")
    assert model_jobs.evaluation_state(run) == model_jobs.NEEDED
    jobs.request("evaluate", run.id, model_jobs.model_stamp(run))
    assert job_main.run_job("evaluate", run.id) == 1  # In-process: the job's own code path.
    assert model_jobs.evaluation_state(run) == model_jobs.FAILED
    error = model_jobs.failure("evaluate", run)
    assert error.startswith("The model file model.keras") and str(run.path) not in error
    assert model_jobs.request_evaluation([run]) == []
    model.save(run.path / layout.MODEL_FILE)  # A new model file deserves a new try.
    assert model_jobs.evaluation_state(run) == model_jobs.NEEDED
    jobs.request("evaluate", run.id, model_jobs.model_stamp(run))
    assert job_main.run_job("evaluate", run.id) == 0
    assert model_jobs.evaluation_state(run) == model_jobs.READY


@pytest.mark.slow
def test_robustness_scores_come_from_a_job_and_follow_the_lite_model(model):
    from core.data import robustness

    run = tiny_models.finished_run(model, "robust?")
    assert model_jobs.robustness_scores(run) is None
    model_jobs.request_robustness(run)  # Converts first if needed, then scores.
    deadline = time.monotonic() + 300
    while model_jobs.request_robustness(registry.reload(run)) in (model_jobs.RUNNING, model_jobs.NEEDED):
        assert time.monotonic() < deadline, "the robustness job did not finish"
        scheduler.tick()
        time.sleep(0.5)
    scores = model_jobs.robustness_scores(registry.reload(run))
    assert list(scores) == ["clean", *robustness.SUITES]
    assert 0.5 < scores["clean"] <= 1.0  # A small MLP, trained briefly, but far above chance.
    assert all(0.0 <= value <= 1.0 for value in scores.values())
    lite = run.path / layout.LITE_MODEL_FILE
    os.utime(lite, ns=(lite.stat().st_atime_ns, lite.stat().st_mtime_ns + 1_000_000))
    assert model_jobs.robustness_scores(registry.reload(run)) == scores  # Checked out again: same.
    with pytest.MonkeyPatch.context() as patch:  # Suites or preprocessing changed since: stale,
        patch.setattr(robustness, "method_stamp", lambda: "another-way")
        patch.setattr(scheduler, "tick", lambda: None)
        assert model_jobs.robustness_scores(registry.reload(run)) is None
        assert model_jobs.request_robustness(registry.reload(run)) == model_jobs.RUNNING  # and redone.
        assert jobs.read("robustness", run.id)["state"] == jobs.QUEUED
        jobs.cancel("robustness", run.id)
    lite.write_bytes(lite.read_bytes() + b"\0")
    assert model_jobs.robustness_scores(registry.reload(run)) is None  # A new LiteRT file: stale.
