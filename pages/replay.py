"""Replay a finished run's recorded training on stage, at a speed that fits a talk."""

import streamlit as st

from core.runs import compare, reconcile
from core.ui import app_cache, charts, messages, navigation, replay

st.title(":material/replay: Replay a run")
st.markdown(
    "Real training rarely fits a talk. Pick one or two finished runs and replay the loss and "
    "accuracy they recorded, epoch by epoch, at the speed you choose; then press **Play**."
)
runs = [
    run
    for run in compare.comparable_runs(reconcile.reconcile_all(include_shipped=True))
    if replay.epochs_recorded(app_cache.run_metrics(run))
]
if not runs:
    st.info("No finished run has recorded curves yet. Train one first.", icon=":material/info:")
    navigation.link("train")
    st.stop()
labels = messages.distinct({run.id: compare.run_label(run) for run in runs})
by_id = {run.id: run for run in runs}
picked_column, speed_column = st.columns([2, 1], gap="large")
with picked_column:
    picked = st.multiselect(
        "Runs (one or two)",
        list(labels),
        default=list(labels)[:1],
        format_func=labels.get,
        max_selections=2,
        key="replay_runs",
    )
with speed_column:
    seconds = st.slider("Replay length (seconds)", 5, 60, 15, key="replay_seconds")
if not picked:
    st.info("Pick a run to replay.", icon=":material/touch_app:")
    st.stop()

curves = [
    curve
    for run_id in picked
    for curve in replay.series(messages.figure_text(by_id[run_id].name), app_cache.run_metrics(by_id[run_id]))
]
last_epoch = max(float(curve.epochs.max()) for curve in curves)
cutoffs = replay.frame_cutoffs(last_epoch, seconds)
st.plotly_chart(
    charts.replay_curves(curves, cutoffs, seconds), config={"displayModeBar": False}, key="replay_chart"
)
recorded = {run_id: replay.epochs_recorded(app_cache.run_metrics(by_id[run_id])) for run_id in picked}
epochs = ", ".join(
    f"{messages.plain(by_id[run_id].name)}: {count} epochs" for run_id, count in recorded.items()
)
st.caption(f"{epochs}, replayed in {seconds} s. Press Play again to replay from the start.")
st.markdown("Live training stays possible for a short preset: the fast CNN trains in about a minute.")
navigation.link("train", label="Design and train: pick the fast preset and start")
