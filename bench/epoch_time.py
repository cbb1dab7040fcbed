"""How close is `architecture.epoch_seconds` to a real epoch, and which constants fit this CPU?

Trains several networks (every family, small to large) for two epochs on a subset in this
process, times the second epoch (the first includes tracing), scales it to the configuration's
full training set, and compares it with the estimate. It then fits the estimate's two constants
(training FLOP/s and layer output values per second) by least squares on these runs, to paste
into core/networks/architecture.py when the reference machine changes.

    python bench/epoch_time.py               # 5,000 digits per run
    python bench/epoch_time.py --digits 10000
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

import numpy as np  # noqa: E402

from core.networks import architecture
from core.networks.config import PRESETS, ModelConfig  # noqa: E402
from core.networks.families.base import DenseLayer  # noqa: E402
from core.networks.families.cnn import CNN, ConvBlock  # noqa: E402
from core.networks.families.mlp import MLP  # noqa: E402
from core.networks.families.residual_cnn import ResidualBlock, ResidualCNN  # noqa: E402

CONFIGS = {
    "seed-mlp": PRESETS["seed-mlp"].config,
    "mlp-2048x3": ModelConfig(network=MLP(tuple(DenseLayer(2048) for _ in range(3)))),
    "fast-cnn": PRESETS["fast-cnn"].config,
    "cnn-bn-32-64": ModelConfig(network=CNN()),
    "cnn-128-256": ModelConfig(network=CNN((ConvBlock(128), ConvBlock(256)), DenseLayer(256))),
    "resnet-default": ModelConfig(network=ResidualCNN()),
    "resnet-64-128": ModelConfig(network=ResidualCNN((ResidualBlock(64), ResidualBlock(128)))),
}


def measured_epoch_seconds(config: ModelConfig, digits: int) -> float:
    """Seconds of the second epoch on `digits` digits, scaled to the config's training set."""
    from core.data.mnist import load_mnist
    from core.jobs.models import build_model, compile_model

    data = load_mnist()
    x = data.x_train[:digits, ..., None].astype(np.float32)
    y = data.y_train[:digits]
    model = build_model(config)
    compile_model(model, config, steps_per_epoch=math.ceil(digits / config.batch_size))
    model.fit(x, y, batch_size=config.batch_size, epochs=1, verbose=0)
    start = time.perf_counter()
    model.fit(x, y, batch_size=config.batch_size, epochs=1, verbose=0)
    return (time.perf_counter() - start) * config.training_samples / digits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", type=int, default=5000)
    args = parser.parse_args()
    from core.jobs.device import configure_tensorflow

    configure_tensorflow()
    rows = []
    print(f"{'network':16} {'GFLOP/img':>9} {'measured s':>10} {'estimate s':>10} {'ratio':>6}")
    for name, config in CONFIGS.items():
        seconds = measured_epoch_seconds(config, args.digits)
        estimate = architecture.epoch_seconds(config) / architecture.RUN_OVERHEAD  # The arithmetic alone.
        layers = architecture.network(config).layers
        images = 3 * config.training_samples
        forward_flops = sum(layer.flops for layer in layers)
        flops = images * forward_flops
        values = images * sum(math.prod(layer.shape) for layer in layers)
        rows.append((flops, values, seconds))
        print(
            f"{name:16} {forward_flops / 1e9:9.4f} {seconds:10.1f} {estimate:10.1f} {estimate / seconds:6.2f}"
        )
    # seconds = flops / flop_rate + values / value_rate, fitted in relative terms (each run alike).
    matrix = np.array([[flops / seconds, values / seconds] for flops, values, seconds in rows])
    per_flop, per_value = np.linalg.lstsq(matrix, np.ones(len(rows)), rcond=None)[0]
    print(
        f"fit: TRAINING_FLOPS_PER_SECOND = {1 / per_flop:.3g}, LAYER_VALUES_PER_SECOND = {1 / per_value:.3g}"
    )


if __name__ == "__main__":
    main()
