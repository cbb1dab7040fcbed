"""Background evaluation: a run without evaluation.json is evaluated once, by one process, with
the same function as the worker; a dead job's marker is taken over; failures are recorded."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest

from core import evaluate_job, registry
from core.data import load_mnist
from core.config import ModelConfig
from tests import tiny_models


@pytest.fixture(autouse=True)
def runs_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_RUNS_DIR", str(tmp_path / "runs"))


@pytest.fixture(scope="module")
def model():
    return tiny_models.contract_mlp(units=16)


def wait_until_ready(run, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = evaluate_job.evaluation_state(registry.reload(run))
        if state not in (evaluate_job.RUNNING, evaluate_job.NEEDED):
            return state
        time.sleep(0.5)
    raise TimeoutError("the background evaluation did not finish")


def test_states_of_runs_that_cannot_be_evaluated(model):
    queued = registry.create_run(ModelConfig(epochs=1), "queued")
    assert evaluate_job.evaluation_state(queued) == evaluate_job.UNAVAILABLE  # Still to train.
    no_weights = registry.create_run(ModelConfig(epochs=1), "empty")
    registry.update_status(no_weights, {"state": "stopped"})
    assert evaluate_job.evaluation_state(registry.reload(no_weights)) == evaluate_job.UNAVAILABLE
    assert evaluate_job.request_evaluation([registry.reload(no_weights), queued]) == []


def test_a_stopped_run_is_evaluated_in_the_background_once(model):
    run = tiny_models.finished_run(model, "stopped early", state="stopped")
    assert evaluate_job.evaluation_state(run) == evaluate_job.NEEDED
    assert evaluate_job.request_evaluation([run]) == [run.id]
    assert evaluate_job.evaluation_state(run) == evaluate_job.RUNNING
    assert evaluate_job.request_evaluation([run]) == []  # Never launched twice.
    assert wait_until_ready(run) == evaluate_job.READY
    run = registry.reload(run)
    evaluation = registry.read_evaluation(run)
    data = load_mnist()
    expected = model.predict(data.x_test[..., None], verbose=0).argmax(axis=1)
    assert evaluation["accuracy"] == pytest.approx((expected == data.y_test).mean())
    assert evaluation["model_file"] == "model.keras" and evaluation["evaluated_by"] == "background"
    assert np.array_equal(registry.read_predictions(run)["labels"], expected)
    assert run.status["test_accuracy"] == evaluation["accuracy"] and run.state == "stopped"
    assert not (run.path / evaluate_job.MARKER_FILE).exists()
    assert evaluate_job.request_evaluation([run]) == []


def test_a_dead_jobs_marker_is_taken_over(model):
    run = tiny_models.finished_run(model, "orphaned")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    registry.write_json(run.path / evaluate_job.MARKER_FILE, {"pid": dead.pid, "pid_start": 1})
    assert evaluate_job.evaluation_state(run) == evaluate_job.NEEDED
    assert evaluate_job._claim(run)
    assert not evaluate_job._claim(run)  # The fresh marker (no pid yet) is within its grace.


def test_failures_are_recorded_and_not_retried_until_the_model_changes(model):
    run = tiny_models.finished_run(model, "corrupt")
    (run.path / registry.MODEL_FILE).write_bytes(b"PK\x03\x04 cut short")
    assert evaluate_job.main([str(run.path)]) == 1  # In-process: the job's main loop.
    assert evaluate_job.evaluation_state(run) == evaluate_job.FAILED
    assert evaluate_job.failure(run)  # e.g. "ValueError: File is not a zip file"
    assert evaluate_job.request_evaluation([run]) == []
    model.save(run.path / registry.MODEL_FILE)  # A new model file deserves a new try.
    assert evaluate_job.evaluation_state(run) == evaluate_job.NEEDED
    assert evaluate_job.main([str(run.path)]) == 0
    assert evaluate_job.evaluation_state(run) == evaluate_job.READY
    assert not (run.path / evaluate_job.FAILED_FILE).exists()
