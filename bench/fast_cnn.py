"""Time the "fast-cnn" preset the way the dashboard trains it, and report its test accuracy.

The preset promises at least 99.0% test accuracy within a minute of `model.fit` on a 2-core CPU.
This script checks the promise: it fits on 55,000 training digits, validates on a 5,000-digit
hold-out (the test set never picks epochs or settings) and only then scores the 10,000 test digits.

    .venv/bin/python bench/fast_cnn.py [--epochs N] [--batch-size N]

The overrides exist for tuning the preset; the numbers the preset promises come from a plain run.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from core.data.mnist import load_mnist  # noqa: E402
from core.jobs.device import configure_tensorflow  # noqa: E402
from core.jobs.models import build_model, compile_model  # noqa: E402
from core.networks.config import PRESETS, ModelConfig  # noqa: E402


def holdout_split(images, labels, size: int, seed: int):
    """The same seeded hold-out as the dashboard's worker (`core.jobs.worker.prepare_split`).

    Images stay uint8 with a channel axis added, as the worker feeds them: the model's float32
    input casts each batch, and a quarter of float32's memory keeps batch slicing cheap.
    """
    order = np.random.default_rng(seed).permutation(len(labels))
    held, kept = order[:size], order[size:]
    return (images[kept][..., None], labels[kept]), (images[held][..., None], labels[held])


def parse_config() -> ModelConfig:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    args = parser.parse_args()
    config = PRESETS["fast-cnn"].config
    if args.epochs is not None:
        config = config.with_changes(epochs=args.epochs)
    if args.batch_size is not None:
        config = config.with_changes(batch_size=args.batch_size)
    return config


def main() -> None:
    config = parse_config()
    device = configure_tensorflow()
    data = load_mnist()
    (x_fit, y_fit), (x_val, y_val) = holdout_split(
        data.x_train, data.y_train, config.validation_size, config.seed
    )
    # The preset scales pixels to [0, 1], so no training-set statistics are needed.
    model = build_model(config)
    compile_model(model, config, math.ceil(len(y_fit) / config.batch_size))

    load_before = os.getloadavg()[0]
    start, cpu_start = time.perf_counter(), time.process_time()
    history = model.fit(
        x_fit,
        y_fit,
        batch_size=config.batch_size,
        epochs=config.epochs,
        validation_data=(x_val, y_val),
        verbose=2,
    )
    fit_seconds = time.perf_counter() - start
    fit_cpu_seconds = time.process_time() - cpu_start

    _, test_accuracy = model.evaluate(data.x_test[..., None], data.y_test, verbose=0)
    load_after = os.getloadavg()[0]
    print(f"device:         {device.label}")
    print(f"load average:   {load_before:.2f} before fit, {load_after:.2f} after (this run counts)")
    print(f"config:         {config.describe()}, batch {config.batch_size}")
    print(f"fit wall time:  {fit_seconds:.1f} s for {config.epochs} epochs on {len(y_fit)} digits")
    print(f"fit CPU time:   {fit_cpu_seconds:.1f} s (all threads; less sensitive to other load)")
    print(f"val accuracy:   {history.history['val_accuracy'][-1]:.4f}")
    print(f"test accuracy:  {test_accuracy:.4f}")


if __name__ == "__main__":
    main()
