"""Small Keras models trained in a second or two, for tests that need a real, sensible model.

Each model and each tiny run is trained once per test session: the first test that asks trains
it into `CACHE` (set by tests/conftest.py, shared by every pytest-xdist worker of the session,
a file lock keeping the others waiting), and every test gets its own copy: a fresh model loaded
from the saved file, or a fresh run folder in its own runs folder.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from core.data.mnist import load_mnist
from core.networks.config import ModelConfig
from core.runs import layout, registry

TRAIN_DIGITS = 3000
CACHE: Path | None = None  # The session's trained models and runs; None trains afresh each time.


def _cached(key: str, make: Callable[[Path], None]) -> Path:
    """The folder CACHE/`key`, filled by `make(folder)` once per session, whichever worker asks
    first; the others wait on its lock and find it complete (it is renamed into place)."""
    if CACHE is None:
        folder = Path(tempfile.mkdtemp(prefix="tiny-model-")) / key
        make(folder)
        return folder
    CACHE.mkdir(parents=True, exist_ok=True)
    folder = CACHE / key
    with open(CACHE / f".{key}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not folder.is_dir():
            staging = CACHE / f".{key}.making"
            shutil.rmtree(staging, ignore_errors=True)
            make(staging)
            os.rename(staging, folder)
    return folder


def _cached_model(key: str, train: Callable[[], object]):
    """A fresh copy of the model `train()` returns, trained once per session (loaded from its file)."""
    folder = _cached(key, lambda staging: _save(train(), staging))
    return keras_module().saving.load_model(folder / layout.MODEL_FILE)


def _save(model, folder: Path) -> None:
    folder.mkdir(parents=True)
    model.save(folder / layout.MODEL_FILE)


@contextmanager
def _runs_dir(path: Path):
    before = os.environ.get("MNIST_RUNS_DIR")
    os.environ["MNIST_RUNS_DIR"] = str(path)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("MNIST_RUNS_DIR", None)
        else:
            os.environ["MNIST_RUNS_DIR"] = before


def keras_module():
    from core.jobs.device import configure_tensorflow

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
    return _cached_model(f"contract-mlp-{units}", lambda: _contract_mlp(units))


def _contract_mlp(units: int):
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
    return _cached_model("contract-cnn", _contract_cnn)


def _contract_cnn():
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
    return _cached_model("vector-unit-scale-logits", _vector_unit_scale_logits)


def _vector_unit_scale_logits():
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
    model.save(run.path / layout.MODEL_FILE)
    registry.update_status(run, {"state": state, "phase": "done"})
    return registry.reload(run)


def tiny_run(preset: str, name: str, **changes) -> registry.RunRecord:
    """A real run of a preset on 2,500 digits, trained by the worker's loop once per session (in
    the process that asked first), copied into $MNIST_RUNS_DIR as a new run called `name`."""
    key = "run-" + "-".join([preset, *(f"{key}={value}" for key, value in sorted(changes.items()))])
    runs_root = _cached(key, lambda staging: _train_tiny_run(staging, preset, changes))
    (trained,) = (path for path in runs_root.iterdir() if path.is_dir() and not path.name.startswith("."))
    return copy_of_run(trained, name)


def _train_tiny_run(runs_root: Path, preset: str, changes: dict) -> None:
    from core.jobs.worker import train_run
    from core.networks.config import PRESETS

    config = PRESETS[preset].config.with_changes(train_limit=2500, validation_size=1000, **changes)
    with _runs_dir(runs_root):
        run = registry.create_run(config, "trained once", start_now=True)  # Running: no scheduler picks it.
        run = train_run(run)
    assert run.state == "finished", run.status.get("error")


def copy_of_run(source: Path, name: str) -> registry.RunRecord:
    """A new run in $MNIST_RUNS_DIR (a fresh id, created now) holding the files of the finished
    run at `source`, under `name`."""
    trained = registry.open_run(source)
    own = (layout.CONFIG_FILE, layout.META_FILE, layout.STATUS_FILE)

    def add_files(folder: Path) -> None:
        for item in source.iterdir():
            if item.name.startswith(".") or item.name in own:
                continue
            if item.is_dir():
                shutil.copytree(item, folder / item.name)
            else:
                shutil.copy2(item, folder / item.name)

    return registry.create_run(
        trained.config,
        name,
        status_changes={key: value for key, value in trained.status.items() if key != "created"},
        meta_changes={key: value for key, value in trained.meta.items() if key != "name"},
        add_files=add_files,
    )
