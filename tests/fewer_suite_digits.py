"""Robustness suites of fewer digits, for tests whose point is the job that scores them (queued,
run in a job process, stored, read back, stale when the LiteRT model changes), not the scores.

Rendering and preprocessing the suites' pictures is most of a robustness job's time (300 digits
for clean MNIST and each of nine suites: 3,000 pictures, 20 to 40 s on 2 busy cores). The full
suites are scored in tests/unit/test_robustness.py (the shipped model's gate).
"""

from __future__ import annotations

import functools
import sys

import pytest

from core.data import robustness
from core.queue import jobs

# What `python -m core.jobs <kind> <target>` runs, after the same change: the real job main.
_JOB = """
import functools, sys
from core.data import robustness
robustness.DIGITS_PER_SUITE = int(sys.argv.pop(1))
robustness.scores = functools.partial(robustness.scores, count=robustness.DIGITS_PER_SUITE)
from core.jobs.runner import main
sys.exit(main())
"""


def score_suites_on(patch: pytest.MonkeyPatch, count: int) -> None:
    """Suites of `count` digits in this process and in every job process the scheduler starts
    while `patch` holds: scores, the stored count and the scoring stamp (so the scores stored by a
    job read as up to date here, and the full suites' scores would not)."""
    patch.setattr(robustness, "DIGITS_PER_SUITE", count)
    patch.setattr(robustness, "scores", functools.partial(robustness.scores, count=count))
    stamp = robustness.method_stamp.__wrapped__()  # Uncached: of `count` digits.
    patch.setattr(robustness, "method_stamp", lambda: stamp)
    command = [sys.executable, "-c", _JOB, str(count)]
    patch.setattr(jobs, "command", lambda kind, target: [*command, kind, target])
