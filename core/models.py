"""Build and compile the Keras model a configuration describes.

Every model follows the project's model contract: it takes raw 0-255 pixels of shape (28, 28, 1),
normalises them itself and returns 10 softmax probabilities. Keeping preprocessing inside the
model means a saved .keras file is all the drawing canvas, the exporter and the evaluation page
need, and it uses only built-in layers so `keras.saving.load_model(path, safe_mode=True)` loads it.

core.architecture mirrors the layers built here without importing TensorFlow; the unit tests
keep the two in step, so a change to a layer here needs the same change there.
"""

from __future__ import annotations

import keras

from core.architecture import IMAGE_SHAPE, NUM_CLASSES
from core.config import ConvBlock, ModelConfig

# Mean and standard deviation of MNIST training pixels on the [0, 1] scale. Only defaults for
# summaries and tests: the worker passes the statistics of the digits it actually trains on.
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081

SHIFT_FRACTION = 0.1
ROTATION_DEGREES = 10.0


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
    inputs = keras.Input(shape=IMAGE_SHAPE, dtype="float32", name="pixels")
    x = inputs
    if config.augment:
        x = _augment(x)
    x = _normalize(x, config.normalization, pixel_mean, pixel_std)
    if config.architecture == "mlp":
        x = _mlp_body(x, config)
    else:
        x = _cnn_body(x, config)
    outputs = keras.layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=config.architecture)


def _augment(x):
    """Small random shifts and rotations, active only while training.

    They run on raw pixels, before normalisation, so the constant fill of 0 is the black
    background whichever normalisation follows.
    """
    x = keras.layers.RandomTranslation(
        SHIFT_FRACTION, SHIFT_FRACTION, fill_mode="constant", name="augment_shift"
    )(x)
    return keras.layers.RandomRotation(ROTATION_DEGREES / 360.0, fill_mode="constant", name="augment_rotate")(
        x
    )


def _normalize(x, normalization: str, pixel_mean: float, pixel_std: float):
    """Map raw 0-255 pixels to [0, 1], or to zero mean and unit variance."""
    if normalization == "unit":
        return keras.layers.Rescaling(1.0 / 255.0, name="rescale")(x)
    return keras.layers.Rescaling(
        1.0 / (255.0 * pixel_std), offset=-pixel_mean / pixel_std, name="standardize"
    )(x)


def _mlp_body(x, config: ModelConfig):
    x = keras.layers.Flatten(name="flatten")(x)
    for index, layer in enumerate(config.hidden_layers, start=1):
        x = keras.layers.Dense(layer.units, activation=layer.activation, name=f"dense_{index}")(x)
        if layer.dropout > 0:
            x = keras.layers.Dropout(layer.dropout, name=f"dropout_{index}")(x)
    return x


def _cnn_body(x, config: ModelConfig):
    for index, block in enumerate(config.conv_blocks, start=1):
        x = _conv_block(x, block, index)
    x = keras.layers.Flatten(name="flatten")(x)
    head = config.head
    x = keras.layers.Dense(head.units, activation=head.activation, name="head")(x)
    if head.dropout > 0:
        x = keras.layers.Dropout(head.dropout, name="head_dropout")(x)
    return x


def _conv_block(x, block: ConvBlock, index: int):
    """Convolution, optional batch norm, ReLU, optional 2x2 max-pool, optional dropout.

    With batch norm the convolution has no bias: normalisation subtracts the mean right away,
    so a bias would be a wasted parameter that batch norm's own offset already provides.
    """
    x = keras.layers.Conv2D(
        block.filters,
        block.kernel_size,
        padding="same",
        use_bias=not block.batch_norm,
        name=f"conv_{index}",
    )(x)
    if block.batch_norm:
        x = keras.layers.BatchNormalization(name=f"batch_norm_{index}")(x)
    x = keras.layers.ReLU(name=f"relu_{index}")(x)
    if block.pool:
        x = keras.layers.MaxPooling2D(2, name=f"pool_{index}")(x)
    if block.dropout > 0:
        x = keras.layers.Dropout(block.dropout, name=f"conv_dropout_{index}")(x)
    return x


def compile_model(model: keras.Model, config: ModelConfig, steps_per_epoch: int) -> None:
    """Attach the optimiser, learning rate schedule, loss and accuracy metric.

    `steps_per_epoch` sizes the schedules, which Keras advances once per batch.
    """
    model.compile(
        optimizer=_make_optimizer(config, learning_rate_schedule(config, steps_per_epoch)),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )


def learning_rate_schedule(config: ModelConfig, steps_per_epoch: int):
    """A float for a constant rate, otherwise a built-in schedule object.

    The warm-up starts from 0 and climbs linearly to the configured rate, which keeps the first
    large updates from destabilising freshly initialised weights (and batch-norm statistics).
    """
    rate = config.learning_rate
    if config.schedule == "constant":
        return rate
    if config.schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(rate, decay_steps=config.epochs * steps_per_epoch)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0,
        decay_steps=(config.epochs - config.warmup_epochs) * steps_per_epoch,
        warmup_target=rate,
        warmup_steps=config.warmup_epochs * steps_per_epoch,
    )


def _make_optimizer(config: ModelConfig, learning_rate) -> keras.optimizers.Optimizer:
    if config.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate)
    if config.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate)
    return keras.optimizers.SGD(learning_rate, momentum=config.momentum)
