"""Seconds per epoch of each preset on this machine's accelerator, and the test accuracy reached.

Runs the worker's own training path (`prepare_split`, `build_model`, `fit_model`) on whichever
Keras backend `KERAS_BACKEND` names, so it also measures a GPU machine that has JAX and no
TensorFlow. Each preset trains for `--epochs` epochs (its own count with `--full`); the first
epoch includes compilation and is reported apart. A line of JSON per preset goes to stdout and to
`--out`, so a run cut short by a deadline still leaves what it measured.

    python bench/preset_epochs.py --epochs 3
    KERAS_BACKEND=jax python bench/preset_epochs.py --full best-cnn --deadline 400
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import keras  # noqa: E402

from core.data.mnist import load_mnist  # noqa: E402
from core.jobs.models import build_model, compile_model  # noqa: E402
from core.jobs.worker import fit_model, pixel_statistics, prepare_split  # noqa: E402
from core.networks.config import PRESETS  # noqa: E402


class EpochClock(keras.callbacks.Callback):
    """Wall seconds of each epoch, validation included; stops training past a deadline."""

    def __init__(self, name: str, deadline: float):
        super().__init__()
        self.name, self.deadline, self.seconds = name, deadline, []

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.started)
        print(f"{self.name} epoch {epoch + 1}: {self.seconds[-1]:.2f} s", file=sys.stderr, flush=True)
        if time.monotonic() > self.deadline:
            self.model.stop_training = True


def accelerator() -> str:
    """The device the backend computes on, in words."""
    if keras.backend.backend() == "jax":
        import jax

        device = jax.devices()[0]
        return f"{device.platform}: {device.device_kind}"
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return f"gpu: {len(gpus)} seen by TensorFlow" if gpus else "cpu"


def train_preset(name: str, epochs: int | None, deadline: float) -> dict:
    config = PRESETS[name].config
    if epochs:
        config = config.with_changes(epochs=epochs)
    data = load_mnist()
    split = prepare_split(config, data)
    mean, std = pixel_statistics(split.x_train)
    model = build_model(config, pixel_mean=mean, pixel_std=std)
    compile_model(model, config, steps_per_epoch=math.ceil(len(split.y_train) / config.batch_size))
    clock = EpochClock(name, deadline)
    fit_model(model, config, split, [clock])
    _, test_accuracy = model.evaluate(data.x_test[..., None], data.y_test, batch_size=1000, verbose=0)
    later = clock.seconds[1:]
    return {
        "preset": name,
        "backend": keras.backend.backend(),
        "device": accelerator(),
        "epochs_run": len(clock.seconds),
        "epochs_planned": config.epochs,
        "first_epoch_s": round(clock.seconds[0], 2),
        "later_epoch_median_s": round(sorted(later)[len(later) // 2], 2) if later else None,
        "test_accuracy": round(float(test_accuracy), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("presets", nargs="*", default=sorted(PRESETS))
    parser.add_argument("--epochs", type=int, default=3, help="epochs per preset (at least 2)")
    parser.add_argument("--full", nargs="*", default=[], help="presets trained for their own epochs")
    parser.add_argument("--deadline", type=float, default=3600, help="seconds; later epochs are skipped")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    deadline = time.monotonic() + args.deadline
    plan = [(name, max(args.epochs, 2)) for name in args.presets] + [(name, None) for name in args.full]
    for name, epochs in plan:
        if time.monotonic() > deadline:
            break
        line = json.dumps(train_preset(name, epochs, deadline))
        print(line, flush=True)
        if args.out:
            with args.out.open("a") as handle:
                handle.write(line + "\n")


if __name__ == "__main__":
    main()
