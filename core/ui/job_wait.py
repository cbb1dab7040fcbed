"""The one wait for work on a run's saved model: while its job (or the one it needs first) is
queued or running, a fragment says so and polls; once that ends, the page runs again and draws
what came of it (the output, or why there is none).

It reads states through core.queue.model_states, not model_jobs: the scheduler's imports would
make the chain from a page through core.ui.answering too long.
"""

from __future__ import annotations

import streamlit as st

from core.queue import model_states
from core.runs import registry
from core.runs.registry import RunRecord
from core.ui.messages import plain


def wait_for(kind: str, run: RunRecord, note: str = "", every: float = 2.0) -> None:
    """Polls `kind`'s state on the run every `every` seconds, saying what its job is doing (then
    `note`), and reruns the page once it is no longer running."""
    st.fragment(_poll, run_every=every)(kind, run, note)


def _poll(kind: str, run: RunRecord, note: str) -> None:
    current = registry.reload(run)
    if model_states.state(kind, current) != model_states.RUNNING:
        st.rerun()
    st.info(
        f"{plain(run.name)}: {model_states.waiting_message(kind, current)}{note}",
        icon=":material/hourglass_top:",
    )
