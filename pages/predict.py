"""Draw or upload a digit and see what a trained network thinks it is."""

import time

import streamlit as st
from streamlit_drawable_canvas import st_canvas

from core import app_cache, figures, prediction, registry
from core.inference import Classifier, ModelLoadError, describe_prediction
from core.preprocess import ImageError, Preprocessed

CANVAS_SIZE = 280
DRAW, UPLOAD = ":material/draw: Draw", ":material/upload: Upload"

st.title(":material/online_prediction: Predict a digit")

choices = prediction.model_choices(registry.list_runs())
if not choices:
    st.warning("There is no trained model yet. Train one first, then come back here.", icon=":material/model_training:")
    st.stop()
labels = {choice.id: choice.label for choice in choices}
with st.sidebar:
    chosen = st.selectbox("Model", list(labels), format_func=labels.get, key="predict_model")


def load(choice: prediction.ModelChoice) -> Classifier:
    with st.spinner(f"Loading {labels[choice.id].split(' · ')[0]} (TensorFlow starts once per server)..."):
        return app_cache.classifier(choice.path)


choice = next(c for c in choices if c.id == chosen)
try:
    classifier = load(choice)
except ModelLoadError as error:
    if choice == choices[0]:
        st.error(f"{error} No other model can stand in for it.", icon=":material/error:")
        st.stop()
    st.error(f"{error} Using the default model, {labels[choices[0].id]}, instead.", icon=":material/error:")
    choice = choices[0]
    try:
        classifier = load(choice)
    except ModelLoadError as fallback_error:
        st.error(str(fallback_error), icon=":material/error:")
        st.stop()
st.caption(f"Model: {labels[choice.id]}")


def read_canvas() -> tuple[Preprocessed | None, float]:
    width = st.slider("Stroke width", 6, 50, 22, key="predict_stroke", help="Pixels on the 280 x 280 canvas.")
    result = st_canvas(
        stroke_width=width,
        stroke_color="#FFFFFF",
        background_color="#000000",
        height=CANVAS_SIZE,
        width=CANVAS_SIZE,
        drawing_mode="freedraw",
        return_image_data=True,
        key="predict_canvas",
    )
    st.caption("Draw one digit, large and centred. The toolbar has undo, redo and clear.")
    started = time.perf_counter()
    return prediction.preprocess_canvas(result.image_data), started


def read_upload() -> tuple[Preprocessed | None, float]:
    upload = st.file_uploader(
        "A photo or scan of one digit", type=list(prediction.UPLOAD_TYPES), key="predict_upload",
        help="Dark ink on light paper or light on dark: both work.",
    )
    if upload is None:
        st.info("Upload a picture of one digit: PNG, JPEG, BMP, GIF or WebP.", icon=":material/upload:")
        return None, 0.0
    started = time.perf_counter()
    data = upload.getvalue()
    limit = prediction.upload_limit_bytes(st.get_option("server.maxUploadSize"))
    try:
        digit = prediction.preprocess_upload(data, limit)
    except ImageError as error:
        st.error(str(error), icon=":material/broken_image:")
        return None, 0.0
    st.image(data, width=CANVAS_SIZE, caption=upload.name)
    if digit.inverted and not digit.blank:
        st.caption("Dark ink on a light background: inverted to white on black, like MNIST.")
    return digit, started


def show_result(digit: Preprocessed, started: float) -> None:
    probabilities = classifier.probabilities(digit.pixels)
    elapsed_ms = 1000 * (time.perf_counter() - started)
    result = describe_prediction(probabilities)
    st.session_state["handover_digit"] = digit.pixels
    st.session_state["handover_model"] = choice.id
    answer, seen = st.columns(2)
    with answer:
        st.markdown(
            f"<div class='predicted-digit' style='font-size:7rem;font-weight:700;line-height:1.1'>{result.digit}</div>",
            unsafe_allow_html=True,
        )
        st.metric("Confidence", f"{100 * result.confidence:.1f}%")
        if result.unsure:
            st.warning(
                f"The model is unsure. Runner-up: {result.runner_up} ({100 * result.runner_up_confidence:.1f}%).",
                icon=":material/help:",
            )
    with seen:
        st.plotly_chart(figures.model_input_figure(digit.pixels, 200), config={"displayModeBar": False}, key="predict_seen")
        st.caption("What the model sees: 28 x 28, MNIST-style.")
    st.plotly_chart(figures.probability_bars(probabilities), config={"displayModeBar": False}, key="predict_bars")
    st.caption(f"Preprocessing and inference: {elapsed_ms:.0f} ms.")


@st.fragment
def predictor() -> None:
    """Its own fragment: a stroke reruns only this, not the model list and picker."""
    drawing, results = st.columns([1, 1.4], gap="large")
    with drawing:
        source = st.segmented_control("Input", [DRAW, UPLOAD], default=DRAW, required=True, key="predict_source")
        digit, started = read_canvas() if source == DRAW else read_upload()
    with results:
        if digit is None and source == DRAW:
            st.info("Draw a digit on the canvas to see what the network thinks it is.", icon=":material/gesture:")
        elif digit is not None and digit.blank:
            where = "The canvas is blank" if source == DRAW else "No digit found in this image"
            st.warning(f"{where}: please draw or upload one digit.", icon=":material/gesture:")
        elif digit is not None:
            show_result(digit, started)


predictor()
