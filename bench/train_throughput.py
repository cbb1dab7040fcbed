"""What does the dashboard's training path cost in throughput?

Trains the same preset, data and epochs twice per repeat in one process: once with a plain
`model.fit` on float32 numpy arrays (what a user's own Keras script does), once the way the worker
does (its input pipeline, `core.jobs.worker.fit_model`, and RunMonitor streaming metrics and status
into a run folder at its default granularity, checking for Stop every batch, and saving a
checkpoint every epoch). The first epoch is skipped (graph tracing), and the two paths alternate
which goes first, so background load hits both alike; medians over repeats are reported.
Target: dashboard / plain >= 0.95.

    python bench/train_throughput.py --epochs 3 --repeats 3
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

# Lets the script run as a plain file as well as with `python -m bench.train_throughput`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.jobs.device import configure_tensorflow  # noqa: E402

DEVICE = configure_tensorflow()

import keras  # noqa: E402
import numpy as np  # noqa: E402

from core.data.mnist import load_mnist  # noqa: E402
from core.jobs.callbacks import RunMonitor  # noqa: E402
from core.jobs.models import build_model, compile_model  # noqa: E402
from core.jobs.worker import fit_model, pixel_statistics, prepare_split  # noqa: E402
from core.networks.config import PRESETS  # noqa: E402
from core.runs import registry


class EpochTimer(keras.callbacks.Callback):
    """Wall time of each epoch, from its start to the next one's: validation and any
    checkpoint saving included. Epoch-level hooks only, so it adds nothing per batch."""

    def on_train_begin(self, logs=None):
        self.starts: list[float] = []
        self.training_seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.starts.append(time.perf_counter())

    def on_test_begin(self, logs=None):
        self.training_seconds.append(time.perf_counter() - self.starts[-1])

    def on_train_end(self, logs=None):
        self.starts.append(time.perf_counter())

    def steady_state(self, samples_per_epoch: int) -> tuple[float, float]:
        """(samples/s over whole epochs, samples/s over training batches only), epoch 1 skipped."""
        whole = self.starts[-1] - self.starts[1]
        training = sum(self.training_seconds[1:])
        epochs = len(self.starts) - 2
        return samples_per_epoch * epochs / whole, samples_per_epoch * epochs / training


class TimedRunMonitor(RunMonitor):
    """RunMonitor that also adds up the time spent inside its own hooks.

    That time over the fit's wall time is the overhead itself, free of the noise that other
    processes add to whole-fit timings.
    """

    seconds = 0.0

    def _timed(hook):
        def wrapper(self, *args, **kwargs):
            start = time.perf_counter()
            try:
                return hook(self, *args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start

        return wrapper

    on_epoch_begin = _timed(RunMonitor.on_epoch_begin)
    on_train_batch_end = _timed(RunMonitor.on_train_batch_end)
    on_test_begin = _timed(RunMonitor.on_test_begin)
    on_test_batch_end = _timed(RunMonitor.on_test_batch_end)
    on_epoch_end = _timed(RunMonitor.on_epoch_end)


def train_once(config, split, stats, dashboard: bool) -> tuple[EpochTimer, float]:
    """Fit once; returns the timer and the share of wall time spent in the dashboard's hooks."""
    model = build_model(config, pixel_mean=stats[0], pixel_std=stats[1])
    compile_model(model, config, math.ceil(len(split.y_train) / config.batch_size))
    timer = EpochTimer()
    callbacks: list[keras.callbacks.Callback] = [timer]
    if dashboard:
        run = registry.create_run(config, "bench")
        callbacks.append(TimedRunMonitor(run, batch_size=config.batch_size))
    start = time.perf_counter()
    if dashboard:
        fit_model(model, config, split, callbacks)
    else:
        model.fit(
            split.x_train.astype(np.float32),
            split.y_train,
            batch_size=config.batch_size,
            epochs=config.epochs,
            validation_data=(split.x_val.astype(np.float32), split.y_val),
            callbacks=callbacks,
            verbose=0,
        )
    return timer, callbacks[-1].seconds / (time.perf_counter() - start) if dashboard else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="seed-mlp", choices=sorted(PRESETS))
    parser.add_argument("--epochs", type=int, default=3, help="at least 2; the first is skipped")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--train-limit", type=int, default=0, help="0 trains on all 55,000")
    args = parser.parse_args()

    runs = tempfile.TemporaryDirectory(prefix="bench-runs-")  # Removed when the script ends.
    os.environ["MNIST_RUNS_DIR"] = runs.name
    config = PRESETS[args.preset].config.with_changes(
        epochs=max(args.epochs, 2), train_limit=args.train_limit
    )
    split = prepare_split(config, load_mnist())
    stats = pixel_statistics(split.x_train)
    samples = len(split.y_train)
    print(
        f"{args.preset}: {config.describe()}, batch {config.batch_size}, {samples:,} digits, "
        f"{config.epochs} epochs, {DEVICE.label}"
    )

    results: dict[str, list[tuple[float, float]]] = {"plain": [], "dashboard": []}
    for repeat in range(args.repeats):
        order = ("plain", "dashboard") if repeat % 2 == 0 else ("dashboard", "plain")
        for path in order:
            timer, hook_share = train_once(config, split, stats, dashboard=path == "dashboard")
            whole, training = timer.steady_state(samples)
            results[path].append((whole, training))
            hooks = f", {100 * hook_share:.2f}% of the fit inside its hooks" if hook_share else ""
            print(
                f"  repeat {repeat + 1} {path:9s}: {whole:7.0f} samples/s per epoch, "
                f"{training:7.0f} in training batches{hooks}"
            )
    # Medians, because other processes sharing the CPU slow whole fits at random.
    plain, dashboard = (np.median(results[path], axis=0) for path in ("plain", "dashboard"))
    for label, (whole, training) in (("plain", plain), ("dashboard", dashboard)):
        print(f"median {label:9s}: {whole:7.0f} samples/s per epoch, {training:7.0f} in training batches")
    print(
        f"ratio dashboard/plain: {dashboard[0] / plain[0]:.3f} per epoch, "
        f"{dashboard[1] / plain[1]:.3f} in training batches (target >= 0.95)"
    )


if __name__ == "__main__":
    main()
