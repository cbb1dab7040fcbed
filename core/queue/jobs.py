"""One queue for all TensorFlow work: training, evaluation, conversion to LiteRT, model import.

The Streamlit server never imports TensorFlow. It asks for work by writing a job file,
`<runs>/.jobs/<kind>--<target>.json`, and the scheduler (core.queue.scheduler) starts a job process,
`python -m core.jobs <kind> <target>`, for the oldest queued job while fewer than
`max_concurrent_jobs()` run. One file per kind and target is what merges requests: asking twice
for the evaluation of one run finds the first request and adds nothing.

A job file's `state`:
  queued   waiting for a free slot
  running  a process holds it (`pid`, `pid_start` say which)
  done     finished; `result` holds what the job reported
  failed   `error` says why; a failed job is not retried for the same `stamp` (the same model
           file), so a page that asks on every view starts it at most once
A job whose process vanished (killed, out of memory) is started again while its kind allows
(`retries`), then marked failed, with the kills counted in `killed`. A kind with a resident-memory
cap (`resident_mb`) is watched from inside its process (`watch_resident_memory`): past the cap
the job records its own failure, so it is never started again, and exits.

Nothing here imports TensorFlow.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.runs import atomic_files, layout, processes

JOBS_FOLDER = ".jobs"
LOCK_FILE = ".scheduler.lock"
LOG_FILE = "jobs.log"
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
PENDING_STATES = (QUEUED, RUNNING)
# Seconds a TensorFlow job may go without a recorded pid before it counts as dead: spawning takes
# milliseconds, so this only matters after a crash between claim and spawn.
CLAIM_GRACE_SECONDS = processes.CLAIM_GRACE_SECONDS
# Job processes yield the CPU to the server, so drawing on the predict page stays snappy.
JOB_NICENESS = 10
TARGET_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")
IMPORT_RESIDENT_MB = 700
# How often a watched job reads its resident memory: a runaway allocation overshoots the cap by
# at most what it allocates in this time.
RESIDENT_POLL_SECONDS = 0.02
MEMORY_REFUSED_EXIT = 3


class JobRefused(RuntimeError):
    """Work that cannot be done for a reason the user should read, e.g. a model that is unsafe."""


@dataclass(frozen=True)
class JobKind:
    """How the queue treats one kind of job; its body runs in `python -m core.jobs` (core.jobs.runner)."""

    body: str  # "module:function" run by core.jobs.runner with the target; imported only there.
    doing: str  # What a page says while the job runs, e.g. "evaluating on the test digits".
    retries: int  # How often a killed job is started again.
    urgent: bool  # Short jobs a person waits for start before queued training runs.
    # The target is an existing run (forgotten when the run is deleted), not a job that makes one.
    on_a_run: bool = True
    trains: bool = False  # It trains models: it never runs beside another training.
    # Resident memory (MB) past which the job refuses to go on; 0 for none. `$MNIST_<KIND>_RESIDENT_MB`
    # changes it (e.g. MNIST_IMPORT_RESIDENT_MB).
    resident_mb: int = 0


KINDS = {
    "train": JobKind("core.jobs.worker:train_job", "training", retries=0, urgent=False, trains=True),
    "evaluate": JobKind(
        "core.jobs.model_bodies:evaluate_job", "evaluating on the 10,000 test digits", retries=1, urgent=True
    ),
    "convert": JobKind(
        "core.jobs.model_bodies:convert_job",
        "preparing the model for fast predictions",
        retries=1,
        urgent=True,
    ),
    "robustness": JobKind(
        "core.jobs.model_bodies:robustness_job", "scoring on the robustness suites", retries=1, urgent=True
    ),
    "ensemble": JobKind(
        "core.jobs.ensemble_body:ensemble_job",
        "building and evaluating the ensemble",
        retries=1,
        urgent=True,
        on_a_run=False,
    ),
    "import": JobKind(
        "core.jobs.import_body:import_job",
        "checking and converting the uploaded model",
        retries=1,
        urgent=True,
        on_a_run=False,
        # A normal import's own memory (`resident_bytes`: TensorFlow's libraries aside) is 260 MB
        # once TensorFlow is imported and about 350-450 MB at its peak; past 700 MB it is refused
        # before a 1 GB machine runs out. The archive checks keep hostile files far below.
        resident_mb=IMPORT_RESIDENT_MB,
    ),
    # The target is a study's name; each trial is a run the job trains itself.
    "search": JobKind(
        "core.jobs.search_command:search_job",
        "training the search's trials",
        retries=0,
        urgent=False,
        on_a_run=False,
        trains=True,
    ),
}


def resident_limit_mb(kind: str) -> int:
    """The kind's resident-memory cap in MB (0: none), `$MNIST_<KIND>_RESIDENT_MB` if set."""
    try:
        return max(0, int(os.environ.get(f"MNIST_{kind.upper()}_RESIDENT_MB", KINDS[kind].resident_mb)))
    except ValueError:
        return KINDS[kind].resident_mb


def resident_bytes() -> int:
    """This process's own resident memory (anonymous and shared-memory pages), from /proc; 0
    where there is none.

    Not VmRSS: that counts the pages of TensorFlow's libraries too, which the page cache holds
    once for every process that maps them and which the kernel can drop at will. Whether another
    TensorFlow process was running (a training, a test) moved a normal import's VmRSS from about
    680 to over 900 MB; what it allocates itself (a zip bomb's output included) is counted here.
    """
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return 0
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    try:
        return sum(int(fields[name].split()[0]) * 1024 for name in ("RssAnon", "RssShmem"))
    except (KeyError, IndexError, ValueError):
        return 0


def watch_resident_memory(kind: str, target: str) -> threading.Thread | None:
    """In a job process: a thread that fails the job and ends the process once its resident memory
    passes the kind's cap; None if the kind has none.

    Not RLIMIT_AS (TensorFlow reserves ~3 GB of address space it never touches) and not the
    kernel's out-of-memory killer (a killed job looks like a crash and is started again): the job
    says why it stopped, and a job failed for memory is not retried.
    """
    limit_mb = resident_limit_mb(kind)
    if not limit_mb:
        return None

    def watch() -> None:
        while resident_bytes() <= limit_mb * 1024 * 1024:
            time.sleep(RESIDENT_POLL_SECONDS)
        fail(
            kind,
            target,
            f"The job needed more than {limit_mb:,} MB of memory, the most this server allows it, "
            "so it was stopped.",
        )
        os._exit(MEMORY_REFUSED_EXIT)

    thread = threading.Thread(target=watch, name=f"{kind}-memory-watch", daemon=True)
    thread.start()
    return thread


def max_concurrent_jobs() -> int:
    """How many TensorFlow jobs may run at once: `$MNIST_MAX_JOBS`, default 1.

    Each job process holds its own TensorFlow (~600 MB), so one at a time is what a 1 GB
    deployment affords; training never runs twice at once whatever this says.
    """
    try:
        return max(1, int(os.environ.get("MNIST_MAX_JOBS", "1")))
    except ValueError:
        return 1


def jobs_dir() -> Path:
    path = layout.runs_dir() / JOBS_FOLDER
    path.mkdir(exist_ok=True)
    return path


def job_path(kind: str, target: str) -> Path:
    if kind not in KINDS:
        raise ValueError(f"unknown job kind {kind!r}")
    if not TARGET_PATTERN.match(target):
        raise ValueError(f"invalid job target {target!r}")
    return jobs_dir() / f"{kind}--{target}.json"


@contextmanager
def queue_lock() -> Iterator[None]:
    """The one lock under which jobs are requested, started and reaped, across processes.

    Separate opens conflict even between threads of one process, so every Streamlit session,
    the scheduler thread and the job processes serialise on it.
    """
    with open(layout.runs_dir() / LOCK_FILE, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def read(kind: str, target: str) -> dict[str, Any] | None:
    """The job's record, or None if nobody asked for it (or its file is damaged)."""
    try:
        data = atomic_files.read_json(job_path(kind, target))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("state") in (QUEUED, RUNNING, DONE, FAILED) else None


def _write(job: dict[str, Any]) -> dict[str, Any]:
    what = f"the request for {KINDS[job['kind']].doing}"
    atomic_files.write_json(job_path(job["kind"], job["target"]), job, what=what)
    return job


def request(kind: str, target: str, stamp: Any = None, payload: dict | None = None) -> dict[str, Any]:
    """Queue `kind` for `target` unless it is already queued or running, or already ended for
    this `stamp` (a done or failed job is only redone for a new stamp, e.g. a re-saved model).

    Returns the job's record, new or existing.
    """
    with queue_lock():
        job = read(kind, target)
        if job is not None and (job["state"] in PENDING_STATES or job.get("stamp") == stamp):
            return job
        return _write(
            {
                "kind": kind,
                "target": target,
                "state": QUEUED,
                "stamp": stamp,
                "payload": payload or {},
                "created": layout.now_iso(),
                "attempts": 0,
                "killed": 0,
                "pid": None,
                "pid_start": None,
                "started": None,
                "ended": None,
                "error": None,
                "result": None,
            }
        )


def all_jobs() -> list[dict[str, Any]]:
    """Every readable job record, oldest first."""
    jobs = []
    for path in jobs_dir().glob("*--*.json"):
        kind, _, target = path.stem.partition("--")
        job = read(kind, target) if kind in KINDS and TARGET_PATTERN.match(target) else None
        if job is not None:
            jobs.append(job)
    return sorted(jobs, key=lambda job: (job.get("created") or "", job["kind"], job["target"]))


def is_alive(job: dict[str, Any]) -> bool:
    """Whether the process holding a running job still exists (a fresh claim counts as alive)."""
    if job.get("pid") is None:
        return processes.age_seconds(job.get("started")) < CLAIM_GRACE_SECONDS
    return processes.process_is_alive(int(job["pid"]), job.get("pid_start"))


def end(job: dict[str, Any], state: str, **fields: Any) -> dict[str, Any]:
    """Record a job as done or failed. Call under the lock (`finish` and `fail` take it)."""
    return _write({**job, "state": state, "ended": layout.now_iso(), **fields})


def reap_dead(current: list[dict[str, Any]]) -> None:
    """Requeue or fail the running jobs of `current` whose process is gone. Call under the lock."""
    for job in current:
        if job["state"] != RUNNING or is_alive(job):
            continue
        killed = job.get("killed", 0) + 1
        if job["attempts"] <= KINDS[job["kind"]].retries:
            _write({**job, "state": QUEUED, "killed": killed, "pid": None, "pid_start": None})
        else:
            times = "once" if killed == 1 else f"{killed} times"
            end(job, FAILED, killed=killed, error=f"the job process was killed {times} (out of memory?)")


def running_jobs(current: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The running jobs among `current` (read from disk if not given)."""
    return [job for job in (all_jobs() if current is None else current) if job["state"] == RUNNING]


def next_queued(current: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Queued jobs in the order they should start: urgent kinds first, then oldest first."""
    queued = [job for job in (all_jobs() if current is None else current) if job["state"] == QUEUED]
    return sorted(queued, key=lambda job: not KINDS[job["kind"]].urgent)  # Stable: oldest first.


def command(kind: str, target: str) -> list[str]:
    return [sys.executable, "-m", "core.jobs", kind, target]


def _lower_priority() -> None:
    os.nice(JOB_NICENESS)


def spawn(job: dict[str, Any], log_path: Path) -> subprocess.Popen:
    """Start the job's process and record it as running. Call under the lock."""
    env = {"TF_CPP_MIN_LOG_LEVEL": "2", **os.environ}
    with open(log_path, "ab") as log:
        child = subprocess.Popen(
            command(job["kind"], job["target"]),
            cwd=layout.PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_lower_priority,
            # Its own session: a Ctrl-C or a signal to the server's process group leaves it be.
            start_new_session=True,
        )
    _write(
        {
            **job,
            "state": RUNNING,
            "attempts": job["attempts"] + 1,
            "started": layout.now_iso(),
            **processes.process_identity(child.pid),
        }
    )
    return child


def log_path() -> Path:
    return jobs_dir() / LOG_FILE


def finish(kind: str, target: str, result: dict[str, Any] | None) -> None:
    """Called by the job process when its work is done. A result of None means the outcome
    lives elsewhere (a training run's status), so the record is dropped."""
    with queue_lock():
        job = read(kind, target)
        if job is None:
            return
        if result is None:
            job_path(kind, target).unlink(missing_ok=True)
        else:
            end(job, DONE, result=result, error=None)


def fail(kind: str, target: str, error: str) -> None:
    """Called by the job process when its work cannot be done; not retried for the same stamp.

    On a full disk the record is rewritten in place (compact, so it fits the blocks the file
    already has): a job process that could not record its failure would look killed, and be
    started again and again.
    """
    with queue_lock():
        job = read(kind, target)
        if job is None:
            return
        try:
            end(job, FAILED, error=error)
        except atomic_files.DiskFullError:
            record = {**job, "state": FAILED, "ended": layout.now_iso(), "error": error}
            atomic_files.overwrite_in_place(job_path(kind, target), json.dumps(record).encode())


def cancel(kind: str, target: str) -> None:
    """Drop a queued job (its target vanished or no longer needs it). Call under the lock."""
    job = read(kind, target)
    if job is not None and job["state"] == QUEUED:
        job_path(kind, target).unlink(missing_ok=True)


def waiting_message(job: dict[str, Any] | None) -> str:
    """What a page says about a pending job: running, or waiting for which kind of work."""
    if job is None:
        return ""
    doing = KINDS[job["kind"]].doing
    if job["state"] == RUNNING:
        again = " (started again after its process was killed)" if job.get("killed") else ""
        return f"A background job is {doing}{again}..."
    busy = sorted({KINDS[other["kind"]].doing for other in running_jobs()})
    if not busy:
        return f"Queued for {doing}; it starts in a moment."
    return f"Queued for {doing}, after the background job that is {' and '.join(busy)}."
