"""The job queue: requests merge, a bound holds, urgent jobs go first, killed jobs are retried
once, failures are not retried for the same model, and job processes run at low priority.

Job processes here are stand-ins that sleep (no TensorFlow), so the queue's rules are tested
in milliseconds; tests/unit/test_model_jobs.py runs the real bodies.
"""

import os
import signal
import sys
import time

import pytest

from core.networks.config import ModelConfig
from core.networks.families.base import DenseLayer
from core.networks.families.mlp import MLP
from core.queue import jobs, scheduler
from core.runs import layout, processes, registry

CONFIG = ModelConfig(
    network=MLP(hidden_layers=(DenseLayer(32),)), epochs=5, train_limit=2000, validation_size=1000
)
SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


pytestmark = pytest.mark.usefixtures("runs_dir", "job_processes")


@pytest.fixture(autouse=True)
def sleeping_jobs(monkeypatch):
    """Every job is a process that sleeps, on the default number of slots."""
    monkeypatch.delenv("MNIST_MAX_JOBS", raising=False)
    monkeypatch.setattr(jobs, "command", lambda kind, target: SLEEPER)


def finished_run(name: str) -> registry.RunRecord:
    run = registry.create_run(CONFIG, name)
    (run.path / layout.MODEL_FILE).write_bytes(b"weights")
    registry.update_status(run, {"state": "finished"})
    return registry.reload(run)


def kill(job: dict) -> None:
    os.kill(job["pid"], signal.SIGKILL)
    while processes.process_start_ticks(job["pid"]) is not None:
        time.sleep(0.01)
        scheduler.reap_children()


def states(*runs) -> list[str]:
    return [jobs.read(kind, run.id)["state"] for kind, run in runs]


def test_requests_for_the_same_job_merge_into_one():
    run = finished_run("a")
    children_before = len(scheduler._children)  # An earlier test's job may still be running.
    first = scheduler.request("evaluate", run.id, stamp=1)
    again = scheduler.request("evaluate", run.id, stamp=1)
    assert first["state"] == again["state"] == jobs.RUNNING and again["pid"] == first["pid"]
    assert len(jobs.all_jobs()) == 1 and len(scheduler._children) == children_before + 1


def test_one_job_at_a_time_by_default_and_urgent_jobs_before_training():
    a, b = finished_run("a"), finished_run("b")
    evaluation = scheduler.request("evaluate", a.id, stamp=1)
    queued_run = scheduler.submit_run(CONFIG, "queued training")
    conversion = scheduler.request("convert", b.id, stamp=1)
    assert evaluation["state"] == jobs.RUNNING and conversion["state"] == jobs.QUEUED
    assert registry.reload(queued_run).state == "queued"
    assert jobs.waiting_message(jobs.read("convert", b.id)) == (
        "Queued for preparing the model for fast predictions, after the background job that is "
        "evaluating on the 10,000 test digits."
    )

    jobs.finish("evaluate", a.id, {"accuracy": 0.9})
    scheduler.tick()  # The conversion was asked for after the run, but a person waits on it.
    assert states(("convert", b), ("train", queued_run)) == [jobs.RUNNING, jobs.QUEUED]
    jobs.finish("convert", b.id, {})
    assert scheduler.tick().id == queued_run.id
    assert registry.reload(queued_run).state == "running"


def test_the_bound_is_configurable_but_training_never_runs_twice(monkeypatch):
    monkeypatch.setenv("MNIST_MAX_JOBS", "3")
    first, second = scheduler.submit_run(CONFIG, "one"), scheduler.submit_run(CONFIG, "two")
    run = finished_run("c")
    scheduler.request("evaluate", run.id, stamp=1)
    assert [registry.reload(r).state for r in (first, second)] == ["running", "queued"]
    assert len(jobs.running_jobs()) == 2


def test_a_killed_job_is_retried_once_then_reported_failed():
    run = finished_run("a")
    job = scheduler.request("convert", run.id, stamp=1)
    kill(job)
    scheduler.tick()
    retried = jobs.read("convert", run.id)
    assert retried["state"] == jobs.RUNNING and retried["killed"] == 1 and retried["pid"] != job["pid"]
    assert "started again" in jobs.waiting_message(retried)
    kill(retried)
    scheduler.tick()
    failed = jobs.read("convert", run.id)
    assert (
        failed["state"] == jobs.FAILED
        and failed["error"] == "the job process was killed 2 times (out of memory?)"
    )


def test_a_failed_job_is_redone_only_for_a_new_stamp():
    run = finished_run("a")
    scheduler.request("evaluate", run.id, stamp=1)
    jobs.fail("evaluate", run.id, "ValueError: not a model")
    scheduler.tick()
    assert scheduler.request("evaluate", run.id, stamp=1)["state"] == jobs.FAILED
    assert scheduler.request("evaluate", run.id, stamp=2)["state"] == jobs.RUNNING


def test_jobs_of_deleted_runs_are_forgotten_when_the_queue_next_works():
    run, other = finished_run("a"), finished_run("b")
    scheduler.request("evaluate", run.id, stamp=1)
    jobs.finish("evaluate", run.id, {})
    registry.delete_run(run)
    scheduler.request("evaluate", other.id, stamp=1)
    assert [(job["kind"], job["target"]) for job in jobs.all_jobs()] == [("evaluate", other.id)]


def test_job_processes_run_at_lower_priority_than_the_server():
    job = scheduler.request("evaluate", finished_run("a").id, stamp=1)
    assert (
        os.getpriority(os.PRIO_PROCESS, job["pid"]) == os.getpriority(os.PRIO_PROCESS, 0) + jobs.JOB_NICENESS
    )


def test_a_train_job_whose_run_was_cancelled_is_dropped():
    busy = scheduler.submit_run(CONFIG, "busy")
    cancelled = scheduler.submit_run(CONFIG, "cancelled")
    registry.request_stop(cancelled)
    kill(jobs.read("train", busy.id))
    assert scheduler.tick() is None
    assert jobs.read("train", cancelled.id) is None and registry.reload(cancelled).state == "stopped"


@pytest.mark.parametrize("target", ["../escape", "", "a/b", ".hidden"])
def test_targets_cannot_name_paths_outside_the_queue(target):
    with pytest.raises(ValueError):
        jobs.job_path("evaluate", target)
