"""Asking for work on a run's saved model (its test evaluation, its LiteRT copy, its robustness
scores), declared in core.queue.model_states.

Pages never do that work in a script run: they ask with `request(kind, run)`, which queues one job
per kind and run through the scheduler (merged with any earlier request) and reads back the state.
The job bodies run in a job process (core.jobs.model_bodies).
"""

from __future__ import annotations

from core.queue import model_states, scheduler
from core.runs.registry import RunRecord


def request(kind: str, run: RunRecord) -> str:
    """Queue what `kind` still needs on this run, the job it needs first before its own (e.g.
    the LiteRT conversion before the robustness suites); the kind's state afterwards."""
    needs = model_states.ON_A_RUN[kind].needs
    if needs is not None and model_states.state(needs, run) == model_states.NEEDED:
        request(needs, run)
    elif model_states.state(kind, run) == model_states.NEEDED:
        scheduler.request(kind, run.id, model_states.job_stamp(kind, run))
    return model_states.state(kind, run)
