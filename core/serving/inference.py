"""Ask a converted model about one 28x28 digit, with LiteRT and without TensorFlow.

The Streamlit server never imports TensorFlow (seconds to start, hundreds of MB). Job processes,
which do have it, convert every saved model into a `model.tflite` beside it (core/jobs/convert.py);
this module loads that file with LiteRT's interpreter. The file holds the 10 probabilities and,
as named outputs, every layer's activation, so one call answers both.

`load_classifier` checks the file before it is used, so a page can show a clear message instead
of a traceback. `lite_is_fresh` tells whether a folder's LiteRT files still match its Keras model.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.data.preprocess import model_input
from core.runs.layout import CHECKPOINT_FILE, FIRST_LAYER_FILE, LITE_INFO_FILE, LITE_MODEL_FILE, MODEL_FILE

__all__ = [
    "Answer",
    "Classifier",
    "FIRST_LAYER_FILE",
    "LITE_INFO_FILE",
    "LITE_MODEL_FILE",
    "ModelLoadError",
    "Prediction",
    "SOURCE_FILES",
    "UNSURE_BELOW",
    "describe_prediction",
    "lite_is_fresh",
    "load_classifier",
    "source_stamp",
]

# The Keras files a run is served from, preferred first (as run_results.usable_model_path).
SOURCE_FILES = (MODEL_FILE, CHECKPOINT_FILE)

PROBABILITIES_OUTPUT = "probabilities"
ACTIVATION_PREFIX = "act_"  # Then the layer's position and name: act_03_conv_1.
INPUT_SHAPE = (1, 28, 28, 1)
OUTPUT_SHAPE = (1, 10)
# Below this top probability the page says the model is unsure and shows the runner-up.
UNSURE_BELOW = 0.6
# Softmax outputs sum to one; float32 rounding stays far inside this.
SUM_TOLERANCE = 1e-3
# A fixed digit-like input with ink everywhere, for checks that a blank digit would not catch.
SCRIBBLE = (np.add.outer(np.arange(28.0), np.arange(28.0)) * 4.6).astype(np.float32)


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


@dataclass(frozen=True)
class Answer:
    """What one interpreter call says about one image: the 10 class probabilities and every
    layer's activation (as `Classifier.activations`)."""

    probabilities: np.ndarray
    activations: dict[str, np.ndarray]


class Classifier:
    """A LiteRT model that follows the contract, shared by every session of the server.

    An interpreter is not thread-safe and Streamlit runs sessions in threads, so every call holds
    this classifier's lock; the arrays returned are copies, never the interpreter's buffers.
    """

    def __init__(self, runner: Any, path: Path, input_name: str, probabilities_name: str) -> None:
        self.path = Path(path)
        self._runner = runner
        self._input_name = input_name
        self._probabilities_name = probabilities_name
        # Output names sort in layer order because the position is zero-padded.
        outputs = runner.get_output_details()
        self._activation_names = sorted(name for name in outputs if name.startswith(ACTIVATION_PREFIX))
        self._lock = threading.Lock()

    def _run(self, pixels: np.ndarray) -> dict[str, np.ndarray]:
        batch = model_input(pixels)
        with self._lock:
            return self._runner(**{self._input_name: batch})

    def answer(self, pixels: np.ndarray) -> Answer:
        """Probabilities and activations for one image from one interpreter call, for a page that
        shows both on every stroke: each call computes and copies every output anyway."""
        outputs = self._run(pixels)
        return Answer(self._probabilities_in(outputs), self._activations_in(outputs))

    def probabilities(self, pixels: np.ndarray) -> np.ndarray:
        """The 10 class probabilities for one (28, 28) 0-255 image, white ink on black."""
        return self._probabilities_in(self._run(pixels))

    def probabilities_batch(self, images: np.ndarray) -> np.ndarray:
        """(n, 10) probabilities for (n, 28, 28) images, one interpreter call each.

        The file's signature takes one image; each call takes the lock on its own, so a long
        batch never holds up another session's single digit for more than one call.
        """
        images = np.asarray(images)
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise ValueError(f"expected images of shape (n, 28, 28), got shape {images.shape}")
        result = np.empty((len(images), 10), np.float32)
        for index, image in enumerate(images):
            result[index] = self.probabilities(image)
        return result

    def activations(self, pixels: np.ndarray) -> dict[str, np.ndarray]:
        """Every layer's output for one image, in layer order, keyed by layer name (no batch axis).

        Empty for a file converted without activation outputs.
        """
        return self._activations_in(self._run(pixels))

    def _probabilities_in(self, outputs: dict[str, np.ndarray]) -> np.ndarray:
        return np.asarray(outputs[self._probabilities_name], dtype=np.float32).reshape(10)

    def _activations_in(self, outputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {_layer_name(name): outputs[name][0] for name in self._activation_names}


def _layer_name(output_name: str) -> str:
    """`act_03_conv_1` -> `conv_1`."""
    return output_name.split("_", 2)[2]


def load_classifier(path: str | os.PathLike) -> Classifier:
    """Load a `.tflite` model with LiteRT and check that it follows the contract.

    Raises ModelLoadError, with a message for the user that names the file but not where it
    lives, for a missing, damaged or incompatible file, or one that gives no probabilities.
    """
    path = Path(path)
    if path.suffix != ".tflite":
        raise ModelLoadError(f"{path.name} is not a LiteRT model file (expected a .tflite file).")
    try:
        # Bytes, not a path: LiteRT's own errors would show the absolute path.
        content = path.read_bytes()
    except OSError:
        raise ModelLoadError(f"The model file {path.name} is missing or cannot be read.") from None
    if not content:
        raise ModelLoadError(f"The model file {path.name} is empty (damaged or not fully written).")

    from ai_edge_litert.interpreter import Interpreter

    try:
        runner = Interpreter(model_content=content, num_threads=1).get_signature_runner()
    except Exception as error:  # LiteRT raises ValueError or RuntimeError for a bad file.
        raise ModelLoadError(
            f"The model file {path.name} is damaged or not a model this app can load "
            f"({type(error).__name__}: {_first_line(error)})."
        ) from None
    classifier = Classifier(runner, path, *_check_signature(runner, path))
    _check_probabilities(classifier, path)
    return classifier


def _check_signature(runner: Any, path: Path) -> tuple[str, str]:
    """The input's name and the probabilities' output name, once their shapes fit the contract.

    A file with a single output is read as probabilities whatever its name, so a plain export
    of a contract model loads too (with no activations).
    """
    inputs, outputs = runner.get_input_details(), runner.get_output_details()
    input_name = next(iter(inputs)) if len(inputs) == 1 else None
    if PROBABILITIES_OUTPUT in outputs:
        output_name = PROBABILITIES_OUTPUT
    else:
        output_name = next(iter(outputs)) if len(outputs) == 1 else None
    taken = _shape(inputs[input_name]) if input_name else None
    given = _shape(outputs[output_name]) if output_name else None
    if taken != INPUT_SHAPE or given != OUTPUT_SHAPE or inputs[input_name]["dtype"] is not np.float32:
        raise ModelLoadError(
            f"The model in {path.name} does not fit this app: it takes {_show(taken)} and gives "
            f"{_show(given)}, but a digit classifier here must take 28x28x1 images and give 10 "
            "class probabilities."
        )
    return input_name, output_name


def _check_probabilities(classifier: Classifier, path: Path) -> None:
    """A blank digit and a scribble must give finite probabilities that sum to one."""
    for pixels in (np.zeros((28, 28), np.float32), SCRIBBLE):
        try:
            probabilities = classifier.probabilities(pixels)
        except Exception as error:
            raise ModelLoadError(
                f"The model in {path.name} fails on a 28x28 digit ({_first_line(error)})."
            ) from None
        if not (
            np.all(np.isfinite(probabilities))
            and np.all(probabilities >= 0)
            and abs(float(probabilities.sum()) - 1.0) < SUM_TOLERANCE
        ):
            raise ModelLoadError(
                f"The model in {path.name} does not output 10 probabilities (a softmax layer), "
                "so its answers cannot be shown as confidences."
            )


def _shape(details: dict[str, Any]) -> tuple[int, ...]:
    return tuple(int(size) for size in details["shape"])


def _show(shape: tuple[int, ...] | None) -> str:
    """A shape as the user thinks of it: the first axis is the batch."""
    if shape is None:
        return "several tensors"
    return "shape (" + ", ".join(["batch", *(str(size) for size in shape[1:])]) + ")"


# An absolute path in a library's message: only its last part is shown, never where files live.
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/])/(?:[^\s'\"/:,()]+/)*([^\s'\"/:,()]+)")


def _first_line(error: BaseException) -> str:
    """The error's first line for the user, shortened, with absolute paths cut to file names."""
    text = str(error).strip().splitlines()
    line = _ABSOLUTE_PATH.sub(r"\1", text[0]) if text else "no details"
    return line if len(line) <= 200 else line[:197] + "..."


def source_stamp(path: Path, with_hash: bool = True) -> dict[str, Any]:
    """What identifies a Keras file's content: mtime and size, and (costlier) its SHA-256."""
    stat = path.stat()
    stamp: dict[str, Any] = {"source_mtime_ns": stat.st_mtime_ns, "source_bytes": stat.st_size}
    if with_hash:
        stamp["source_sha256"] = _sha256(str(path), stat.st_mtime_ns, stat.st_size)
    return stamp


@functools.lru_cache(maxsize=256)
def _sha256(path: str, mtime_ns: int, size: int) -> str:
    """Hashed once per file version: pages ask about the shipped model on every script run."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def lite_is_fresh(folder: str | os.PathLike) -> bool:
    """Whether `folder`'s model.tflite was converted from the Keras file it is served from, as
    that file is now.

    The served file is model.keras, else checkpoint.keras, so a LiteRT file converted from a
    checkpoint is stale once the final model exists. Same mtime and size means unchanged; a
    different mtime with the same size is settled by the content hash, so the shipped model,
    whose mtime is whenever git checked it out, stays fresh.
    """
    folder = Path(folder)
    served = next((name for name in SOURCE_FILES if (folder / name).is_file()), None)
    try:
        info = json.loads((folder / LITE_INFO_FILE).read_text(encoding="utf-8"))
        if served is None or info["source"] != served or not (folder / LITE_MODEL_FILE).is_file():
            return False
        return stamp_matches(folder / served, info)
    except (OSError, ValueError, KeyError, TypeError):
        return False


def stamp_matches(path: Path, stamp: dict[str, Any]) -> bool:
    """Whether `path` is still the file `stamp` (from `source_stamp`) describes: the same size,
    and the same mtime or, where a checkout or a copy changed the mtime, the same content."""
    now = source_stamp(path, with_hash=False)
    if now["source_bytes"] != stamp.get("source_bytes"):
        return False
    if now["source_mtime_ns"] == stamp.get("source_mtime_ns"):
        return True
    return source_stamp(path)["source_sha256"] == stamp.get("source_sha256")
