"""Small Keras models trained in a second or two, for tests that need a real, sensible model."""

from __future__ import annotations

import numpy as np

from core import registry
from core.config import ModelConfig
from core.data import load_mnist

TRAIN_DIGITS = 3000


def keras_module():
    from core.device import configure_tensorflow

    configure_tensorflow()
    import keras

    return keras


def training_digits(count: int = TRAIN_DIGITS) -> tuple[np.ndarray, np.ndarray]:
    data = load_mnist()
    return data.x_train[-count:], data.y_train[-count:]  # The end: importer samples the start.


def fit(model, scale: float = 1.0, epochs: int = 2):
    """Train on raw pixels times `scale`, in the shape the model's input asks for."""
    x, y = training_digits()
    shape = tuple(model.input_shape[1:])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(
        (x.astype(np.float32) * scale).reshape((-1, *shape)), y, epochs=epochs, batch_size=64, verbose=0
    )
    return model


def contract_mlp(units: int = 32):
    """Follows the model contract: (28, 28, 1) raw pixels, Rescaling inside, softmax out."""
    keras = keras_module()
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Flatten(),
            keras.layers.Dense(units, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    return fit(model)


def contract_cnn():
    keras = keras_module()
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Conv2D(8, 5, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    return fit(model)


def vector_unit_scale_logits():
    """A 784-input model trained on [0, 1] pixels that outputs logits (no softmax)."""
    keras = keras_module()
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((784,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10)]
    )
    x, y = training_digits()
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x.reshape(-1, 784).astype(np.float32) / 255.0, y, epochs=2, batch_size=64, verbose=0)
    return model


def finished_run(
    model, name: str, config: ModelConfig | None = None, state: str = "finished"
) -> registry.RunRecord:
    """A run folder (in $MNIST_RUNS_DIR) holding `model`, with no evaluation yet."""
    run = registry.create_run(config or ModelConfig(epochs=1), name)
    model.save(run.path / registry.MODEL_FILE)
    registry.update_status(run, {"state": state, "phase": "done"})
    return registry.reload(run)


def tiny_run(preset: str, name: str, **changes) -> registry.RunRecord:
    """A real run of a preset on 2,500 digits, trained in this process by the worker's loop."""
    from core.config import PRESETS
    from core.worker import train_run

    config = PRESETS[preset].config.with_changes(train_limit=2500, validation_size=1000, **changes)
    run = registry.create_run(config, name, start_now=True)  # Running: no scheduler picks it.
    return train_run(run)
