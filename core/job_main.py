"""The process of one background job: `python -m core.job_main <kind> <target>`.

The scheduler starts it for a queued job (core.jobs). It runs the kind's body, the function named
in `jobs.KINDS`, with the target, and records the outcome in the job's file: the body's result
when it returns, or its error when it raises. A `jobs.JobRefused` or a `ModelLoadError` carries
a message meant for the user; any other exception is reported by type and first line (its
traceback goes to the log). TensorFlow is imported by the bodies that need it, only here.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Callable
from typing import Any

from core import jobs
from core.inference import ModelLoadError

logger = logging.getLogger(__name__)


def body(kind: str) -> Callable[[str], dict[str, Any] | None]:
    module, _, function = jobs.KINDS[kind].body.partition(":")
    return getattr(importlib.import_module(module), function)


def describe_error(error: BaseException) -> str:
    """One line for the pages: the message of an error meant for users, else the type and first
    line."""
    text = str(error).strip()
    if isinstance(error, (jobs.JobRefused, ModelLoadError)):
        return text
    first = text.splitlines()[0] if text else "no details"
    return f"{type(error).__name__}: {first[:300]}"


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
        print(f"usage: python -m core.job_main {{{','.join(jobs.KINDS)}}} <target>", file=sys.stderr)
        return 2
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    return run_job(*args)


if __name__ == "__main__":
    sys.exit(main())
