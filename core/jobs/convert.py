"""Load a saved Keras model safely, and convert it into the LiteRT files the server predicts with.

Job processes only: they have TensorFlow, the Streamlit server does not (core/serving/inference.py reads
what this module writes). Keras and TensorFlow are imported inside the functions, so importing
this module is free.

Beside a run's model.keras (or checkpoint.keras) `write_lite_files` writes:
- model.tflite: the probabilities, and every layer's activation as a named output (`act_03_conv_1`),
  for one (1, 28, 28, 1) image; checked against Keras before it replaces the previous file;
- first_layer.npz: the first layer's weights as images, for the insight page;
- lite.json: which Keras file they came from and its stamp, for `inference.lite_is_fresh`.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from core.runs import atomic_files
from core.serving.inference import (
    ACTIVATION_PREFIX,
    FIRST_LAYER_FILE,
    LITE_INFO_FILE,
    LITE_MODEL_FILE,
    PROBABILITIES_OUTPUT,
    SCRIBBLE,
    SOURCE_FILES,
    ModelLoadError,
    _first_line,
    load_classifier,
    source_stamp,
)
from core.serving.saliency import FirstLayer

__all__ = ["first_layer_weights", "load_keras_model", "write_lite_files"]

INPUT_SHAPE = (None, 28, 28, 1)
OUTPUT_SHAPE = (None, 10)
# LiteRT's kernels round differently from TensorFlow's; measured differences stay below 1e-6, so
# anything near this bound means an operation was converted wrongly.
AGREEMENT = 1e-4


def load_keras_model(path: str | os.PathLike) -> Any:
    """Load a `.keras` model with `safe_mode=True` and check that it follows the contract.

    Raises ModelLoadError, with a message for the user that names the file but not where it
    lives, for a missing, damaged, unsafe or incompatible file.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"The model file {path.name} is missing.")
    if path.suffix != ".keras":
        raise ModelLoadError(f"{path.name} is not a Keras model file (expected a .keras file).")

    from core.jobs.device import configure_tensorflow

    configure_tensorflow()
    import keras

    if not zipfile.is_zipfile(path):  # Keras would call it "not found".
        raise ModelLoadError(f"The model file {path.name} is damaged: it is not a Keras (zip) archive.")
    try:
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # Keras raises many types for a damaged archive.
        raise ModelLoadError(
            f"The model file {path.name} is damaged or not a model this app can load "
            f"({type(error).__name__}: {_first_line(error)})."
        ) from None
    _check_contract(model, path.name)
    return model


def write_lite_files(model: Any, folder: Path, *, source_name: str) -> None:
    """Convert `model`, loaded from `folder / source_name`, into the folder's LiteRT files.

    Each file replaces its predecessor atomically. Nothing is replaced unless LiteRT's
    probabilities agree with Keras's within AGREEMENT on a blank digit and on a scribble: a model
    that converts wrongly must not be served. Raises ModelLoadError otherwise.
    """
    folder = Path(folder)
    if source_name not in SOURCE_FILES:
        raise ValueError(f"source_name must be one of {SOURCE_FILES}, got {source_name!r}")
    # Stamped before converting: a source rewritten meanwhile leaves the files marked stale.
    stamp = source_stamp(folder / source_name)
    _check_contract(model, source_name)
    with tempfile.TemporaryDirectory(prefix=".lite-", dir=folder) as scratch:
        exported = Path(scratch) / LITE_MODEL_FILE
        _export(model, exported, source_name)
        difference = _check_agreement(model, exported, source_name)
        with atomic_files.atomic_path(folder / LITE_MODEL_FILE) as temp:
            os.replace(exported, temp)
    _write_first_layer(model, folder)
    # Last, so the record never vouches for files that were not all written.
    atomic_files.write_json(
        folder / LITE_INFO_FILE, {"source": source_name, **stamp, "max_difference": difference}
    )


def _export(model: Any, path: Path, source_name: str) -> None:
    try:
        with atomic_files.disk_full_as("the model's copy for fast predictions"):
            _with_activations(model).export(str(path), format="litert", verbose=False)
    except atomic_files.DiskFullError:
        raise
    except Exception as error:  # The converter raises many types for an operation it lacks.
        raise ModelLoadError(
            f"The model in {source_name} cannot be converted for this app "
            f"({type(error).__name__}: {_first_line(error)})."
        ) from None


def _with_activations(model: Any) -> Any:
    """A model with the same input and dict outputs: `probabilities` and `act_NN_<layer>`.

    Every layer but the input counts, in `model.layers` order; a nested model (an imported
    model inside its wrapper) counts as one layer. Positions are zero-padded so that the names
    sort in layer order. LiteRT returns outputs by name, in an order of its own.
    """
    import keras

    traced, outputs = _trace(model)
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    width = max(2, len(str(len(layers) - 1)))
    named = {PROBABILITIES_OUTPUT: traced.outputs[0]}
    for position, layer in enumerate(layers):
        output = outputs.get(id(layer))
        if isinstance(output, keras.KerasTensor):  # Not a layer with several outputs.
            named[f"{ACTIVATION_PREFIX}{position:0{width}d}_{layer.name}"] = output
    return keras.Model(traced.inputs, named)


def _trace(model: Any) -> tuple[Any, dict[int, Any]]:
    """The model rebuilt from its own layers, and each layer's output tensor in it (by id).

    `layer.output` is a layer's first call: for a nested model that is its own inner graph,
    not its call here, so the calls are recorded while the graph is traced again.
    """
    import keras

    outputs: dict[int, Any] = {}

    def record(layer: Any, *args: Any, **kwargs: Any) -> Any:
        result = layer(*args, **kwargs)
        outputs.setdefault(id(layer), result)
        return result

    if isinstance(model, keras.Sequential):  # clone_model takes no call_function for these.
        inputs = keras.Input(INPUT_SHAPE[1:], name="pixels")
        x = inputs
        for layer in model.layers:
            x = record(layer, x)
        return keras.Model(inputs, x), outputs
    return keras.models.clone_model(model, clone_function=lambda layer: layer, call_function=record), outputs


def _check_agreement(model: Any, exported: Path, source_name: str) -> float:
    """The largest difference between LiteRT's and Keras's probabilities on two fixed digits."""
    classifier = load_classifier(exported)
    difference = 0.0
    for pixels in (np.zeros((28, 28), np.float32), SCRIBBLE):
        expected = np.asarray(model(pixels.reshape(1, 28, 28, 1), training=False), np.float32).reshape(10)
        difference = max(difference, float(np.abs(classifier.probabilities(pixels) - expected).max()))
    if not difference <= AGREEMENT:
        raise ModelLoadError(
            f"The model in {source_name} does not convert faithfully: its converted copy's "
            f"probabilities differ from the original's by {difference:.2g}, so it cannot be served."
        )
    return difference


def _write_first_layer(model: Any, folder: Path) -> None:
    """first_layer.npz, or no such file for a model without a first layer to show."""
    layer = first_layer_weights(model)
    target = folder / FIRST_LAYER_FILE
    if layer is None:
        target.unlink(missing_ok=True)  # A previous model's weights must not be shown for this one.
        return
    with atomic_files.atomic_path(target, suffix=".npz") as temp:
        np.savez(
            temp,
            kind=np.array(layer.kind),
            layer_name=np.array(layer.layer_name),
            images=layer.images,
            description=np.array(layer.description),
        )


def _layers_in_order(model: Any):
    """Every layer, nested models (e.g. an imported model inside its wrapper) expanded."""
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            yield from _layers_in_order(layer)
        else:
            yield layer


def first_layer_weights(model: Any) -> FirstLayer | None:
    """The first Dense or Conv2D layer's weights as images, or None if there is neither.

    A Dense layer that reads the 784 pixels gives one 28x28 image per hidden unit: the pattern
    of pixels that excites it. A Conv2D layer on the one-channel digit gives one k x k filter.
    Any other first layer (a Dense on features, a Conv2D on several channels) gives None.
    """
    import keras

    for layer in _layers_in_order(model):
        if isinstance(layer, keras.layers.Conv2D):
            kernel = np.asarray(layer.kernel, dtype=np.float32)  # (k, k, channels, filters)
            if kernel.shape[2] != 1:
                return None
            images = np.ascontiguousarray(np.transpose(kernel[:, :, 0, :], (2, 0, 1)))
            size = f"{kernel.shape[0]}x{kernel.shape[1]}"
            return FirstLayer("conv", layer.name, images, f"{images.shape[0]} filters of {size} pixels")
        if isinstance(layer, keras.layers.Dense):
            kernel = np.asarray(layer.kernel, dtype=np.float32)  # (inputs, units)
            if kernel.shape[0] != 784:
                return None
            images = np.ascontiguousarray(kernel.T.reshape(-1, 28, 28))
            return FirstLayer(
                "dense", layer.name, images, f"{images.shape[0]} hidden units, 784 weights each"
            )
    return None


def _check_contract(model: Any, file_name: str) -> None:
    try:
        inputs, outputs = _shape(model.input_shape), _shape(model.output_shape)
    except (AttributeError, ValueError, TypeError):
        inputs = outputs = None
    if inputs != INPUT_SHAPE or outputs != OUTPUT_SHAPE:
        raise ModelLoadError(
            f"The model in {file_name} does not fit this app: it takes {_show(inputs)} and gives "
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
