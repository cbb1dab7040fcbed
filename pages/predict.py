"""Draw or upload a digit and see what a trained network thinks it is."""

import time

import numpy as np
import streamlit as st

from core.data.preprocess import Preprocessed
from core.data.uploads import ImageError
from core.runs import reconcile
from core.serving import prediction
from core.serving.inference import describe_prediction
from core.ui import answering, charts, messages, pictures, session_keys

CANVAS_SIZE = 280
DRAW, UPLOAD = "Draw", "Upload"
SOURCE_ICONS = {DRAW: ":material/draw:", UPLOAD: ":material/upload:"}

st.title(":material/online_prediction: Predict a digit")

# Reconciled, so a run whose worker died is listed as failed (with its checkpoint), not running.
choices = prediction.model_choices(reconcile.reconcile_all(include_shipped=True))
if not choices:
    st.warning(
        "There is no trained model yet. Train one first, then come back here.",
        icon=":material/model_training:",
    )
    st.stop()
labels = messages.distinct({choice.id: choice.label for choice in choices})
# In the page, not the narrow sidebar, which cut the names off.
chosen = st.selectbox("Model", list(labels), format_func=labels.get, key="predict_model")
choice, classifier = answering.answering_classifier(choices, chosen, labels)
st.caption(f"Model: {messages.plain(labels[choice.id])}")


def read_canvas() -> tuple[Preprocessed | None, float]:
    width = st.slider("Stroke width", 6, 50, 22, key="predict_stroke", help="Pixels on the 280 x 280 canvas.")
    drawing = answering.digit_canvas("predict", CANVAS_SIZE, width, "Clear the canvas")
    st.caption(  # The canvas's own toolbar (undo, redo) stays hidden until the mouse is over it.
        "Draw one digit, large and centred. Clear starts again; undo and redo appear under the "
        "canvas while the mouse is over it."
    )
    started = time.perf_counter()
    return prediction.preprocess_canvas(drawing), time.perf_counter() - started


def read_upload() -> tuple[Preprocessed | None, float]:
    upload = st.file_uploader(
        "A photo or scan of one digit",
        type=list(prediction.UPLOAD_TYPES),
        key="predict_upload",
        help="Dark ink on light paper or light on dark: both work.",
    )
    if upload is None:
        st.info("Upload a picture of one digit: PNG, JPEG, BMP, GIF or WebP.", icon=":material/upload:")
        return None, 0.0
    data = upload.getvalue()
    limit = prediction.upload_limit_bytes(st.get_option("server.maxUploadSize"))
    started = time.perf_counter()
    try:
        digit, preview = prediction.preprocess_upload(data, limit)
    except ImageError as error:
        st.error(str(error), icon=":material/broken_image:")
        # The last answer was not about this picture: What the model looks at must not explain it.
        for key in (session_keys.HANDOVER_DIGIT, session_keys.HANDOVER_MODEL):
            st.session_state.pop(key, None)
        return None, 0.0
    spent = time.perf_counter() - started
    st.image(preview, width=CANVAS_SIZE, caption=upload.name)
    if digit.inverted and not digit.blank:
        st.caption("Dark ink on a light background: inverted to white on black, like MNIST.")
    return digit, spent


def show_result(digit: Preprocessed | None, preprocessing_s: float = 0.0) -> None:
    """The answer; with no digit, the same layout empty, which also makes the browser load
    every element's code before the first stroke rather than after it."""
    probabilities = result = None
    if digit is not None:
        started = time.perf_counter()
        probabilities = classifier.probabilities(digit.pixels)
        elapsed_ms = 1000 * (preprocessing_s + time.perf_counter() - started)
        result = describe_prediction(probabilities)
        st.session_state[session_keys.HANDOVER_DIGIT] = digit.pixels
        st.session_state[session_keys.HANDOVER_MODEL] = choice.id
    answer, seen = st.columns(2)
    with answer:
        answering.answer(result)
    with seen:
        pixels = digit.pixels if digit is not None else np.zeros((28, 28))
        st.image(pictures.enlarged_digit(pixels), caption="What the model sees: 28 x 28, MNIST-style.")
    st.plotly_chart(
        charts.probability_bars(probabilities), config={"displayModeBar": False}, key="predict_bars"
    )
    if result:
        st.caption(f"Preprocessing and inference: {elapsed_ms:.0f} ms.")


@st.fragment
def predictor() -> None:
    """Its own fragment: a stroke reruns only this, not the model list and picker."""
    drawing, results = st.columns([1, 1.4], gap="large")
    with drawing:
        source = st.segmented_control(
            "Input",
            [DRAW, UPLOAD],
            default=DRAW,
            required=True,
            key="predict_source",
            format_func=lambda option: f"{SOURCE_ICONS[option]} {option}",
        )
        digit, preprocessing_s = read_canvas() if source == DRAW else read_upload()
    with results:
        # One slot for the notice, filled or not, so the answer below keeps its place in the page
        # between reruns; otherwise the browser briefly shows the old and the new answer together.
        notice = st.empty()
        if source == DRAW and (digit is None or digit.blank):
            notice.info(
                "Draw a digit on the canvas to see what the network thinks it is.", icon=":material/gesture:"
            )
            show_result(None)
        elif digit is not None and digit.blank:
            notice.warning(
                "No digit found in this image: it looks empty. Please upload a picture of one digit.",
                icon=":material/image_not_supported:",
            )
        elif digit is not None:
            show_result(digit, preprocessing_s)


predictor()
