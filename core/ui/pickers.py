"""Choosing runs: the leaderboard, the runs overlaid on the curves, the run in focus."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from core.runs import compare, reconcile
from core.runs.registry import RunRecord
from core.ui import navigation, session_keys
from core.ui.messages import distinct
from core.ui.session_keys import FOCUS_RUN
from core.ui.url_state import opened_link, share_in_url


def leaderboard(table: pd.DataFrame, key: str) -> None:
    """The compare leaderboard, sortable, with short column titles and the run id hidden."""
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_order=[c for c in table.columns if c != "id"],
        column_config={
            "name": st.column_config.TextColumn(pinned=True),
            "parameters": st.column_config.NumberColumn("params", format="localized"),
            "training time (s)": st.column_config.NumberColumn("time (s)", format="%.1f"),
            "best val accuracy (%)": st.column_config.NumberColumn("best val acc %", format="%.2f"),
            "test accuracy (%)": st.column_config.NumberColumn("test acc %", format="%.2f"),
            "test loss": st.column_config.NumberColumn(format="%.4f"),
        },
        key=key,
    )


def overlay_picker(table: pd.DataFrame, ranked: list[str], labels: dict[str, str]) -> list[str]:
    """Compare's runs to overlay (ids of `ranked`, best first), shared in the URL: a link opened
    chooses them, then the user's choice wins and goes in the URL."""
    key = session_keys.COMPARE_OVERLAY
    link = opened_link(key, {key: [""]})
    chosen = link[key] if link and key in link else st.session_state.get(key)
    st.session_state[key] = compare.overlay_selection(chosen, table, ranked)
    labels = distinct(labels)
    chosen = st.multiselect(
        "Runs to overlay",
        ranked,
        format_func=labels.get,
        key=key,
        placeholder="Choose runs to compare their loss and accuracy",
    )
    share_in_url(key, {key: chosen})
    return chosen


def focused_run_picker(
    runs: list[RunRecord],
    key: str,
    label: str = "Run",
    describe: Callable[[RunRecord], str] = compare.run_label,
) -> RunRecord:
    """A run picker that opens on the run last chosen on any page, and makes its choice that run."""
    by_id = {run.id: run for run in runs}
    labels = distinct({run.id: describe(run) for run in runs})
    if st.session_state.get(FOCUS_RUN) in by_id:
        st.session_state[key] = st.session_state[FOCUS_RUN]
    elif st.session_state.get(key) not in by_id:  # A run deleted meanwhile.
        st.session_state[key] = runs[0].id
    run_id = st.selectbox(
        label,
        list(by_id),
        format_func=labels.get,
        key=key,
        # A new choice must become the focus before the rerun, or the line above would undo it.
        on_change=lambda: st.session_state.update({FOCUS_RUN: st.session_state[key]}),
    )
    st.session_state[FOCUS_RUN] = run_id
    return by_id[run_id]


def runs_with_models_or_stop(missing: str) -> list[RunRecord]:
    """Every run with a saved model, the shipped ones included; with none, `missing` and a link
    to the train page, and the page stops there."""
    runs = compare.comparable_runs(reconcile.reconcile_all(include_shipped=True))
    if not runs:
        st.info(missing, icon=":material/info:")
        navigation.link("train")
        st.stop()
    return runs
