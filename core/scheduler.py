"""Start queued runs one at a time, each in its own worker process.

Every Streamlit session, and every server process, may tick at once, so the decision "nothing is
training, so start the oldest queued run" is made under an exclusive `flock` on
`<runs>/.scheduler.lock`: a run can never start twice. Each tick first marks runs whose worker
died as failed, so a killed worker never stalls the queue. Runs started from the command line
are never queued, but count as training, so the queue waits for them too.
"""

from __future__ import annotations

import fcntl
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from core import registry
from core.config import ModelConfig
from core.registry import RunRecord

logger = logging.getLogger(__name__)

TICK_SECONDS = 0.5
LOCK_FILE = ".scheduler.lock"

# Workers this process started, kept so their exit status is collected: an unreaped child
# stays a zombie, and would look alive to anything but /proc.
_children: dict[int, subprocess.Popen] = {}
_children_lock = threading.Lock()

_thread: threading.Thread | None = None
_thread_lock = threading.Lock()
_stop_ticking = threading.Event()


def worker_command(run: RunRecord) -> list[str]:
    return [sys.executable, "-m", "core.worker", str(run.path)]


@contextmanager
def _exclusive() -> Iterator[None]:
    """Hold the scheduler lock; separate opens conflict even between threads of one process."""
    with open(registry.runs_dir() / LOCK_FILE, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def reap_children() -> None:
    """Collect the exit status of finished workers."""
    with _children_lock:
        for pid, child in list(_children.items()):
            if child.poll() is not None:
                del _children[pid]


def _oldest_queued_first(runs: list[RunRecord]) -> list[RunRecord]:
    queued = [run for run in runs if run.state == "queued"]
    return sorted(queued, key=lambda run: (run.created, run.id))


def queued_runs() -> list[RunRecord]:
    """The queue, next to start first."""
    return _oldest_queued_first(registry.list_runs(include_shipped=False))


def _spawn(run: RunRecord) -> subprocess.Popen:
    # Keeps most of TensorFlow's start-up chatter out of the log, unless asked for.
    env = {"TF_CPP_MIN_LOG_LEVEL": "2", **os.environ}
    with open(run.path / registry.LOG_FILE, "ab") as log:
        return subprocess.Popen(
            worker_command(run),
            cwd=registry.PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own session: a Ctrl-C or a signal to the server's process group leaves it be.
            start_new_session=True,
        )


def _start(run: RunRecord) -> RunRecord | None:
    """Claim a queued run and spawn its worker; None if someone cancelled it first."""
    now = registry.now_iso()
    claim = {"state": "running", "launcher": "scheduler", "phase": "setup", "claimed": now}
    if registry.update_status(run, claim, only_if=("queued",)) is None:
        return None
    try:
        child = _spawn(run)
    except OSError as error:
        failed = {"state": "failed", "error": f"could not start the worker: {error}", "ended": now}
        registry.update_status(run, failed)
        return registry.reload(run)
    with _children_lock:
        _children[child.pid] = child
    registry.update_status(run, registry.process_identity(child.pid))
    logger.info("started run %s (worker pid %d)", run.id, child.pid)
    return registry.reload(run)


def tick() -> RunRecord | None:
    """One scheduling step; returns the run it started, if any."""
    reap_children()
    with _exclusive():
        runs = registry.reconcile_all()
        if any(run.is_live for run in runs):
            return None
        for run in _oldest_queued_first(runs):
            started = _start(run)
            if started is not None:
                return started
    return None


def submit_run(config: ModelConfig, name: str | None = None) -> RunRecord:
    """Queue a run and start it straight away if nothing else is training."""
    run = registry.create_run(config, name)
    tick()
    return registry.reload(run)


def _tick_forever() -> None:
    while not _stop_ticking.wait(TICK_SECONDS):
        try:
            tick()
        except Exception:
            # A full disk or a damaged folder must not end scheduling for the server's lifetime.
            logger.exception("scheduler tick failed")


def ensure_scheduler_running() -> threading.Thread:
    """Start this process's ticking thread once; later calls return the same thread."""
    global _thread
    with _thread_lock:
        if _thread is None or not _thread.is_alive():
            _stop_ticking.clear()
            _thread = threading.Thread(target=_tick_forever, name="mnist-scheduler", daemon=True)
            _thread.start()
        return _thread


def stop_scheduler() -> None:
    """Stop the ticking thread (tests; a server simply exits). Running workers carry on."""
    global _thread
    with _thread_lock:
        _stop_ticking.set()
        if _thread is not None:
            _thread.join()
        _thread = None
