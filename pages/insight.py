"""What a model looks at: a saliency map over one digit, and its first layer's learned weights."""

import numpy as np
import streamlit as st

from core.serving import saliency
from core.ui import activations, answering, app_cache, messages, pickers, pictures, session_keys

TEST, DRAWN = "A test digit", "The digit drawn on the predict page"
METHOD_LABELS = {"occlusion": "Occlusion", "pixel_flip": "Pixel flip"}

st.title(":material/visibility: What the model looks at")
runs = pickers.runs_with_models_or_stop("No trained model yet. Train one, then come back.")
by_id = {run.id: run for run in runs}
drawn = st.session_state.get(session_keys.HANDOVER_DIGIT)
if drawn is not None and st.session_state.get("insight_seen_handover") is not drawn:
    # A new digit from the predict page: look at it with the model that classified it.
    st.session_state.insight_seen_handover = drawn
    st.session_state.insight_source = DRAWN
    if st.session_state.get(session_keys.HANDOVER_MODEL) in by_id:
        st.session_state[session_keys.FOCUS_RUN] = st.session_state[session_keys.HANDOVER_MODEL]

run = pickers.focused_run_picker(runs, key="insight_run", label="Model")
classifier = answering.prepared_classifier(run)
if classifier is None:
    st.stop()

st.subheader("Saliency: which pixels sway the answer")
sources = [TEST, DRAWN] if drawn is not None else [TEST]
if st.session_state.get("insight_source") not in sources:
    st.session_state.insight_source = TEST
digit_column, method_column = st.columns(2, gap="large")
with digit_column:
    if len(sources) > 1:
        source = st.segmented_control("Digit", sources, required=True, key="insight_source")
    else:  # A control with one option would offer no choice.
        source = TEST
        st.caption("Draw a digit on the predict page to look at it here too.")
    if source == DRAWN and drawn is not None:
        image, label = np.asarray(drawn, dtype=np.float32), None
        drawn_for = by_id.get(st.session_state.get(session_keys.HANDOVER_MODEL))
        st.caption(
            "Drawn on the predict page"
            + (f" and classified by {messages.plain(drawn_for.name)}." if drawn_for else ".")
        )
    else:
        data = app_cache.mnist()
        index = st.number_input("Test digit number", 0, len(data.y_test) - 1, 0, key="insight_index")
        image, label = data.x_test[index].astype(np.float32), int(data.y_test[index])
with method_column:
    method = st.radio(
        "Method", saliency.METHODS, format_func=METHOD_LABELS.get, horizontal=True, key="insight_method"
    )
with st.spinner("Computing the saliency map..."):
    result = app_cache.saliency_map(run, method, image)
verdict = f"The model answers **{result.predicted}** with {100 * result.probability:.1f}% confidence"
st.markdown(verdict + ("." if label is None else f"; the true digit is **{label}**."))
columns = st.columns(3)
captions = ["The digit", "Saliency (bright = influential)", "Saliency over the digit"]
for column, picture, caption in zip(
    columns, pictures.saliency_images(image, result.values), captions, strict=True
):
    column.image(picture, caption=caption, width=224)
st.caption(
    "Both measure the predicted digit by its log-odds against all the others. Occlusion: how much "
    "they fall when a 4x4 square around the pixel is blacked out, so only what the answer rests on "
    "lights up. Pixel flip: how much they move when that one pixel alone swaps ink and background, "
    "so background pixels light up too where a stroke would sway the answer."
)

st.subheader("A look inside: every layer's activations for this digit")
st.html(activations.layers_html(activations.layer_views(classifier.activations(image))))
st.caption(
    "Like ConvNetJS's MNIST demo: a convolutional layer's feature maps as a grid, a dense layer's "
    "units as a strip. Each layer runs from its lowest value (black) to its highest (white); "
    "layers that only reshape or pass values on (flatten, dropout) are left out."
)

st.subheader("The first layer's learned weights")
with st.spinner("Reading the weights..."):
    layer = app_cache.first_layer(run)
if layer is None:
    st.info(
        "This model has no dense or convolutional first layer on the raw pixels to show.",
        icon=":material/info:",
    )
    st.stop()
count = len(layer.images)
shown = st.slider("Units shown", 1, count, min(count, 64), key="insight_units") if count > 16 else count
st.html(pictures.weights_grid(layer.images[:shown], columns=16, tile_px=56 if layer.kind == "dense" else 64))
st.caption(
    f"Layer {messages.plain(layer.layer_name)}: {messages.plain(layer.description)}. Grey is 0, white a "
    "positive weight, black a negative one; each tile is scaled to its own largest weight. "
    + (
        "Each tile is the pixel pattern that most excites one hidden unit."
        if layer.kind == "dense"
        else "Each tile is one filter, enlarged: edge and stroke detectors slide over the digit."
    )
)
