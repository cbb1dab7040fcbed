"""Build and compile the Keras model a configuration describes (job processes only).

Every model follows the project's model contract: it takes raw 0-255 pixels of shape (28, 28, 1),
normalises them itself and returns 10 softmax probabilities. Keeping preprocessing inside the
model means a saved .keras file is all the drawing canvas, the exporter and the evaluation page
need, and it uses only built-in layers so `keras.saving.load_model(path, safe_mode=True)` loads it.
The layers themselves come from `core.networks.architecture.network`, the one description of a network.
"""

from __future__ import annotations

import keras

from core.networks import architecture, recipe
from core.networks.architecture import MNIST_MEAN, MNIST_STD
from core.networks.config import ModelConfig
from core.networks.layers import Graph, value_of

# Training steps run per call into the framework. One call per batch costs the host a round trip
# (Python, callbacks, dispatch) each time: 8 measured 12-18% less CPU per seed-MLP epoch than 1
# on 2 cores (BENCHMARKS), and Stop, checked between calls, still answers within 8 batches (under
# a second even for the largest preset on a CPU).
STEPS_PER_EXECUTION = 8


def build_model(
    config: ModelConfig, pixel_mean: float = MNIST_MEAN, pixel_std: float = MNIST_STD
) -> keras.Model:
    """The uncompiled model for `config`.

    The global seed is set first so that the same seed and configuration start from the same
    weights and draw the same dropout, augmentation and shuffling noise, which makes runs
    comparable. On the CPU that alone reproduces a run's metrics exactly, so this module does not
    call `tf.config.experimental.enable_op_determinism()`: it is process-wide and measured
    about 5% slower on the CPU for no gain there.
    """
    keras.utils.set_random_seed(config.seed)
    return keras_model(architecture.network(config, pixel_mean, pixel_std), name=config.architecture)


def keras_model(graph: Graph, name: str) -> keras.Model:
    """The functional Keras model of a graph of layer specs."""
    first, *rest = graph.layers
    tensors = {first.name: keras.Input(shape=first.shape, dtype="float32", name=first.name)}
    for spec in rest:
        layer_class = getattr(keras.layers, spec.type)
        layer = layer_class(**{key: value_of(value) for key, value in spec.args.items()}, name=spec.name)
        inputs = [tensors[input_name] for input_name in spec.inputs]
        tensors[spec.name] = layer(inputs[0] if len(inputs) == 1 else inputs)
    return keras.Model(tensors[first.name], tensors[graph.output], name=name)


def compile_model(
    model: keras.Model,
    config: ModelConfig,
    steps_per_epoch: int,
    steps_per_execution: int = STEPS_PER_EXECUTION,
) -> None:
    """Attach the optimiser, learning rate schedule, loss and accuracy metric."""
    model.compile(
        optimizer=make_optimizer(config, steps_per_epoch),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )


def make_optimizer(config: ModelConfig, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    learning_rate = config.learning_rate
    schedule = recipe.schedule_call(
        config, learning_rate, config.epochs, config.warmup_epochs, steps_per_epoch
    )
    if schedule:
        schedule_class, arguments = schedule
        learning_rate = getattr(keras.optimizers.schedules, schedule_class)(**arguments)
    optimizer_class, arguments = recipe.optimizer_call(config)
    return getattr(keras.optimizers, optimizer_class)(learning_rate, **arguments)
