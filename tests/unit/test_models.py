"""The Keras models, their schedules, saving, and the TensorFlow-free architecture mirror."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from core.jobs.models import build_model, compile_model
from core.networks import architecture
from core.networks.config import PRESETS, ModelConfig
from core.networks.families.base import DenseLayer
from core.networks.families.cnn import ConvBlock
from core.networks.families.mlp import MLP
from tests import network_changed

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SEED_MLP = PRESETS["seed-mlp"].config
FAST_CNN = PRESETS["fast-cnn"].config
FAST_CNN_TRAINABLE_PARAMS = 207_178

VARIED_CONFIGS = {
    "mlp-1-layer": ModelConfig(network=MLP(hidden_layers=(DenseLayer(units=64, dropout=0.0),))),
    "mlp-6-layers": ModelConfig(
        network=MLP(hidden_layers=tuple(DenseLayer(units=16 * i, activation="gelu") for i in range(1, 7)))
    ),
    "cnn-no-bn-no-pool": network_changed(
        FAST_CNN, conv_blocks=(ConvBlock(filters=8, batch_norm=False, pool=False),)
    ),
    "cnn-bn-kernel-5-dropout": network_changed(
        FAST_CNN,
        conv_blocks=(ConvBlock(filters=12, kernel_size=5, dropout=0.25), ConvBlock(filters=24)),
        head=DenseLayer(units=32, dropout=0.0),
    ),
    "cnn-4-blocks": network_changed(
        FAST_CNN, conv_blocks=tuple(ConvBlock(filters=4 * 2**i, batch_norm=i % 2 == 0) for i in range(4))
    ),
    "augment-standardize": SEED_MLP.with_changes(augment=True, normalization="standardize"),
}
ALL_CONFIGS = {"seed-mlp": SEED_MLP, "fast-cnn": FAST_CNN, **VARIED_CONFIGS}

# The presets, plus one exercising augmentation, standardisation, warm-up and SGD, which must
# all survive a safe-mode reload.
SAVED_CONFIGS = {
    "seed-mlp": SEED_MLP,
    "fast-cnn": FAST_CNN,
    "cnn-augment-warmup-sgd": network_changed(FAST_CNN, conv_blocks=(ConvBlock(filters=8),)).with_changes(
        augment=True,
        zoom_fraction=0.1,
        shear_factor=0.2,
        normalization="standardize",
        optimizer="sgd",
        schedule="warmup_cosine",
        warmup_epochs=1,
        epochs=3,
    ),
}


def random_digits(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(count, 28, 28, 1)).astype("float32")
    return images, rng.integers(0, 10, size=count)


def keras_trainable_params(model: keras.Model) -> int:
    return sum(math.prod(weight.shape) for weight in model.trainable_weights)


def test_seed_mlp_has_the_keras_examples_parameter_count():
    assert keras_trainable_params(build_model(SEED_MLP)) == 669_706
    assert architecture.parameter_counts(SEED_MLP) == (669_706, 669_706)


def test_fast_cnn_parameter_count():
    model = build_model(FAST_CNN)
    assert keras_trainable_params(model) == FAST_CNN_TRAINABLE_PARAMS
    assert architecture.parameter_counts(FAST_CNN) == (
        FAST_CNN_TRAINABLE_PARAMS,
        model.count_params(),
    )


@pytest.mark.parametrize("name", ALL_CONFIGS)
def test_architecture_mirrors_the_keras_model(name):
    config = ALL_CONFIGS[name]
    model = build_model(config)
    rows = architecture.summary_rows(config)
    assert [(row.name, row.type) for row in rows] == [
        (layer.name, type(layer).__name__) for layer in model.layers
    ]
    assert [row.output_shape for row in rows] == [str(layer.output.shape) for layer in model.layers]
    assert [row.params for row in rows] == [layer.count_params() for layer in model.layers]
    assert [row.trainable_params for row in rows] == [
        sum(math.prod(weight.shape) for weight in layer.trainable_weights) for layer in model.layers
    ]
    assert architecture.parameter_counts(config) == (
        keras_trainable_params(model),
        model.count_params(),
    )


def test_architecture_does_not_import_tensorflow():
    code = (
        "import sys, core.networks.architecture as a, core.networks.config as c;"
        "a.summary_rows(c.PRESETS['fast-cnn'].config);"
        "sys.exit(any(m in sys.modules for m in ('tensorflow', 'keras')))"
    )
    subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, check=True)


@pytest.mark.parametrize("name", ALL_CONFIGS)
def test_model_contract_shapes_and_probabilities(name):
    model = build_model(ALL_CONFIGS[name])
    images, _ = random_digits(4)
    assert model.input_shape == (None, 28, 28, 1)
    assert model.input.dtype == "float32"
    probabilities = model.predict(images, verbose=0)
    assert probabilities.shape == (4, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("name", SAVED_CONFIGS)
def test_trained_model_reloads_in_safe_mode_with_same_predictions(name, tmp_path):
    config = SAVED_CONFIGS[name]
    images, labels = random_digits(8)
    model = build_model(config)
    compile_model(model, config, steps_per_epoch=1)
    model.fit(images, labels, batch_size=8, epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)

    reloaded = keras.saving.load_model(path, safe_mode=True)

    np.testing.assert_allclose(
        reloaded.predict(images, verbose=0), model.predict(images, verbose=0), rtol=1e-5, atol=1e-6
    )
    estimate = architecture.model_file_size_bytes(config)
    assert estimate == pytest.approx(path.stat().st_size, rel=0.15)


def learning_rates(config: ModelConfig, steps_per_epoch: int, steps: list[int]) -> list[float]:
    """The compiled optimiser's learning rate after each of `steps` batches."""
    model = build_model(config)
    compile_model(model, config, steps_per_epoch)
    rates = []
    for step in steps:
        model.optimizer.iterations.assign(step)
        rates.append(float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)))
    return rates


def test_constant_schedule_keeps_the_rate():
    config = SEED_MLP.with_changes(learning_rate=0.01, epochs=4)
    assert learning_rates(config, 10, [0, 20, 40]) == pytest.approx([0.01, 0.01, 0.01])


def test_cosine_schedule_decays_to_zero_at_the_last_step():
    config = SEED_MLP.with_changes(learning_rate=0.01, schedule="cosine", epochs=4)
    assert learning_rates(config, 10, [0, 20, 40]) == pytest.approx([0.01, 0.005, 0.0], abs=1e-7)


def test_warmup_cosine_climbs_then_decays():
    config = SEED_MLP.with_changes(learning_rate=0.01, schedule="warmup_cosine", warmup_epochs=1, epochs=5)
    # Warm-up ends after epoch 1 (step 10); cosine then spans the remaining 40 steps.
    rates = learning_rates(config, 10, [0, 5, 10, 30, 50])
    assert rates == pytest.approx([0.0, 0.005, 0.01, 0.005, 0.0], abs=1e-7)


@pytest.mark.parametrize("optimizer", ["rmsprop", "adam", "sgd"])
def test_optimizer_choice(optimizer):
    config = SEED_MLP.with_changes(optimizer=optimizer, momentum=0.8)
    model = build_model(config)
    compile_model(model, config, steps_per_epoch=1)
    assert type(model.optimizer).__name__.lower() == optimizer
    if optimizer == "sgd":
        assert model.optimizer.momentum == 0.8


def test_standardize_maps_the_mean_pixel_to_zero():
    config = SEED_MLP.with_changes(normalization="standardize")
    model = build_model(config, pixel_mean=0.2, pixel_std=0.4)
    rescale = model.get_layer("standardize")
    pixels = np.array([0.2 * 255, 0.6 * 255], dtype="float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(rescale(pixels)), [0.0, 1.0], atol=1e-6)


def first_epoch_history(config: ModelConfig) -> dict[str, list[float]]:
    images, labels = random_digits(256, seed=1)
    model = build_model(config)
    compile_model(model, config, steps_per_epoch=4)
    return model.fit(images, labels, batch_size=64, epochs=1, validation_split=0.25, verbose=0).history


@pytest.mark.slow
@pytest.mark.parametrize(
    "config",
    [FAST_CNN, network_changed(FAST_CNN, conv_blocks=(ConvBlock(filters=8),)).with_changes(augment=True)],
    ids=["fast-cnn", "augment-batch-norm"],
)
def test_same_seed_and_config_give_identical_first_epoch(config):
    assert first_epoch_history(config) == first_epoch_history(config)


def test_augmentation_moves_digits_in_training_only():
    """Every augmentation layer returns its input unchanged outside training (the model contract
    of saved models) and a moved digit in training."""
    config = SAVED_CONFIGS["cnn-augment-warmup-sgd"]
    model = build_model(config)
    augmentation = [layer for layer in model.layers if layer.name.startswith("augment_")]
    assert {layer.name for layer in augmentation} == {
        "augment_shift",
        "augment_rotate",
        "augment_zoom",
        "augment_shear",
    }
    images, _ = random_digits(4)
    for layer in augmentation:
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(images, training=False)), images)
        assert not np.allclose(keras.ops.convert_to_numpy(layer(images, training=True)), images)
