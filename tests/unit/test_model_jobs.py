"""Background work on saved models through the job queue, with the real job bodies: every kind
on a run goes through one request and state path, a stopped run is evaluated once with the
worker's own function, a run without a LiteRT copy gets one, and a failure is recorded and not
retried until the model file changes."""

from __future__ import annotations

import functools
import os
import time

import pytest

from core.data import robustness
from core.data.mnist import load_mnist
from core.jobs import runner as job_main
from core.networks.config import ModelConfig
from core.queue import jobs, model_jobs, model_states, scheduler
from core.runs import layout, registry, run_results
from tests import assert_labels_agree_but_for_near_ties, tiny_models
from tests.fewer_suite_digits import score_suites_on


@pytest.fixture(autouse=True)
def runs_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_RUNS_DIR", str(tmp_path / "runs"))
    yield
    scheduler.reap_children()


@pytest.fixture(scope="module")
def model():
    return tiny_models.contract_mlp(units=16)


def wait_while_running(kind, run, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        scheduler.tick()  # What the server's scheduler thread does twice a second.
        state = model_states.state(kind, registry.reload(run))
        if state not in (model_states.RUNNING, model_states.NEEDED):
            return state
        time.sleep(0.5)
    raise TimeoutError("the background job did not finish")


def test_runs_that_cannot_be_evaluated_start_no_job(model):
    queued = registry.create_run(ModelConfig(epochs=1), "queued")
    assert model_states.state("evaluate", queued) == model_states.UNAVAILABLE  # Still to train.
    no_weights = registry.create_run(ModelConfig(epochs=1), "empty")
    registry.update_status(no_weights, {"state": "stopped"})
    for kind in model_states.ON_A_RUN:
        for run in (registry.reload(no_weights), queued):
            assert model_jobs.request(kind, run) == model_states.UNAVAILABLE
    assert jobs.all_jobs() == []


def test_every_kind_on_a_run_goes_through_the_one_request_and_state_path(model, monkeypatch):
    """Each job kind the queue runs on a run's saved model (all but training) is declared in
    `model_states.ON_A_RUN`; asked for on a fresh run, it queues the job it needs first, then its
    own, and reads ready once their bodies have run."""
    kinds = {kind for kind, declared in jobs.KINDS.items() if declared.on_a_run and not declared.trains}
    assert set(model_states.ON_A_RUN) == kinds
    monkeypatch.setattr(scheduler, "tick", lambda: None)  # Queued only: each body runs here, in-process.
    # The real bodies, on 20 digits a suite (tests/unit/test_robustness.py scores the full suites).
    monkeypatch.setattr(robustness, "scores", functools.partial(robustness.scores, count=20))
    for kind, declared in model_states.ON_A_RUN.items():
        run = tiny_models.finished_run(model, kind)
        ran = []
        while (state := model_jobs.request(kind, run)) == model_states.RUNNING:
            (queued,) = [job for job in jobs.all_jobs() if job["state"] == jobs.QUEUED]
            job_kind = queued["kind"]
            assert queued["target"] == run.id and queued["stamp"] == model_states.job_stamp(job_kind, run)
            assert f"Queued for {jobs.KINDS[job_kind].doing}" in model_states.waiting_message(kind, run)
            assert job_main.run_job(job_kind, run.id) == 0, jobs.read(job_kind, run.id)["error"]
            ran.append(job_kind)
        assert state == model_states.READY, (kind, state)
        assert ran[-1] == kind and ran[:-1] == ([declared.needs] if declared.needs else [])
        for job_kind in ran:
            jobs.job_path(job_kind, run.id).unlink()  # The next kind's run starts from an empty queue.


@pytest.mark.slow
def test_a_stopped_run_is_evaluated_in_the_background_once(model):
    run = tiny_models.finished_run(model, "stopped early", state="stopped")
    assert model_states.state("evaluate", run) == model_states.NEEDED
    assert model_jobs.request("evaluate", run) == model_states.RUNNING
    created = jobs.read("evaluate", run.id)["created"]
    assert model_jobs.request("evaluate", run) == model_states.RUNNING  # Merged: never launched twice.
    assert [job["created"] for job in jobs.all_jobs()] == [created]
    assert wait_while_running("evaluate", run) == model_states.READY
    run = registry.reload(run)
    evaluation = run_results.read_evaluation(run)
    data = load_mnist()
    stored = run_results.read_predictions(run)["labels"]
    assert evaluation["accuracy"] == (stored == data.y_test).mean()
    assert evaluation["model_file"] == "model.keras" and evaluation["evaluated_by"] == "background"
    assert_labels_agree_but_for_near_ties(model.predict(data.x_test[..., None], verbose=0), stored)
    assert run.status["test_accuracy"] == evaluation["accuracy"] and run.state == "stopped"
    assert jobs.read("evaluate", run.id)["result"] == {"accuracy": evaluation["accuracy"]}
    assert model_jobs.request("evaluate", run) == model_states.READY
    assert jobs.read("evaluate", run.id)["state"] == jobs.DONE


@pytest.mark.slow
def test_a_run_with_only_a_checkpoint_gets_its_lite_model_from_a_job(model):
    run = tiny_models.finished_run(model, "died in epoch 3", state="failed")
    os.rename(run.path / layout.MODEL_FILE, run.path / layout.CHECKPOINT_FILE)
    assert model_jobs.request("convert", run) == model_states.RUNNING
    assert wait_while_running("convert", run) == model_states.READY
    assert (run.path / layout.LITE_MODEL_FILE).is_file()
    assert jobs.read("convert", run.id)["result"] == {"source": layout.CHECKPOINT_FILE}


def test_failures_are_recorded_and_not_retried_until_the_model_changes(model):
    run = tiny_models.finished_run(model, "corrupt")
    (run.path / layout.MODEL_FILE).write_bytes(b"PK\x03\x04 cut short")
    assert model_states.state("evaluate", run) == model_states.NEEDED
    jobs.request("evaluate", run.id, model_states.model_stamp(run))
    assert job_main.run_job("evaluate", run.id) == 1  # In-process: the job's own code path.
    assert model_states.state("evaluate", run) == model_states.FAILED
    error = model_states.failure("evaluate", run)
    assert error.startswith("The model file model.keras") and str(run.path) not in error
    assert model_jobs.request("evaluate", run) == model_states.FAILED  # Not started again.
    assert jobs.read("evaluate", run.id)["state"] == jobs.FAILED
    model.save(run.path / layout.MODEL_FILE)  # A new model file deserves a new try.
    assert model_states.state("evaluate", run) == model_states.NEEDED
    jobs.request("evaluate", run.id, model_states.model_stamp(run))
    assert job_main.run_job("evaluate", run.id) == 0
    assert model_states.state("evaluate", run) == model_states.READY


@pytest.mark.slow
def test_robustness_scores_come_from_a_job_and_follow_the_lite_model(model, monkeypatch):
    # 100 digits a suite, in the job process too (the full 300 only take longer to render): the
    # model answers about 3 clean digits in 4 (0.76 on 50 of them), so its clean score would fall
    # to 0.5 only if 50 of its 100 failed, odds about 2e-8 for a fresh draw of digits.
    score_suites_on(monkeypatch, 100)
    run = tiny_models.finished_run(model, "robust?")
    assert model_states.robustness_scores(run) is None
    model_jobs.request("robustness", run)  # Converts first if needed, then scores.
    deadline = time.monotonic() + 300
    while model_jobs.request("robustness", registry.reload(run)) in (
        model_states.RUNNING,
        model_states.NEEDED,
    ):
        assert time.monotonic() < deadline, "the robustness job did not finish"
        scheduler.tick()
        time.sleep(0.5)
    scores = model_states.robustness_scores(registry.reload(run))
    assert list(scores) == ["clean", *robustness.SUITES]
    assert 0.5 < scores["clean"] <= 1.0  # A small MLP, trained briefly, but far above chance.
    assert all(0.0 <= value <= 1.0 for value in scores.values())
    lite = run.path / layout.LITE_MODEL_FILE
    os.utime(lite, ns=(lite.stat().st_atime_ns, lite.stat().st_mtime_ns + 1_000_000))
    assert model_states.robustness_scores(registry.reload(run)) == scores  # Checked out again: same.
    with pytest.MonkeyPatch.context() as patch:  # Suites or preprocessing changed since: stale,
        patch.setattr(robustness, "method_stamp", lambda: "another-way")
        patch.setattr(scheduler, "tick", lambda: None)
        assert model_states.robustness_scores(registry.reload(run)) is None
        assert model_jobs.request("robustness", registry.reload(run)) == model_states.RUNNING  # and redone.
        assert jobs.read("robustness", run.id)["state"] == jobs.QUEUED
        jobs.cancel("robustness", run.id)
    lite.write_bytes(lite.read_bytes() + b"\0")
    assert model_states.robustness_scores(registry.reload(run)) is None  # A new LiteRT file: stale.
