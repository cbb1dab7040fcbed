"""The model's layer table and size, worked out without TensorFlow.

The train page redraws the summary and parameter count on every edit of a setting. Importing
TensorFlow takes seconds, so this module derives the same numbers from the configuration alone by
mirroring `core.models.build_model` layer for layer; tests/unit/test_models.py checks that the two
agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.config import ConvBlock, DenseLayer, ModelConfig

IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10

# Constants of the .keras size estimate, fitted to real saves (see `model_file_size_bytes`).
BYTES_PER_FLOAT = 4
BYTES_PER_ARRAY = 350
BYTES_PER_LAYER = 2_750
BYTES_BASE = 10_000


@dataclass(frozen=True)
class LayerRow:
    """One line of the model summary, as Keras' `model.summary()` prints it."""

    name: str
    type: str
    output_shape: str
    params: int
    trainable_params: int


@dataclass(frozen=True)
class _Layer:
    name: str
    type: str
    shape: tuple[int, ...]
    # (size, trainable) of each weight array, in the order Keras creates them.
    weights: tuple[tuple[int, bool], ...] = ()

    @property
    def params(self) -> int:
        return sum(size for size, _ in self.weights)

    @property
    def trainable_params(self) -> int:
        return sum(size for size, trainable in self.weights if trainable)

    @property
    def trainable_arrays(self) -> int:
        return sum(trainable for _, trainable in self.weights)


def summary_rows(config: ModelConfig) -> list[LayerRow]:
    """The layers `build_model(config)` creates, with output shapes and parameter counts."""
    return [
        LayerRow(
            name=layer.name,
            type=layer.type,
            output_shape="(" + ", ".join(["None", *map(str, layer.shape)]) + ")",
            params=layer.params,
            trainable_params=layer.trainable_params,
        )
        for layer in _layers(config)
    ]


def parameter_counts(config: ModelConfig) -> tuple[int, int]:
    """(trainable, total) parameters; batch-norm moving statistics are the non-trainable ones."""
    layers = _layers(config)
    return sum(layer.trainable_params for layer in layers), sum(layer.params for layer in layers)


def model_file_size_bytes(config: ModelConfig) -> int:
    """Estimated size of the trained model saved as .keras.

    Keras 3 stores the optimiser state next to the weights, so the file holds float32 copies of

        total parameters + slots_per_weight * trainable parameters

    where the optimiser keeps 2 slots per trainable weight for Adam (first and second moments),
    1 for RMSprop (its running mean of squared gradients), 1 for SGD with momentum and 0 for
    plain SGD. The zip is stored uncompressed, and each HDF5 array and each layer (its HDF5
    groups and JSON config) adds a roughly fixed overhead:

        4 * floats + 350 * arrays + 2,750 * layers + 10,000 bytes

    where arrays counts weight and slot arrays alike. Fitted to Keras 3.15 saves of nine varied
    models (760 to 1.6 million parameters, all three optimisers), it was within 1%
    of every one. A model saved before any training step has no slots yet, so it is smaller.
    """
    layers = _layers(config)
    slots = _optimizer_slots(config)
    floats = sum(layer.params + slots * layer.trainable_params for layer in layers)
    arrays = sum(len(layer.weights) + slots * layer.trainable_arrays for layer in layers)
    return BYTES_PER_FLOAT * floats + BYTES_PER_ARRAY * arrays + BYTES_PER_LAYER * len(layers) + BYTES_BASE


def _optimizer_slots(config: ModelConfig) -> int:
    if config.optimizer == "adam":
        return 2
    if config.optimizer == "rmsprop":
        return 1
    return 1 if config.momentum > 0 else 0


def _layers(config: ModelConfig) -> list[_Layer]:
    layers = [_Layer("pixels", "InputLayer", IMAGE_SHAPE)]
    if config.augment:
        layers.append(_Layer("augment_shift", "RandomTranslation", IMAGE_SHAPE))
        layers.append(_Layer("augment_rotate", "RandomRotation", IMAGE_SHAPE))
    rescale_name = "rescale" if config.normalization == "unit" else "standardize"
    layers.append(_Layer(rescale_name, "Rescaling", IMAGE_SHAPE))
    if config.architecture == "mlp":
        layers += _mlp_layers(config.hidden_layers)
    else:
        layers += _cnn_layers(config.conv_blocks, config.head)
    layers.append(_dense("probabilities", layers[-1].shape[-1], NUM_CLASSES))
    return layers


def _mlp_layers(hidden_layers: tuple[DenseLayer, ...]) -> list[_Layer]:
    layers = [_Layer("flatten", "Flatten", (math.prod(IMAGE_SHAPE),))]
    for index, layer in enumerate(hidden_layers, start=1):
        inputs = layers[-1].shape[-1]
        layers += _dense_with_dropout(layer, inputs, f"dense_{index}", f"dropout_{index}")
    return layers


def _cnn_layers(blocks: tuple[ConvBlock, ...], head: DenseLayer) -> list[_Layer]:
    layers: list[_Layer] = []
    shape = IMAGE_SHAPE
    for index, block in enumerate(blocks, start=1):
        layers += _conv_block_layers(block, index, shape)
        shape = layers[-1].shape
    layers.append(_Layer("flatten", "Flatten", (math.prod(shape),)))
    return layers + _dense_with_dropout(head, math.prod(shape), "head", "head_dropout")


def _conv_block_layers(block: ConvBlock, index: int, shape: tuple[int, ...]) -> list[_Layer]:
    height, width, channels = shape
    filters = block.filters
    kernel = (block.kernel_size**2 * channels * filters, True)
    conv_weights = (kernel,) if block.batch_norm else (kernel, (filters, True))
    shape = (height, width, filters)
    layers = [_Layer(f"conv_{index}", "Conv2D", shape, conv_weights)]
    if block.batch_norm:
        # gamma and beta learn; the moving mean and variance are updated, not trained.
        weights = ((filters, True), (filters, True), (filters, False), (filters, False))
        layers.append(_Layer(f"batch_norm_{index}", "BatchNormalization", shape, weights))
    layers.append(_Layer(f"relu_{index}", "ReLU", shape))
    if block.pool:
        shape = (height // 2, width // 2, filters)
        layers.append(_Layer(f"pool_{index}", "MaxPooling2D", shape))
    if block.dropout > 0:
        layers.append(_Layer(f"conv_dropout_{index}", "Dropout", shape))
    return layers


def _dense_with_dropout(layer: DenseLayer, inputs: int, dense_name: str, dropout_name: str) -> list[_Layer]:
    layers = [_dense(dense_name, inputs, layer.units)]
    if layer.dropout > 0:
        layers.append(_Layer(dropout_name, "Dropout", (layer.units,)))
    return layers


def _dense(name: str, inputs: int, units: int) -> _Layer:
    return _Layer(name, "Dense", (units,), ((inputs * units, True), (units, True)))
