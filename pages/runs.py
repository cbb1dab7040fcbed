"""Training runs, live: progress, curves, stop or cancel, and the worker's log.

Runs train in worker processes, so this page only reads their folders (and marks a run whose
worker died as failed); it polls once a second, and leaving or reloading it never touches a run.
"""

import streamlit as st

from core.networks.training import TRAINING_FIELDS
from core.queue import continuation
from core.runs import access, limits, lineage, reconcile, registry, run_results
from core.ui import app_cache, charts, messages, monitor, navigation, owner, pickers, run_status, session_keys

st.title(":material/monitoring: Training runs")

STATE_ICONS = {
    "queued": ":material/schedule:",
    "running": ":material/directions_run:",
    "stopping": ":material/pause_circle:",
    "stopped": ":material/stop_circle:",
    "finished": ":material/check_circle:",
    "failed": ":material/error:",
    "broken": ":material/broken_image:",
}


def continue_control(run: registry.RunRecord, user: access.Who) -> None:
    """Train an ended run's weights further, as a new run of this user's (the parent is unchanged)."""
    if run.state not in ("finished", "stopped") or continuation.refusal(run):
        return
    epochs_column, button_column = st.columns([1, 3], vertical_alignment="bottom")
    epochs = epochs_column.number_input(
        "More epochs", *TRAINING_FIELDS["epochs"].bounds, value=run.config.epochs, key=f"more_{run.id}"
    )
    refused = limits.refusal(continuation.continued_config(run, int(epochs)), user)
    clicked = button_column.button(
        "Continue training", icon=":material/fast_forward:", key=f"continue_{run.id}", disabled=bool(refused)
    )
    if refused:
        st.caption(f":material/block: {messages.plain(refused)}")
    if clicked:
        with messages.refusals_shown():
            child = continuation.continue_run(run, int(epochs), user)
            st.session_state[session_keys.FOCUS_RUN] = child.id
            st.rerun()  # The picker above shows the new run.


def show_run(run: registry.RunRecord) -> None:
    header, action = st.columns([5, 1], vertical_alignment="bottom")
    header.markdown(
        f"### {STATE_ICONS.get(run.state, '')} {messages.plain(run.name)}\n"
        f"{messages.plain(run.description)} · "
        f"**{run.state}** · {run.status.get('device') or 'device not known yet'}"
    )
    if run.is_active:
        with action:
            run_status.stop_button(run, f"stop_{run.id}", rerun_scope="fragment")
    if run.broken:
        st.error(f"This run folder cannot be read: {messages.plain(run.broken)}")
        return
    if run.status.get("error"):
        st.error(messages.plain(run.status["error"]), icon=":material/error:")
    run_status.run_whereabouts(run)
    if run.status.get("test_accuracy") is not None:
        accuracy, loss = st.columns(2)
        accuracy.metric("Test accuracy", f"{100 * run.status['test_accuracy']:.2f}%")
        loss.metric("Test loss", f"{run.status['test_loss']:.4f}")
    metrics = lineage.history(run, read=app_cache.run_metrics)  # After its parent's, if continued.
    if metrics:
        curves = charts.training_curves(
            {messages.figure_text(run.name): metrics}, continued_at=lineage.start_epoch(run)
        )
        st.plotly_chart(curves, key=f"curves_{run.id}")
    continue_control(run, owner.who())
    with st.expander("Worker log"):
        log, hidden = monitor.user_log(run_results.read_log(run))
        st.code(log or "(empty)", language=None)
        if hidden:
            st.caption(
                f"{hidden} lines of TensorFlow's own start-up messages are left out here; "
                "the run folder's worker.log has every line."
            )


@st.fragment(run_every=1.0)
def live_runs() -> None:
    runs = reconcile.reconcile_all()
    if not runs:
        st.info("No runs yet. Design a network and start one.", icon=":material/info:")
        navigation.link("train")
        return
    st.dataframe(monitor.runs_table(runs), hide_index=True, width="stretch")
    # The picker names runs only: a state in its labels went stale when a run finished, and the
    # table above and the run's heading below say it.
    show_run(pickers.focused_run_picker(runs, key="runs_run"))


live_runs()
