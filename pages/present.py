"""The stage: a big canvas and the answer side by side, readable from the back of a room."""

import streamlit as st

from core.networks.config import PRESETS
from core.queue import scheduler
from core.runs import limits, reconcile, registry
from core.serving import prediction
from core.serving.inference import describe_prediction
from core.ui import (
    activations,
    answering,
    charts,
    messages,
    navigation,
    owner,
    run_status,
    session_keys,
    stage,
)

NOBODY = ""
LIVE_RUN = "present_live_run"  # The run this session started from here, shown under the stage.

st.set_page_config(initial_sidebar_state="collapsed")  # The settings wait in the sidebar.
st.html(stage.CSS)

choices = prediction.model_choices(reconcile.reconcile_all(include_shipped=True))
if not choices:
    st.warning("There is no trained model yet. Train one first.", icon=":material/model_training:")
    st.stop()
by_id = {choice.id: choice for choice in choices}
labels = messages.distinct({choice.id: choice.label for choice in choices})
# In the page, where long names fit, not the narrow sidebar; a popover in the header, so the stage
# keeps its room.
with st.popover("Models", icon=":material/swap_horiz:", key="present_models"):
    first = st.selectbox("Model", list(labels), format_func=labels.get, key="present_model")
    second = st.selectbox(
        "A second model beside it",
        [NOBODY, *(choice_id for choice_id in labels if choice_id != first)],
        format_func=lambda choice_id: labels.get(choice_id, "No second model"),
        key="present_second",
        help="Both answer the same drawing: e.g. the seed MLP against the best CNN.",
    )
with st.sidebar:  # The page's title lives here: on stage, the canvas has the screen.
    st.title(":material/co_present: Present")
    st.header("Stage settings")
    canvas_px = st.slider("Canvas size (px)", 280, 720, 460, 20, key="present_canvas_px")
    stroke = st.slider("Stroke width", 10, 60, 30, key="present_stroke")
    look_inside = st.toggle("A look inside (below the answer)", value=True, key="present_inside")
    navigation.link("replay", label="Replay a training run")

models = []
for choice_id in [first, second] if second else [first]:
    classifier = answering.prepared_classifier(by_id[choice_id].run)
    if classifier is not None:
        models.append((by_id[choice_id].run, classifier))
if not models:
    st.stop()
names = [f"{run.name} · {run.description}" for run, _ in models]


@st.fragment
def stage_area() -> None:
    """Its own fragment: a stroke reruns the canvas and the answers, not the model pickers."""
    canvas_column, answer_column = st.columns([canvas_px + 80, 720], gap="large")
    with canvas_column:
        st.html('<p class="stage-prompt">Draw a digit</p>')  # White ink on black, like MNIST.
        digit = prediction.preprocess_canvas(
            answering.digit_canvas("present", canvas_px, stroke, "Clear", clear_width=canvas_px)
        )
    drawn = digit is not None and not digit.blank
    # One interpreter call per model per stroke: the answer and the look inside come from it.
    answers = [classifier.answer(digit.pixels) if drawn else None for _, classifier in models]
    probabilities = [answer.probabilities if answer is not None else None for answer in answers]
    with answer_column:
        predictions = [describe_prediction(p) if p is not None else None for p in probabilities]
        st.html(stage.answers_html(names, predictions))
        st.plotly_chart(
            charts.stage_probabilities(probabilities, [messages.figure_text(name) for name in names]),
            config={"displayModeBar": False, "staticPlot": True},
            key="present_bars",
        )
    if look_inside and drawn:
        st.subheader("A look inside: every layer's activations for this drawing")
        for name, answer in zip(names, answers, strict=True):
            if len(models) > 1:
                st.markdown(f"**{messages.plain(name)}**")
            views = activations.layer_views(answer.activations)
            st.html(activations.layers_html(views, font_px=stage.MIN_FONT_PX))
        st.caption(
            "Each layer from its lowest value (black) to its highest (white); layers that only "
            "reshape or pass values on are left out."
        )


def train_live() -> None:
    """A short preset trained live, through the train page's checks and limits; its curves here."""
    preset = st.selectbox("Preset", stage.LIVE_PRESETS, format_func=stage.live_label, key="present_preset")
    user = owner.who()
    refused = limits.refusal(PRESETS[preset].config, user)
    run = registry.find_run(st.session_state[LIVE_RUN]) if LIVE_RUN in st.session_state else None
    training = run is not None and run.is_active  # One live run at a time: the stage shows one.
    if st.button(
        "Train live",
        type="primary",
        icon=":material/play_arrow:",
        key="present_train",
        disabled=bool(refused) or training,
    ):
        with messages.refusals_shown():
            run = scheduler.submit_run(PRESETS[preset].config, f"{PRESETS[preset].label}, live", who=user)
            st.session_state[LIVE_RUN] = st.session_state[session_keys.FOCUS_RUN] = run.id
            st.rerun()  # The button says whether another run may start now.
        return
    if refused:
        st.caption(f":material/block: {messages.plain(refused)}")
    if run is not None:
        run_status.live_run(run, "present")


stage_area()
with st.expander("Train live", icon=":material/model_training:", expanded=LIVE_RUN in st.session_state):
    train_live()
