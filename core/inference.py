"""Load a saved classifier safely and ask it about one 28x28 digit.

Every model follows the model contract (docs/ARCHITECTURE.md): raw 0-255 input of shape
(28, 28, 1), normalisation inside the model, 10 softmax outputs, built-in Keras objects only.
`load_classifier` checks that before the model is used, so a page can show a clear message
instead of a traceback, compiles the single-image call and warms it up, so the first real
digit is answered in milliseconds.

TensorFlow is imported only inside `load_classifier`: pages can use `describe_prediction`
without paying for it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.preprocess import model_input

__all__ = [
    "Classifier",
    "ModelLoadError",
    "Prediction",
    "UNSURE_BELOW",
    "describe_prediction",
    "load_classifier",
]

INPUT_SHAPE = (None, 28, 28, 1)
OUTPUT_SHAPE = (None, 10)
# Below this top probability the page says the model is unsure and shows the runner-up.
UNSURE_BELOW = 0.6
# Softmax outputs sum to one; float32 rounding stays far inside this.
SUM_TOLERANCE = 1e-3


class ModelLoadError(RuntimeError):
    """A model file that cannot be used; the message is meant for the end user."""


@dataclass(frozen=True)
class Prediction:
    digit: int
    confidence: float
    unsure: bool
    runner_up: int
    runner_up_confidence: float


def describe_prediction(probabilities: np.ndarray) -> Prediction:
    """The top class, its probability, and the runner-up; unsure below UNSURE_BELOW."""
    probabilities = np.asarray(probabilities, dtype=np.float64).reshape(-1)
    if probabilities.shape != (10,) or not np.all(np.isfinite(probabilities)):
        raise ValueError(f"expected 10 finite probabilities, got {probabilities!r}")
    # A stable sort keeps the lower digit first on ties, so equal scores give a stable answer.
    order = np.argsort(-probabilities, kind="stable")
    top, second = int(order[0]), int(order[1])
    confidence = float(probabilities[top])
    return Prediction(
        digit=top,
        confidence=confidence,
        unsure=confidence < UNSURE_BELOW,
        runner_up=second,
        runner_up_confidence=float(probabilities[second]),
    )


class Classifier:
    """A loaded model that follows the contract. Shared across sessions: never mutated."""

    def __init__(
        self, model: Any, path: Path, call: Callable[[np.ndarray], Any] | None = None, mode: str = "eager"
    ) -> None:
        self.model = model
        self.path = Path(path)
        self.mode = mode if call else "eager"  # How the model runs: "xla", "graph" or "eager".
        self._call = call or self._eager

    def _eager(self, batch: np.ndarray) -> Any:
        return self.model(batch, training=False)

    def probabilities(self, pixels: np.ndarray) -> np.ndarray:
        """The 10 class probabilities for one (28, 28) 0-255 image, white ink on black.

        `model(x, training=False)` (compiled, see `_compiled_calls`), never `model.predict()`,
        which builds a dataset pipeline for every call and costs tens of milliseconds.
        """
        output = self._call(model_input(pixels))
        return np.asarray(output, dtype=np.float32).reshape(10)


def _compiled_calls(model: Any) -> list[tuple[str, Callable[[np.ndarray], Any]]]:
    """`model(x, training=False)` compiled for one-image batches, fastest first.

    Eager Keras dispatches every layer from Python: ~5 ms on an idle 2-core CPU, 15-90 ms while
    training runs compete for the cores. A traced graph runs in ~1 ms, but Streamlit calls
    `keras.backend.clear_session()` after every script run, which empties TensorFlow's kernel
    cache, so a plain graph is re-instantiated (~20 ms) on each stroke's first call. An XLA
    executable lives in its own cache and survives that: ~2-4 ms per stroke. Empty if the
    backend is not TensorFlow.
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        return []
    import tensorflow as tf

    signature = [tf.TensorSpec((1, 28, 28, 1), tf.float32)]
    return [
        (mode, tf.function(lambda batch: model(batch, training=False), input_signature=signature, jit_compile=jit))
        for mode, jit in (("xla", True), ("graph", False))
    ]


def load_classifier(path: str | os.PathLike) -> Classifier:
    """Load a `.keras` model with `safe_mode=True`, check the contract, and warm it up.

    Raises ModelLoadError, with a message for the user, for a missing, corrupt or
    incompatible file.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"The model file {path.name} is missing (looked in {path.parent}).")
    if path.suffix != ".keras":
        raise ModelLoadError(f"{path.name} is not a Keras model file (expected a .keras file).")

    from core.device import configure_tensorflow

    configure_tensorflow()
    import keras

    try:
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # Keras raises many types for a damaged archive.
        raise ModelLoadError(
            f"The model file {path.name} is damaged or not a model this app can load "
            f"({type(error).__name__}: {_first_line(error)})."
        ) from None
    _check_contract(model, path)
    blank = np.zeros((28, 28), np.float32)
    try:
        warm = Classifier(model, path).probabilities(blank)
    except Exception as error:
        raise ModelLoadError(f"The model in {path.name} fails on a 28x28 digit ({_first_line(error)}).") from None
    if not (np.all(np.isfinite(warm)) and np.all(warm >= 0) and abs(float(warm.sum()) - 1.0) < SUM_TOLERANCE):
        raise ModelLoadError(
            f"The model in {path.name} does not output 10 probabilities (a softmax layer), "
            "so its answers cannot be shown as confidences."
        )
    # A fixed scribble: the compiled call must agree with the eager model on some ink too.
    scribble = (np.add.outer(np.arange(28.0), np.arange(28.0)) * 4.6).astype(np.float32)
    expected = Classifier(model, path).probabilities(scribble)
    for mode, call in _compiled_calls(model):
        compiled = Classifier(model, path, call, mode)
        try:  # Compiles now, under the page's loading spinner, rather than on the first stroke.
            if np.allclose(compiled.probabilities(scribble), expected, atol=1e-4):
                return compiled
        except Exception:  # noqa: S112 - a model XLA (or tracing) cannot handle runs eagerly.
            continue
    return Classifier(model, path)


def _check_contract(model: Any, path: Path) -> None:
    try:
        inputs, outputs = _shape(model.input_shape), _shape(model.output_shape)
    except (AttributeError, ValueError, TypeError):
        inputs = outputs = None
    if inputs != INPUT_SHAPE or outputs != OUTPUT_SHAPE:
        raise ModelLoadError(
            f"The model in {path.name} does not fit this app: it takes {_show(inputs)} and gives "
            f"{_show(outputs)}, but a digit classifier here must take 28x28x1 images and give 10 "
            "class probabilities."
        )


def _shape(shape: Any) -> tuple | None:
    """A single tensor's shape as a tuple; None for nested (several inputs or outputs)."""
    if isinstance(shape, (list, tuple)) and all(d is None or isinstance(d, int) for d in shape):
        return tuple(shape)
    return None


def _show(shape: tuple | None) -> str:
    if shape is None:
        return "several tensors"
    return "shape (" + ", ".join("batch" if d is None else str(d) for d in shape) + ")"


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    line = text[0] if text else "no details"
    return line if len(line) <= 200 else line[:197] + "..."
