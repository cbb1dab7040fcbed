"""Streamlit widgets that several pages share (with app_cache, the only core modules that import
Streamlit)."""

from __future__ import annotations

import html
import re
import secrets
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from core import (
    access,
    app_cache,
    atomic_files,
    charts,
    compare,
    importer,
    jobs,
    limits,
    links,
    model_jobs,
    monitor,
    navigation,
    prediction,
    reconcile,
    registry,
    session_keys,
)
from core.inference import Classifier, ModelLoadError, Prediction
from core.registry import RunRecord
from core.session_keys import FOCUS_RUN

_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_WORD_JOINER = "\u2060"  # Invisible; splits "http://", "www." and "a@b.c" for the link finder.


def _escaped(mark: re.Match) -> str:
    return (_WORD_JOINER if mark[1] in ":@." else "") + "\\" + mark[1]


def plain(text: object) -> str:
    """User text (a run name, notes, a file name) for Streamlit's Markdown, shown as the text it is.

    Every ASCII punctuation mark is escaped, so it never becomes a link, an image that every
    visitor's browser fetches, a heading or a colour. Escapes do not stop GitHub Markdown from
    turning bare addresses into links after parsing, so an invisible word joiner goes before
    each `:`, `@` and `.`.
    """
    return _MARKDOWN_PUNCTUATION.sub(_escaped, str(text))


def figure_text(text: str) -> str:
    """User text for a Plotly figure, whose labels read a little HTML (`<a href>` links among it):
    its marks as entities, which Plotly shows as the characters they are."""
    return html.escape(text, quote=False)


# What a page's action may meet that the user can do something about: a visitor limit, the
# registry's word on a run (gone, still training, shipped) and a full disk. Their messages are
# written for the user and name no server path.
REFUSALS = (limits.Refused, registry.RegistryError, atomic_files.DiskFullError)


@contextmanager
def refusals_shown(*also: type[Exception]) -> Iterator[None]:
    """Runs a page's action (the block); a refusal (`REFUSALS`, `also`) or any error writing to
    the disk shows its message where the block is, and the rest of the block is skipped, so no
    action ends in a traceback and no message that the core wrote for the user is lost."""
    try:
        yield
    except (*REFUSALS, *also) as error:
        st.error(plain(error), icon=":material/block:")
    except OSError as error:  # One that no core code turned into a message: its path stays out.
        if atomic_files.is_disk_full(error):
            message = str(atomic_files.DiskFullError("your change"))
        else:
            message = f"Your change could not be saved: {error.strerror or 'the disk refused it'}."
        st.error(plain(message), icon=":material/error:")


def distinct(labels: dict[str, str]) -> dict[str, str]:
    """Picker labels by run id, with the id added where two runs would read the same, so a
    visitor cannot dress a run up as another one."""
    counts = Counter(labels.values())
    return {key: label if counts[label] == 1 else f"{label} · {key}" for key, label in labels.items()}


def local_mode() -> bool:
    """Whether this session is local: a loopback-only server reached by a loopback name."""
    headers = st.context.headers
    proxied = any(headers.get(name) for name in access.PROXY_HEADERS)
    return access.is_local(st.get_option("server.address"), headers.get("host"), proxied)


def who() -> access.Who:
    """Who this browser session is: the owner (local mode, or after the owner password), else a
    visitor known by this session's random id."""
    if local_mode() or (st.session_state.get(session_keys.OWNER) and access.owner_password()):
        return access.OWNER
    if session_keys.VISITOR not in st.session_state:
        st.session_state[session_keys.VISITOR] = secrets.token_hex(16)
    return access.Who(owner=False, session=st.session_state[session_keys.VISITOR])


def _sign_in() -> None:
    """The password form's callback: it runs before the next script run, so every page of that
    run already sees the owner."""
    refused = access.GATE.check(
        st.session_state.get("owner_password", ""),
        access.owner_password() or "",
        session=st.session_state.get(session_keys.VISITOR, ""),
    )
    if refused:
        st.session_state[session_keys.SIGN_IN_REFUSED] = refused
    else:
        st.session_state[session_keys.OWNER] = True


def owner_sidebar() -> None:
    """The sidebar's word on who this session is: the owner password field for a visitor, or
    how to set a password where none is set."""
    password = access.owner_password()
    with st.sidebar:
        if password is None:
            if local_mode():
                st.caption(":material/lock_open: Local mode: this computer only, everything allowed.")
            else:
                st.info(
                    "Visitor mode: no owner password is set, so nobody can delete or import. The owner "
                    "sets `owner_password` in `.streamlit/secrets.toml` (or the app's secrets on "
                    "Streamlit Community Cloud, or `MNIST_OWNER_PASSWORD`) and restarts.",
                    icon=":material/lock:",
                )
        elif st.session_state.get(session_keys.OWNER):
            st.caption(":material/admin_panel_settings: Owner mode: everything allowed.")
            st.button(
                "Leave owner mode",
                icon=":material/logout:",
                key="owner_leave",
                on_click=lambda: st.session_state.pop(session_keys.OWNER, None),
            )
        else:
            with st.form("owner_sign_in", clear_on_submit=True, border=False):
                st.text_input("Owner password", type="password", key="owner_password")
                st.form_submit_button("Sign in as owner", icon=":material/key:", on_click=_sign_in)
            refused = st.session_state.pop(session_keys.SIGN_IN_REFUSED, None)
            if refused:
                st.error(refused, icon=":material/block:")


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


@st.fragment(run_every=1.0)
def _wait_for_lite(run: RunRecord, note: str) -> None:
    """Polls the conversion job, then reruns the page once the model is ready (or failed)."""
    if model_jobs.lite_state(registry.reload(run)) != model_jobs.RUNNING:
        st.rerun()
    st.info(
        f"{plain(run.name)}: {model_jobs.waiting_message('convert', run)}{note}",
        icon=":material/hourglass_top:",
    )


def prepared_classifier(run: RunRecord, note: str = "") -> Classifier | None:
    """The run's LiteRT model, asking a background job to prepare it if needed; None, with a
    message ending in `note`, while it is prepared or if it cannot be used."""
    run = registry.reload(run)
    try:
        state = model_jobs.request_lite(run)
    except atomic_files.DiskFullError as error:
        st.error(f"{error}{note}", icon=":material/error:")
        return None
    if state == model_jobs.RUNNING:
        _wait_for_lite(run, note)
        return None
    try:
        if state == model_jobs.FAILED:
            raise ModelLoadError(f"{run.name} cannot be used: {model_jobs.failure('convert', run)}.")
        return app_cache.classifier(run)
    except ModelLoadError as error:
        st.error(f"{plain(error)}{note}", icon=":material/error:")
        return None


def _url_params(prefix: str) -> links.Params:
    return {key: st.query_params.get_all(key) for key in st.query_params if key.startswith(prefix)}


def _seen(prefix: str) -> set[tuple]:
    """Every URL state of a page's settings this session wrote or already applied."""
    return st.session_state.setdefault(session_keys.SHARED_LINKS, {}).setdefault(prefix, set())


def opened_link(prefix: str, like: Mapping[str, Any]) -> dict[str, Any] | None:
    """A page's settings (keys starting with `prefix`) from a link opened: URL parameters this
    session never saw, so they win over the settings it holds, once. A URL it wrote itself is
    never one: a quick second change can arrive with the URL from before the first one's."""
    params = _url_params(prefix)
    if not params or links.frozen(params) in _seen(prefix):
        return None
    _seen(prefix).add(links.frozen(params))
    return links.decode(params, like)


def share_in_url(prefix: str, values: Mapping[str, Any]) -> None:
    """Puts a page's settings in the address bar, so copying it shares them; after a link is
    opened, the user's own changes replace it there."""
    params = {key: value for key, value in links.encode(values).items() if value}
    _seen(prefix).add(links.frozen(params))
    if _url_params("") != params:  # Another page's settings, carried along by a page switch, go.
        st.query_params.from_dict(params)


def answering_classifier(
    choices: list[prediction.ModelChoice], chosen: str, labels: dict[str, str]
) -> tuple[prediction.ModelChoice, Classifier]:
    """The model that answers: the pick, or the default (first) model while the pick is being
    prepared or if its file is damaged, saying so; stops the page when neither can answer."""
    default = choices[0]
    for choice in [c for c in choices if c.id == chosen and c.id != default.id] + [default]:
        fallback = (
            f" The default model, {plain(labels[default.id])}, answers meanwhile."
            if choice != default
            else ""
        )
        classifier = prepared_classifier(choice.run, fallback)
        if classifier is not None:
            return choice, classifier
    st.stop()


def answer(result: Prediction | None) -> None:
    """The predicted digit in large type, its confidence, and a word when the model is unsure;
    with no result, a faint "?" holding the same place."""
    css_class, text, opacity = ("predicted-digit", result.digit, 1) if result else ("no-digit", "?", 0.2)
    st.markdown(
        f"<div class='{css_class}' style='font-size:7rem;font-weight:700;line-height:1.1;"
        f"opacity:{opacity}'>{text}</div>",
        unsafe_allow_html=True,
    )
    st.metric("Confidence", f"{100 * result.confidence:.1f}%" if result else "–")
    if result and result.unsure:
        st.warning(
            f"The model is unsure. Runner-up: {result.runner_up} ({100 * result.runner_up_confidence:.1f}%).",
            icon=":material/help:",
        )


def digit_canvas(
    key: str, size: int, stroke: int, clear_label: str, clear_width="content"
) -> np.ndarray | None:
    """A canvas to draw a digit on, white ink on black like MNIST, and a button that clears it;
    its RGBA drawing after every stroke (None before the first). Clearing gives the canvas a
    new key, since the component has no way to be emptied from Python."""
    # Imported here: the component registers itself on import, which needs a running app.
    from streamlit_drawable_canvas import st_canvas

    clears = f"{key}_clears"
    result = st_canvas(
        stroke_width=stroke,
        stroke_color="#FFFFFF",
        background_color="#000000",
        height=size,
        width=size,
        drawing_mode="freedraw",
        return_image_data=True,
        key=f"{key}_canvas_{st.session_state.get(clears, 0)}",
    )
    st.button(
        clear_label,
        icon=":material/ink_eraser:",
        key=f"{key}_clear",
        width=clear_width,
        on_click=lambda: st.session_state.update({clears: st.session_state.get(clears, 0) + 1}),
    )
    return result.image_data


def runs_with_models_or_stop(missing: str) -> list[RunRecord]:
    """Every run with a saved model, the shipped ones included; with none, `missing` and a link
    to the train page, and the page stops there."""
    runs = compare.comparable_runs(reconcile.reconcile_all(include_shipped=True))
    if not runs:
        st.info(missing, icon=":material/info:")
        navigation.link("train")
        st.stop()
    return runs


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
