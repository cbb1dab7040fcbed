"""A model's answer to a digit: the classifier made ready, the canvas, the answer shown."""

from __future__ import annotations

import numpy as np
import streamlit as st

from core.queue import model_jobs, model_states
from core.runs import atomic_files, registry
from core.runs.registry import RunRecord
from core.serving import prediction
from core.serving.inference import Classifier, ModelLoadError, Prediction
from core.ui import app_cache, job_wait
from core.ui.messages import plain


def prepared_classifier(run: RunRecord, note: str = "") -> Classifier | None:
    """The run's LiteRT model, asking a background job to prepare it if needed; None, with a
    message ending in `note`, while it is prepared or if it cannot be used."""
    run = registry.reload(run)
    try:
        state = model_jobs.request("convert", run)
    except atomic_files.DiskFullError as error:
        st.error(f"{error}{note}", icon=":material/error:")
        return None
    if state == model_states.RUNNING:
        job_wait.wait_for("convert", run, note, every=1.0)
        return None
    try:
        if state == model_states.FAILED:
            raise ModelLoadError(f"{run.name} cannot be used: {model_states.failure('convert', run)}.")
        return app_cache.classifier(run)
    except ModelLoadError as error:
        st.error(f"{plain(error)}{note}", icon=":material/error:")
        return None


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
