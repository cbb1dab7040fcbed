"""Several runs answering together: their averaged probabilities, as one model to predict with."""

import streamlit as st

from core.queue import ensembles, jobs
from core.runs import compare, limits, reconcile
from core.ui import app_cache, messages, navigation, owner, session_keys

st.title(":material/join: Ensembles")
st.caption(
    "An ensemble feeds each digit to every member and averages their probabilities. Members "
    "that make different mistakes cancel some of them out. The ensemble is built in the "
    "background, evaluated on the test set and the robustness suites, and offered on Predict and "
    "Present."
)
listed = reconcile.reconcile_all(include_shipped=True)
runs = compare.comparable_runs(listed)
candidates = [run for run in runs if not compare.ensemble_info(run)]
user = owner.who()
refused = limits.ensemble_refusal(user)
if refused:
    st.info(refused, icon=":material/lock:")
elif len(candidates) < ensembles.MEMBERS_RANGE[0]:
    st.info("An ensemble needs at least two runs with a saved model.", icon=":material/info:")
    navigation.link("train")
else:
    labels = messages.distinct({run.id: compare.run_label(run) for run in candidates})
    chosen = st.multiselect(
        "Members",
        list(labels),
        format_func=labels.get,
        max_selections=ensembles.MEMBERS_RANGE[1],
        key="ensembles_members",
        placeholder="Choose two to five runs, e.g. the seed MLP and the best CNN",
    )
    name = st.text_input("Name (optional)", max_chars=80, key="ensembles_name")
    by_id = {run.id: run for run in candidates}
    if st.button("Make the ensemble", type="primary", icon=":material/join:", disabled=len(chosen) < 2):
        with messages.refusals_shown(ensembles.EnsembleRefused):
            members = [by_id[run_id] for run_id in chosen]
            st.session_state[session_keys.ENSEMBLE_JOB] = ensembles.request_ensemble(
                members, name.strip() or None, who=user
            )


@st.fragment(run_every=1.0)
def ensemble_progress(target: str) -> None:
    job = jobs.read("ensemble", target)
    if job is None:
        return
    if job["state"] in jobs.PENDING_STATES:
        st.info(jobs.waiting_message(job), icon=":material/hourglass_top:")
    elif job["state"] == jobs.FAILED:
        st.error(
            f"The ensemble could not be made: {messages.plain(job.get('error'))}", icon=":material/error:"
        )
    else:
        result = job["result"]
        st.session_state[session_keys.FOCUS_RUN] = result["run_id"]
        st.success(
            f"{messages.plain(result['name'])}: {100 * result['test_accuracy']:.2f}% test accuracy.",
            icon=":material/check_circle:",
        )
        navigation.link("predict", "Predict with it")


if session_keys.ENSEMBLE_JOB in st.session_state:
    ensemble_progress(st.session_state[session_keys.ENSEMBLE_JOB])
made = compare.ensemble_rows(listed, app_cache.evaluation)
if made:
    st.subheader("Ensembles so far")
    st.dataframe(
        made,
        hide_index=True,
        width="stretch",
        column_order=["name", "members", "test accuracy (%)", "status"],
        column_config={"test accuracy (%)": st.column_config.NumberColumn("test acc %", format="%.2f")},
        key="ensembles_table",
    )
    st.caption(
        "A broken ensemble lost a member that was deleted: it stays listed here and on the "
        "leaderboard, but is no longer offered on Predict or Present; delete it on Compare runs."
    )
    navigation.link("compare", "See them on the leaderboard")
    navigation.link("robustness", "Their scores on the robustness suites")
