"""Every run side by side: a sortable leaderboard, curves overlaid, and rename, notes, delete."""

import streamlit as st

from core.queue import model_jobs, model_states
from core.runs import atomic_files, compare, lineage, reconcile, registry
from core.ui import app_cache, charts, messages, navigation, owner, pickers, session_keys

st.title(":material/leaderboard: Compare runs")

listed = reconcile.reconcile_all(include_shipped=True)
runs = [run for run in listed if not run.broken]
if not runs:
    st.info("No runs yet. Train a model (or import one), then compare runs here.", icon=":material/info:")
    navigation.link("train")
    st.stop()
by_id = {run.id: run for run in runs}

try:
    for listed_run in runs:  # Runs stopped early or imported get tested in the background.
        model_jobs.request("evaluate", listed_run)
except atomic_files.DiskFullError as error:
    st.warning(str(error), icon=":material/error:")
on_board = compare.leaderboard_runs(listed)  # Broken ensembles too, saying which member went.
rows = [
    compare.leaderboard_row(run, app_cache.metrics_summary(run), app_cache.evaluation(run))
    for run in on_board
]
table = compare.leaderboard(rows)
pickers.leaderboard(table, key="compare_table")
st.caption(
    "Best first by test accuracy; click a column header to sort. "
    "Params: trainable weights. Time: training, validation included."
)


@st.fragment(run_every=2.0)
def evaluations_in_progress() -> None:
    """Polls while background evaluations run, then refreshes the whole page once."""
    busy = [
        run for run in runs if model_states.state("evaluate", registry.reload(run)) == model_states.RUNNING
    ]
    if not busy:
        st.rerun()
    st.info(
        f"{len(busy)} run(s) queued or being evaluated on the 10,000 test digits in the background...",
        icon=":material/hourglass_top:",
    )


if any(model_states.state("evaluate", run) == model_states.RUNNING for run in runs):
    evaluations_in_progress()

st.subheader("Training curves, overlaid")
with_curves = [run.id for run in runs if app_cache.metrics_summary(run)["epochs_done"]]
ranked = [run_id for run_id in table["id"] if run_id in with_curves]
chosen = pickers.overlay_picker(table, ranked, {run.id: compare.run_label(run) for run in runs})
if chosen:
    chosen_runs = [by_id[run_id] for run_id in chosen]
    names = map(messages.figure_text, compare.curve_names(chosen_runs))
    histories = [lineage.history(run, read=app_cache.run_metrics) for run in chosen_runs]
    curves = dict(zip(names, histories, strict=True))  # A continued run after its parent's history.
    st.plotly_chart(charts.training_curves(curves), key="compare_curves")
elif not ranked:
    st.caption("No run has logged a completed epoch yet.")

st.subheader("Manage a run")
run = pickers.focused_run_picker(on_board, key="compare_manage")  # Where a broken ensemble is deleted.
user = owner.who()
locked = run.read_only or not user.may_change(run)
if run.read_only:
    st.caption(":material/lock: A shipped model: it cannot be renamed, annotated or deleted.")
elif locked:
    st.caption(
        ":material/lock: Started by the owner or in another session: only they can rename, "
        "annotate or delete it."
    )
with st.form(f"compare_edit_{run.id}", border=False):
    name = st.text_input("Name", value=run.name, max_chars=80, disabled=locked)
    notes = st.text_area(
        "Notes (kept in the run's folder)",
        value=run.notes,
        disabled=locked,
        placeholder="What you tried, what you noticed...",
    )
    saved = st.form_submit_button("Save name and notes", icon=":material/save:", disabled=locked)
if saved:
    with messages.refusals_shown():
        user.check_may_change(run)
        registry.set_notes(registry.rename_run(run, name), notes)
        st.toast("Saved.", icon=":material/check:")
        st.rerun()
detail, delete = st.columns([3, 1])
with detail:
    if not run.broken:  # Run detail lists no broken run.
        navigation.link("run_detail", "Confusion matrix and mistakes of this run")
with delete:
    if user.may_change(run) and st.button(
        "Delete run", icon=":material/delete:", disabled=run.read_only or run.is_live, key="compare_delete"
    ):
        st.session_state.compare_doomed = run.id
if not locked and st.session_state.get("compare_doomed") == run.id:
    st.warning(
        f"Delete **{messages.plain(run.name)}** and all its files (model, "
        "checkpoint, metrics, evaluation)? This cannot be undone.",
        icon=":material/warning:",
    )
    confirm, cancel, _ = st.columns([1, 1, 3])
    if cancel.button("Cancel", key="compare_cancel_delete"):
        st.session_state.pop("compare_doomed")
        st.rerun()
    if confirm.button(
        "Delete for good", type="primary", icon=":material/delete_forever:", key="compare_confirm_delete"
    ):
        with messages.refusals_shown():
            user.check_may_change(run)
            registry.delete_run(run)
            for key in (
                "compare_doomed",
                "compare_manage",
                session_keys.FOCUS_RUN,
                session_keys.COMPARE_OVERLAY,
            ):
                st.session_state.pop(key, None)
            st.toast(f"Deleted {messages.plain(run.name)}.", icon=":material/delete:")
            st.rerun()
        st.stop()  # Refused, as said above.
