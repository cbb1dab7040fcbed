"""The whole network a configuration describes, and what it costs, without TensorFlow.

`network(config)` is the one description of a model's layers: the input, optional augmentation,
normalisation, the family's layers, then the classifier. `core.jobs.models` builds Keras from it and
`core.runs.export` writes it as code; here it gives the train page its layer table, parameter counts
and size, memory and time estimates on every edit of a setting, without the seconds TensorFlow
takes to import. Those estimates read `layer_specs(config)`, built once per config.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from core.networks import recipe
from core.networks.config import ModelConfig, family_of
from core.networks.layers import Code, Graph, LayerSpec

IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10

# Mean and standard deviation of MNIST training pixels on the [0, 1] scale. Only defaults for
# summaries and tests: the worker passes the statistics of the digits it actually trains on.
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081

# Constants of the .keras size estimate, fitted to real saves (see `model_file_size_bytes`).
BYTES_PER_FLOAT = 4
BYTES_PER_ARRAY = 350
BYTES_PER_LAYER = 2_750
BYTES_BASE = 10_000

# Constants of the time estimate, fitted on this project's 2-core CPU VM (bench/epoch_time.py):
# training does about three forward passes of work per image (the forward pass, and the backward
# pass's two products), at an effective rate of arithmetic plus one of memory traffic, which
# dominates cheap layers with large outputs (batch norm, ReLU) and that FLOPs alone miss.
TRAINING_FLOPS_PER_SECOND = 97e9
LAYER_VALUES_PER_SECOND = 4.5e9
# An epoch of a real run costs more than that arithmetic: the training job's hold-out pass,
# metrics streamed as it goes, a checkpoint each epoch, the server and other jobs on the same two
# cores. Full 55,000-digit epochs under `python -m core.train` on this machine (BENCHMARKS.md
# "Epoch time estimate"): the seed MLP 6.8 and 9.6 s, the Fast CNN 19.6 s, against 2.4 and 6.5 s
# of arithmetic.
RUN_OVERHEAD = 3.0


@dataclass(frozen=True)
class LayerRow:
    """One line of the model summary, as Keras' `model.summary()` prints it."""

    name: str
    type: str
    output_shape: str
    params: int
    trainable_params: int


def network(config: ModelConfig, pixel_mean=MNIST_MEAN, pixel_std=MNIST_STD) -> Graph:
    """The layers of `config`'s model, following the model contract (docs/ARCHITECTURE.md).

    Raw 0-255 pixels go in; augmentation (only active while training) works on them before
    normalisation, so its constant fill of 0 is the black background whichever normalisation
    follows; the output is 10 softmax probabilities.
    """
    graph = Graph("pixels", IMAGE_SHAPE)
    if config.augment:
        _add_augmentation(graph, config)
    if config.normalization == "unit":
        graph.add("Rescaling", "rescale", scale=Code("1 / 255", 1 / 255), note="pixels to [0, 1]")
    else:
        graph.add(
            "Rescaling",
            "standardize",
            scale=1 / (255 * pixel_std),
            offset=-pixel_mean / pixel_std,
            note="mean 0 and deviation 1 over the training digits",
        )
    family = family_of(config.network)
    family.build(config.network, graph)
    graph.add("Dense", "probabilities", units=NUM_CLASSES, activation="softmax")
    return graph


@functools.lru_cache(maxsize=256)
def layer_specs(config: ModelConfig) -> tuple[LayerSpec, ...]:
    """`network(config)`'s layers, built once per config (a frozen, hashable dataclass) for the
    estimates below: a rerun of the train page asks for five of them, a visitor's for eleven, and
    the compare page one per run. A tuple of frozen specs, so no caller can change what the next
    one reads; the pixel statistics are MNIST's, which no estimate depends on."""
    return tuple(network(config).layers)


def _add_augmentation(graph: Graph, config: ModelConfig) -> None:
    """Random shifts, rotations, zooms and shears of each training digit; each layer is an
    identity outside training, so saved models keep the model contract. The fill is 0: the
    black background of raw pixels."""
    fill = {"fill_mode": "constant"}
    if config.shift_fraction:
        shift = config.shift_fraction
        graph.add("RandomTranslation", "augment_shift", height_factor=shift, width_factor=shift, **fill)
    if config.rotation_degrees:
        degrees = config.rotation_degrees
        turn = Code(f"{degrees:g} / 360", degrees / 360)  # Keras counts a full turn as 1.
        graph.add("RandomRotation", "augment_rotate", factor=turn, **fill)
    if config.zoom_fraction:
        graph.add("RandomZoom", "augment_zoom", height_factor=config.zoom_fraction, **fill)
    if config.shear_factor:
        # A range from 0: the layer flips the sign itself, and Keras 3.15 saves a plain number as
        # (-shear, shear), which its own loader then refuses.
        shear = (0.0, config.shear_factor)
        graph.add("RandomShear", "augment_shear", x_factor=shear, y_factor=shear, **fill)


def summary_rows(config: ModelConfig) -> list[LayerRow]:
    """The layers of the model, with output shapes and parameter counts."""
    return [
        LayerRow(
            name=layer.name,
            type=layer.type,
            output_shape="(" + ", ".join(["None", *map(str, layer.shape)]) + ")",
            params=layer.params,
            trainable_params=layer.trainable_params,
        )
        for layer in layer_specs(config)
    ]


def parameter_counts(config: ModelConfig) -> tuple[int, int]:
    """(trainable, total) parameters; batch-norm moving statistics are the non-trainable ones."""
    layers = layer_specs(config)
    return sum(layer.trainable_params for layer in layers), sum(layer.params for layer in layers)


def model_file_size_bytes(config: ModelConfig) -> int:
    """Estimated size of the trained model saved as .keras.

    Keras 3 stores the optimiser state next to the weights, so the file holds float32 copies of

        total parameters + slots_per_weight * trainable parameters

    (`recipe.optimizer_slots`). The zip is stored uncompressed, and each HDF5 array and each
    layer (its HDF5 groups and JSON config) adds a roughly fixed overhead:

        4 * floats + 350 * arrays + 2,750 * layers + 10,000 bytes

    where arrays counts weight and slot arrays alike. Fitted to Keras 3.15 saves of nine varied
    models (760 to 1.6 million parameters, all three optimisers), it was within 1%
    of every one. A model saved before any training step has no slots yet, so it is smaller.
    """
    layers = layer_specs(config)
    slots = recipe.optimizer_slots(config)
    floats = sum(layer.params + slots * layer.trainable_params for layer in layers)
    arrays = sum(len(layer.weights) + slots * layer.trainable_arrays for layer in layers)
    return BYTES_PER_FLOAT * floats + BYTES_PER_ARRAY * arrays + BYTES_PER_LAYER * len(layers) + BYTES_BASE


def training_memory_bytes(config: ModelConfig) -> int:
    """Memory the model needs while training, beyond TensorFlow's own (~650 MB here).

    Weights, their gradients and the optimiser's slots, plus one batch's activations, kept for
    the backward pass, and their gradients: float32 throughout.
    """
    layers = layer_specs(config)
    trainable = sum(layer.trainable_params for layer in layers)
    weights = sum(layer.params for layer in layers) + trainable * (1 + recipe.optimizer_slots(config))
    activations = 2 * config.batch_size * sum(math.prod(layer.shape) for layer in layers)
    return BYTES_PER_FLOAT * (weights + activations)


def epoch_seconds(config: ModelConfig) -> float:
    """Estimated seconds of one epoch of a run on this project's reference 2-core CPU VM, as the
    training job trains it: the arithmetic (within 0.6-1.3x of seven networks of every family)
    times the job's own overhead (within 1.5x of full epochs measured; BENCHMARKS.md)."""
    layers = layer_specs(config)
    flops = sum(layer.flops for layer in layers)
    values = sum(math.prod(layer.shape) for layer in layers)
    per_image = flops / TRAINING_FLOPS_PER_SECOND + values / LAYER_VALUES_PER_SECOND
    return RUN_OVERHEAD * 3 * per_image * config.training_samples
