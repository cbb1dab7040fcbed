"""A run while it trains: where it is in the queue, its live progress, its stop button."""

from __future__ import annotations

import streamlit as st

from core.queue import imports as importer
from core.queue import jobs
from core.runs import reconcile, registry
from core.runs.registry import RunRecord
from core.ui import app_cache, charts, monitor, navigation
from core.ui.messages import figure_text, plain, refusals_shown
from core.ui.owner import who


def import_report(report: dict) -> None:
    """What an import job found: the model, how it was wrapped to obey the model contract, any
    doubts, and where to use it."""
    st.success(
        f"Imported {plain(report['name'])}: {plain(importer.summary(report))}", icon=":material/check_circle:"
    )
    for note in report["wrapped_with"]:
        st.caption(f"Wrapped with {plain(note)}.")
    for warning in report["warnings"]:
        st.warning(plain(warning), icon=":material/warning:")
    navigation.link("predict", "Try it on the predict page")
    navigation.link("compare", "See it in the leaderboard")


def run_whereabouts(run: RunRecord) -> None:
    """Where a waiting or training run is: its progress, or what its place in the queue waits for."""
    if run.is_live:
        st.progress(*monitor.progress(run))
    elif run.state == "queued":
        st.info(jobs.waiting_message(jobs.read("train", run.id)) or "Queued.", icon=":material/schedule:")


def stop_button(run: RunRecord, key: str, rerun_scope: str = "app") -> None:
    """Stop (Cancel while it waits) for whoever may change the run, a word for anyone else; after a
    stop, a rerun of `rerun_scope`."""
    user = who()
    if not user.may_change(run):
        st.caption(":material/lock: Started in another session: only it or the owner can stop it.")
        return
    label = "Cancel" if run.state == "queued" else "Stop"
    if st.button(label, icon=":material/stop:", key=key, disabled=run.stop_requested):
        with refusals_shown():
            user.check_may_change(run)
            registry.request_stop(run)
            st.rerun(scope=rerun_scope)


def _run_now(run: RunRecord, key: str) -> None:
    """Where the run is, Stop while it can stop, and its curves so far."""
    where, stop = st.columns([5, 1], vertical_alignment="bottom")
    with where:
        if run.is_active:
            run_whereabouts(run)
        else:
            tested = run.status.get("test_accuracy")
            st.markdown(
                f"**{plain(run.name)}**: {run.state}"
                + (f", {100 * tested:.2f}% test accuracy" if tested is not None else "")
            )
    if run.is_active:
        with stop:
            stop_button(run, f"{key}_stop")  # Reruns the page: whether another run may start has changed.
    metrics = app_cache.run_metrics(run)
    if metrics:
        curves = charts.stage_sized(charts.training_curves({figure_text(run.name): metrics}))
        st.plotly_chart(curves, config={"displayModeBar": False}, key=f"{key}_curves")


@st.fragment(run_every=1.0)
def _polled_run(run_id: str, key: str) -> None:
    """Polls the run while it waits or trains; once it ends, the page draws it once more, still."""
    run = registry.find_run(run_id)
    run = run and reconcile.reconcile(run)  # A worker that died ends the polling too.
    if run is None or not run.is_active:
        st.rerun()
    _run_now(run, key)


def live_run(run: RunRecord, key: str) -> None:
    """A run trained live on the present page: where it is (polled once a second while it waits
    or trains), Stop for whoever may change it, and its loss and accuracy curves so far, in
    stage-sized type."""
    if run.is_active:
        _polled_run(run.id, key)
    else:
        _run_now(run, key)
