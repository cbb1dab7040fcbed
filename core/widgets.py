"""Streamlit widgets that several pages share (with app_cache, the only core modules that import
Streamlit)."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from core import app_cache, compare, model_jobs, registry
from core.inference import Classifier, ModelLoadError
from core.registry import RunRecord
from core.session_keys import FOCUS_RUN


def focused_run_picker(
    runs: list[RunRecord],
    key: str,
    label: str = "Run",
    describe: Callable[[RunRecord], str] = compare.run_label,
) -> RunRecord:
    """A run picker that opens on the run last chosen on any page, and makes its choice that run."""
    by_id = {run.id: run for run in runs}
    if st.session_state.get(FOCUS_RUN) in by_id:
        st.session_state[key] = st.session_state[FOCUS_RUN]
    elif st.session_state.get(key) not in by_id:  # A run deleted meanwhile.
        st.session_state[key] = runs[0].id
    run_id = st.selectbox(
        label,
        list(by_id),
        format_func=lambda i: describe(by_id[i]),
        key=key,
        # A new choice must become the focus before the rerun, or the line above would undo it.
        on_change=lambda: st.session_state.update({FOCUS_RUN: st.session_state[key]}),
    )
    st.session_state[FOCUS_RUN] = run_id
    return by_id[run_id]


@st.fragment(run_every=1.0)
def _wait_for_lite(run: RunRecord, note: str) -> None:
    """Polls the conversion job, then reruns the page once the model is ready (or failed)."""
    if model_jobs.lite_state(registry.reload(run)) != model_jobs.RUNNING:
        st.rerun()
    st.info(
        f"{run.name}: {model_jobs.waiting_message('convert', run)}{note}", icon=":material/hourglass_top:"
    )


def prepared_classifier(run: RunRecord, note: str = "") -> Classifier | None:
    """The run's LiteRT model, asking a background job to prepare it if needed; None, with a
    message ending in `note`, while it is prepared or if it cannot be used."""
    run = registry.reload(run)
    state = model_jobs.request_lite(run)
    if state == model_jobs.RUNNING:
        _wait_for_lite(run, note)
        return None
    try:
        if state == model_jobs.FAILED:
            raise ModelLoadError(f"{run.name} cannot be used: {model_jobs.failure('convert', run)}.")
        return app_cache.classifier(run)
    except ModelLoadError as error:
        st.error(f"{error}{note}", icon=":material/error:")
        return None
