"""The scheduler: one run at a time, never twice, and never stalled by a dead worker.

Workers here are real `core.jobs.runner train` processes, killed long before they finish importing
TensorFlow: the scheduler only needs them to exist.
"""

import os
import signal
import threading
import time

import pytest

from core.networks.config import ModelConfig
from core.networks.families.base import DenseLayer
from core.networks.families.mlp import MLP
from core.queue import jobs, scheduler
from core.runs import processes, registry

CONFIG = ModelConfig(
    network=MLP(hidden_layers=(DenseLayer(32),)), epochs=5, train_limit=2000, validation_size=1000
)


pytestmark = pytest.mark.usefixtures("runs_dir", "job_processes")


def states(runs):
    return [registry.reload(run).state for run in runs]


def kill(run):
    """SIGKILL the run's worker and wait until the kernel has finished it off."""
    pid = registry.reload(run).status["pid"]
    os.kill(pid, signal.SIGKILL)
    while processes.process_start_ticks(pid) is not None:
        time.sleep(0.01)


def test_two_sessions_submitting_at_once_start_exactly_one_run():
    barrier, submitted = threading.Barrier(2), []

    def submit(name):
        barrier.wait()
        submitted.append(scheduler.submit_run(CONFIG, name))

    threads = [threading.Thread(target=submit, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(states(submitted)) == ["queued", "running"]
    running = next(run for run in submitted if registry.reload(run).state == "running")
    assert registry.reload(running).status["phase"] in ("starting", "loading", "compiling", "training")
    waiting = next(run for run in submitted if run is not running)

    assert scheduler.tick() is None  # Still busy: nothing more starts.
    kill(running)
    started = scheduler.tick()
    assert started is not None and started.id == waiting.id and started.status["pid"]
    dead = registry.reload(running)
    assert dead.state == "failed" and "worker process died" in dead.status["error"]


def test_queue_starts_oldest_first_and_skips_cancelled_runs():
    first = scheduler.submit_run(CONFIG, "first")
    cancelled, second = (scheduler.submit_run(CONFIG, name) for name in ("cancelled", "second"))
    assert [job["target"] for job in jobs.next_queued()] == [cancelled.id, second.id]

    cancelled = registry.request_stop(cancelled)
    assert cancelled.state == "stopped" and cancelled.status["stop_reason"] == "cancelled"
    kill(first)
    assert scheduler.tick().id == second.id
    assert registry.reload(cancelled).state == "stopped"


def test_a_command_line_run_keeps_the_queue_waiting():
    cli_run = registry.create_run(CONFIG, start_now=True)  # This test process plays the CLI.
    queued = scheduler.submit_run(CONFIG)
    assert queued.state == "queued" and scheduler.tick() is None
    registry.update_status(cli_run, {"state": "finished"})
    assert scheduler.tick().id == queued.id


def test_finished_workers_are_reaped():
    run = scheduler.submit_run(CONFIG)
    kill(run)
    wait_until = time.monotonic() + 10
    while scheduler._children and time.monotonic() < wait_until:
        scheduler.reap_children()
        time.sleep(0.05)
    assert not scheduler._children


def test_background_thread_ticks_and_is_started_once():
    try:
        thread = scheduler.ensure_scheduler_running()
        assert scheduler.ensure_scheduler_running() is thread and thread.daemon
        run = registry.create_run(CONFIG)
        jobs.request("train", run.id)  # Queued without a tick: the thread must start it.
        deadline = time.monotonic() + 60  # A hang guard only: it takes a tick, half a second.
        while registry.reload(run).state == "queued" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert registry.reload(run).state == "running"
    finally:
        scheduler.stop_scheduler()
    assert not thread.is_alive()
