"""Streamlit widgets that several pages share (with app_cache, the only core modules that import
Streamlit)."""

from __future__ import annotations

import streamlit as st

from core import compare
from core.registry import RunRecord


def focused_run_picker(runs: list[RunRecord], key: str, label: str = "Run") -> RunRecord:
    """A run picker that opens on the run last chosen on any page, and makes its choice that run."""
    by_id = {run.id: run for run in runs}
    if st.session_state.get("focus_run") in by_id:
        st.session_state[key] = st.session_state.focus_run
    run_id = st.selectbox(
        label, list(by_id), format_func=lambda i: compare.run_label(by_id[i]), key=key,
        # A new choice must become the focus before the rerun, or the line above would undo it.
        on_change=lambda: st.session_state.update(focus_run=st.session_state[key]),
    )
    st.session_state.focus_run = run_id
    return by_id[run_id]
