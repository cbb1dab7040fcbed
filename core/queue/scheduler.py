"""Start queued jobs (core.queue.jobs), each in its own process, never more than the bound allows.

Every Streamlit session, and every server process, may tick at once, so each decision ("a slot
is free, so start the next job") is made under the queue's exclusive `flock`: a job can never
start twice. Each tick first marks runs whose worker died as failed and requeues (or fails)
jobs whose process vanished, so a killed process never stalls the queue. Runs trained from the
command line are never queued, but hold a slot and count as training, so the queue waits for
them too. At most one training runs at a time, whatever the bound.
"""

from __future__ import annotations

import logging
import subprocess
import threading

from core.networks.config import ModelConfig
from core.queue import jobs
from core.runs import access, layout, limits, processes, reconcile, registry
from core.runs.registry import RunRecord

logger = logging.getLogger(__name__)

TICK_SECONDS = 0.5

# Job processes this process started, kept so their exit status is collected: an unreaped
# child stays a zombie, and would look alive to anything but /proc.
_children: dict[int, subprocess.Popen] = {}
_children_lock = threading.Lock()

# Serialises this server's submissions, so two visitors' checks never both take the last place.
_submit_lock = threading.Lock()

_thread: threading.Thread | None = None
_thread_lock = threading.Lock()
_stop_ticking = threading.Event()


def reap_children() -> None:
    """Collect the exit status of finished job processes."""
    with _children_lock:
        for pid, child in list(_children.items()):
            if child.poll() is not None:
                del _children[pid]


def _remember(child: subprocess.Popen) -> None:
    with _children_lock:
        _children[child.pid] = child


def _start_training(job: dict, run: RunRecord | None) -> RunRecord | None:
    """Claim the job's queued run and spawn its worker; None if it was cancelled or deleted."""
    now = layout.now_iso()
    claim = {"state": "running", "launcher": "scheduler", "phase": "starting", "claimed": now}
    if run is None or run.broken or registry.update_status(run, claim, only_if=("queued",)) is None:
        jobs.cancel("train", job["target"])
        return None
    try:
        child = jobs.spawn(job, run.path / layout.LOG_FILE)
    except OSError as error:
        jobs.cancel("train", job["target"])
        failed = {"state": "failed", "error": f"could not start the worker: {error}", "ended": now}
        registry.update_status(run, failed)
        return registry.reload(run)
    _remember(child)
    registry.update_status(run, processes.process_identity(child.pid))
    logger.info("started run %s (worker pid %d)", run.id, child.pid)
    return registry.reload(run)


def _start_job(job: dict) -> None:
    try:
        _remember(jobs.spawn(job, jobs.log_path()))
    except OSError as error:
        jobs.end(job, jobs.FAILED, error=f"could not start the job: {error}")


def _without_orphans(current: list[dict], runs_by_id: dict[str, RunRecord]) -> list[dict]:
    """Forget ended or queued jobs of runs that were deleted meanwhile; the jobs that remain."""
    remaining = []
    for job in current:
        orphan = jobs.KINDS[job["kind"]].on_a_run and job["target"] not in runs_by_id
        if orphan and job["state"] != jobs.RUNNING:
            jobs.job_path(job["kind"], job["target"]).unlink(missing_ok=True)
        else:
            remaining.append(job)
    return remaining


def tick() -> RunRecord | None:
    """One scheduling step; returns the training run it started, if any."""
    reap_children()
    if not any(job["state"] in jobs.PENDING_STATES for job in jobs.all_jobs()):
        return None  # Nothing to start or to reap: an idle server reads no run folder.
    with jobs.queue_lock():
        runs = {run.id: run for run in reconcile.reconcile_all()}
        jobs.reap_dead(jobs.all_jobs())
        current = _without_orphans(jobs.all_jobs(), runs)  # Read again: reaping requeues jobs.
        running = jobs.running_jobs(current)
        outside_queue = [run for run in runs.values() if run.is_live and run.status.get("launcher") == "cli"]
        free = jobs.max_concurrent_jobs() - len(running) - len(outside_queue)
        training = outside_queue or any(jobs.KINDS[job["kind"]].trains for job in running)
        started_run = None
        for job in jobs.next_queued(current):
            if free <= 0:
                break
            if not jobs.KINDS[job["kind"]].trains:
                _start_job(job)
                free -= 1
            elif not training and job["kind"] == "train":
                started_run = _start_training(job, runs.get(job["target"]))
                training = started_run is not None
                free -= training
            elif not training:  # A search, whose job creates and trains its runs.
                _start_job(job)
                training = True
                free -= 1
    return started_run


def submit_run(
    config: ModelConfig,
    name: str | None = None,
    *,
    who: access.Who = access.OWNER,
    meta_changes: dict | None = None,
) -> RunRecord:
    """Queue a run and start it straight away if a slot is free.

    A visitor's run must be within the visitor limits (limits.Refused says which is not), is
    marked as theirs, and makes their oldest runs past the kept number go. `meta_changes` go into
    its meta.json (a continued run's parent, say).
    """
    with _submit_lock:
        refused = limits.refusal(config, who)
        if refused:
            raise limits.Refused(refused)
        run = registry.create_run(config, name, meta_changes={**(meta_changes or {}), **who.run_meta()})
        jobs.request("train", run.id)
    limits.prune_visitor_runs(who)
    tick()
    return registry.reload(run)


def request(kind: str, target: str, stamp=None, payload: dict | None = None) -> dict:
    """Ask for a job and start it at once if a slot is free; the job's record."""
    job = jobs.request(kind, target, stamp, payload)
    if job["state"] == jobs.QUEUED:
        tick()
        job = jobs.read(kind, target) or job
    return job


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
    """Stop the ticking thread (tests; a server simply exits). Running jobs carry on."""
    global _thread
    with _thread_lock:
        _stop_ticking.set()
        if _thread is not None:
            _thread.join()
        _thread = None
