"""The process of one background job: `python -m core.jobs <kind> <target>`.

The scheduler starts it for a queued job (core.queue.jobs). It runs the kind's body, the function named
in `jobs.KINDS`, with the target, and records the outcome in the job's file: the body's result
when it returns, or its error when it raises. A `jobs.JobRefused` or a `ModelLoadError` carries
a message meant for the user, and so does a full disk or running out of the process's memory
allowance; any other exception is reported by type and first line (its traceback goes to the
log). TensorFlow is imported by the bodies that need it, only here.

Each job process caps its own memory (`limit_memory`) so that a hostile or oversized model fails
its job instead of taking the machine down. The cap is on RLIMIT_DATA (private writable memory:
the heap and anonymous maps), not on RLIMIT_AS: TensorFlow reserves ~3 GB of address space it
never touches, and CUDA far more. Measured (BENCHMARKS.md, "Hostile input"): evaluating or
converting the fast CNN peaks at ~620 MB of data, training it at 724 MB (3.0 GB of address
space). A kind with a resident-memory cap (the import's) is also watched by `jobs.watch_resident_memory`.
"""

from __future__ import annotations

import importlib
import logging
import os
import resource
import sys
from collections.abc import Callable
from typing import Any

from core.queue import jobs
from core.runs.atomic_files import DiskFullError, is_disk_full
from core.serving.inference import ModelLoadError, _first_line

logger = logging.getLogger(__name__)

# A job's memory cap in MB, `$MNIST_JOB_MEMORY_MB` to change it (0: no cap).
DEFAULT_MEMORY_MB = 4096


def memory_limit_mb() -> int:
    try:
        return max(0, int(os.environ.get("MNIST_JOB_MEMORY_MB", DEFAULT_MEMORY_MB)))
    except ValueError:
        return DEFAULT_MEMORY_MB


def limit_memory() -> None:
    """Cap this process's data memory, so a model too large for the server fails with MemoryError."""
    megabytes = memory_limit_mb()
    if megabytes:
        limit = megabytes * 1024 * 1024
        _, hard = resource.getrlimit(resource.RLIMIT_DATA)
        resource.setrlimit(
            resource.RLIMIT_DATA, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard)
        )


def body(kind: str) -> Callable[[str], dict[str, Any] | None]:
    module, _, function = jobs.KINDS[kind].body.partition(":")
    return getattr(importlib.import_module(module), function)


def describe_error(error: BaseException) -> str:
    """One line for the pages: the message of an error meant for users, else the type and first
    line."""
    text = str(error).strip()
    if isinstance(error, (jobs.JobRefused, ModelLoadError, DiskFullError)):
        return text
    if is_disk_full(error):
        return str(DiskFullError("the job's results"))
    if isinstance(error, MemoryError):
        return (
            f"The job ran out of memory: it may use at most {memory_limit_mb():,} MB on this server, "
            "and this model needs more."
        )
    return f"{type(error).__name__}: {_first_line(error)}"


def run_job(kind: str, target: str) -> int:
    """Run the job in this process and record its outcome; the process's exit status."""
    try:
        result = body(kind)(target)
    except Exception as error:
        logger.exception("%s job for %s failed", kind, target)
        jobs.fail(kind, target, describe_error(error))
        return 1
    jobs.finish(kind, target, result)
    logger.info("%s job for %s done", kind, target)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] not in jobs.KINDS:
        print(f"usage: python -m core.jobs {{{','.join(jobs.KINDS)}}} <target>", file=sys.stderr)
        return 2
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    limit_memory()
    jobs.watch_resident_memory(*args)
    return run_job(*args)
