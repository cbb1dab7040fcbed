"""Search: start an Optuna study over ranges around a preset; watch its trials with Optuna's figures."""

import json

import streamlit as st

from core.networks.config import PRESETS, ConfigError
from core.queue import continuation, jobs, searches
from core.runs import limits, user_presets
from core.search import studies
from core.search.figures import figures
from core.ui import messages, navigation, owner, session_keys

st.title(":material/travel_explore: Search")
st.caption(
    "A search trains many short runs, each with settings an Optuna sampler (TPE) picks within the "
    "ranges below, and stops early those that fall behind the others' validation accuracy (the "
    "test set never chooses). Every trial is a normal run on the leaderboard. Workers on other "
    "machines can join a study: `python -m core.search --study NAME --storage URL --trials N`."
)
user = owner.who()
refused = limits.search_refusal(user)


def start_form() -> None:
    name = st.text_input("Study name", max_chars=120, key="search_name", placeholder="e.g. wider-cnn")
    preset = st.selectbox(
        "Ranges around",
        list(PRESETS),
        index=list(PRESETS).index("fast-cnn"),
        format_func=lambda key: PRESETS[key].label,
        key="search_preset",
    )
    trials_column, epochs_column, digits_column = st.columns(3)
    trials = trials_column.number_input("Trials", 1, searches.TRIALS_RANGE[1], 10, key="search_trials")
    epochs = epochs_column.number_input("Epochs per trial", 1, 50, 3, key="search_epochs")
    digits = digits_column.selectbox(
        "Digits per trial",
        (2000, 10000, 30000, 0),
        index=1,
        format_func=lambda count: f"{count:,}" if count else "all 60,000",
        key="search_digits",
    )
    settings = studies.new_settings(preset, epochs=int(epochs), train_limit=digits)
    text = st.text_area(
        "Ranges (JSON: low and high, log for a log scale, or choices; a setting left out keeps the "
        "preset's value)",
        json.dumps(settings.space.to_dict(), indent=1),
        height=260,
        key=f"search_space_{preset}",
    )
    if st.button("Start the search", type="primary", icon=":material/play_arrow:", disabled=not name):
        with messages.refusals_shown(ConfigError):
            searches.request_search(name.strip(), studies.with_space(settings, text), int(trials), user)
            st.session_state["search_study"] = name.strip()


def job_note(name: str) -> None:
    job = jobs.read("search", name) if jobs.TARGET_PATTERN.match(name) else None
    if job and job["state"] in jobs.PENDING_STATES:
        st.info(jobs.waiting_message(job), icon=":material/hourglass_top:")
    elif job and job["state"] == jobs.FAILED:
        st.error(f"The search stopped: {messages.plain(job.get('error'))}", icon=":material/error:")


def controls(name: str, study) -> None:
    settings = studies.settings_of(study)
    stop_column, more_column, count_column = st.columns(3)
    if stop_column.button("Stop the study", icon=":material/stop:", key="search_stop"):
        with messages.refusals_shown():
            studies.request_stop(study, user)
            st.toast("Every worker ends after its current trial; this machine's trial stops now.")
    more = count_column.number_input("More trials", 1, searches.TRIALS_RANGE[1], 5, key="search_more")
    if settings and more_column.button("Resume", icon=":material/play_arrow:", key="search_resume"):
        with messages.refusals_shown(ConfigError):
            searches.request_search(name, settings, int(more), user)


def best_trial_actions(study) -> None:
    """The best trial's run, trained longer (a continuation) or kept as a preset."""
    best = studies.best_run(study)
    if best is None or best.is_active:
        return
    st.caption(f"Best trial: {messages.plain(best.name)} ({messages.plain(best.description)}).")
    epochs_column, longer_column, label_column, save_column = st.columns(4, vertical_alignment="bottom")
    epochs = epochs_column.number_input("More epochs", 1, 100, 10, key="search_best_epochs")
    label = label_column.text_input("Preset name", best.name, max_chars=user_presets.MAX_LABEL)
    with messages.refusals_shown(ConfigError):
        if longer_column.button("Train it longer", icon=":material/fast_forward:", key="search_longer"):
            run = continuation.continue_run(best, int(epochs), user)
            st.session_state[session_keys.FOCUS_RUN] = run.id
            navigation.switch_to("runs")
        if save_column.button("Save as a preset", icon=":material/bookmark_add:", key="search_save"):
            user_presets.save_preset(
                label, best.config, f"The best trial of the study {study.study_name}.", user
            )
            st.toast("Saved: the designer offers it among its presets.", icon=":material/check:")


@st.fragment(run_every=2.0)
def study_view(name: str) -> None:
    try:
        study = studies.load_study(name)
    except KeyError:
        st.info("This study is being created; its first trial starts in a moment.")
        return
    job_note(name)
    st.markdown(f"**{messages.plain(studies.best_line(study)).capitalize()}**")
    table = studies.trial_table(study)
    if table.empty:
        st.caption("No trial has started yet.")
        return
    st.dataframe(table, hide_index=True)
    for title, figure in figures(study).items():
        st.subheader(title)
        st.plotly_chart(figure, key=f"search_figure_{title}")
    navigation.link("compare", "Trials on the leaderboard")


with st.expander("Start a study", expanded=not studies.study_names(), icon=":material/add:"):
    if refused:
        st.info(refused, icon=":material/lock:")
    else:
        start_form()
names = studies.study_names()
if names:
    chosen = st.selectbox("Study", names, key="search_study")
    if not refused:
        study = studies.load_study(chosen)
        controls(chosen, study)
        best_trial_actions(study)
    study_view(chosen)
