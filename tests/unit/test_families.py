"""Every registered network family, from its one description: the TensorFlow-free layer table
matches Keras, the model trains, saves and reloads in safe mode, converts to LiteRT, the exported
script runs, and the designer round-trips it. A new family passes these with no other change."""

from __future__ import annotations

import math
import re

import keras
import numpy as np
import pytest

from core.data.mnist import load_mnist
from core.jobs.models import build_model, compile_model
from core.networks import architecture, designer
from core.networks.config import FAMILIES, ModelConfig
from core.networks.families.base import DenseLayer
from core.networks.families.mlp import MLP
from core.networks.families.residual_cnn import ResidualBlock, ResidualCNN
from core.runs import export
from tests import run_script_here
from tests.lite_models import lite_classifier

# Each family's default network, trained briefly with a cosine schedule; small batches give
# batch norm's moving statistics enough steps to settle.
CONFIGS = {
    name: ModelConfig(
        network=family.network(),
        optimizer="adam",
        learning_rate=0.003,
        batch_size=32,
        schedule="cosine",
        epochs=1,
        train_limit=3000,
        validation_size=1000,
        seed=1,
    )
    for name, family in FAMILIES.items()
}


def digits(count: int) -> tuple[np.ndarray, np.ndarray]:
    data = load_mnist()
    return data.x_train[:count, ..., None].astype(np.float32), data.y_train[:count]


@pytest.fixture(scope="module", params=list(CONFIGS))
def trained(request, tmp_path_factory):
    """(config, model, its .keras path) after an epoch on 2,000 digits."""
    config = CONFIGS[request.param]
    model = build_model(config)
    x, y = digits(2000)
    compile_model(model, config, steps_per_epoch=len(y) // config.batch_size)
    model.fit(x, y, batch_size=config.batch_size, epochs=1, verbose=0)
    folder = tmp_path_factory.mktemp(request.param)
    model.save(folder / "model.keras")
    return config, model, folder


def test_every_family_is_registered_with_a_distinct_name_and_label():
    assert {"mlp", "cnn", "resnet"} <= set(FAMILIES)
    assert len({family.label for family in FAMILIES.values()}) == len(FAMILIES)


def test_layer_table_and_parameter_counts_match_keras(trained):
    """Layer by layer; Keras lists a branching model's layers in its own order (depth from the
    output), so layers are matched by name."""
    config, model, _ = trained
    rows = {row.name: (row.type, row.output_shape, row.params) for row in architecture.summary_rows(config)}
    assert rows == {
        layer.name: (type(layer).__name__, str(layer.output.shape), layer.count_params())
        for layer in model.layers
    }
    trainable = sum(math.prod(weight.shape) for weight in model.trainable_weights)
    assert architecture.parameter_counts(config) == (trainable, model.count_params())


def test_saved_model_reloads_in_safe_mode_with_the_same_predictions(trained):
    config, model, folder = trained
    reloaded = keras.saving.load_model(folder / "model.keras", safe_mode=True)
    x, _ = digits(64)
    np.testing.assert_allclose(
        reloaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )
    estimate = architecture.model_file_size_bytes(config)
    assert estimate == pytest.approx((folder / "model.keras").stat().st_size, rel=0.15)


def test_litert_copy_agrees_with_keras(trained, tmp_path):
    _, model, _ = trained
    classifier = lite_classifier(model, tmp_path)
    x, _ = digits(32)
    np.testing.assert_allclose(
        classifier.probabilities_batch(x[..., 0]), model.predict(x, verbose=0), atol=1e-4
    )
    assert list(classifier.activations(x[0, ..., 0]))[-1] == "probabilities"


def test_model_learns_from_a_few_hundred_digits(trained):
    _, model, _ = trained
    data = load_mnist()
    predictions = model.predict(data.x_test[:500, ..., None].astype(np.float32), verbose=0).argmax(axis=1)
    assert (predictions == data.y_test[:500]).mean() > 0.3  # chance is 0.1


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CONFIGS))
def test_exported_script_runs_and_prints_test_accuracy(name, tmp_path, monkeypatch, capsys):
    """Run in this process (runpy); tests/unit/test_export.py runs one script standalone. Its
    quick-check option: 2,000 digits, 400 of them held out (a fit a fifth shorter)."""
    config = CONFIGS[name]
    path = tmp_path / "train_generated.py"
    path.write_text(export.training_script(config, name))
    output = run_script_here(path, "--train-limit", "2000", monkeypatch=monkeypatch, capsys=capsys)
    assert "1600 training digits, 400 held out for validation" in output
    total = re.search(r"Total params: ([\d,]+)", output).group(1)
    assert int(total.replace(",", "")) == architecture.parameter_counts(config)[1]
    assert 0.3 < float(re.search(r"Test accuracy: ([\d.]+)", output).group(1)) <= 1.0


@pytest.mark.parametrize("name", list(CONFIGS))
def test_designer_round_trips_every_family(name):
    config = CONFIGS[name]
    values = designer.widget_values(config)
    assert values["architecture"] == name
    assert designer.config_from_values(values) == config


def test_residual_blocks_add_a_skip_and_project_only_when_channels_change():
    config = ModelConfig(network=ResidualCNN(blocks=(ResidualBlock(8), ResidualBlock(8, pool=False))))
    graph = architecture.network(config)
    adds = [layer for layer in graph.layers if layer.type == "Add"]
    assert [add.inputs for add in adds] == [("res1_bn_b", "res1_project_bn"), ("res2_bn_b", "res1_pool")]
    assert [layer.name for layer in graph.layers if layer.name.endswith("_project")] == ["res1_project"]


def test_training_memory_counts_weights_slots_and_a_batch_of_activations():
    # 784 -> 16 -> 10 with Adam: 12,730 weights, as many gradients and two slots each.
    config = ModelConfig(network=MLP((DenseLayer(16, dropout=0.0),)), optimizer="adam", batch_size=32)
    weights = 784 * 16 + 16 + 16 * 10 + 10
    values = 784 + 784 + 784 + 16 + 10  # pixels, rescale, flatten, dense_1, probabilities
    assert architecture.training_memory_bytes(config) == 4 * (weights * 4 + 2 * 32 * values)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_epoch_estimate_grows_with_the_training_set(name):
    small = CONFIGS[name]
    large = small.with_changes(train_limit=0)
    ratio = architecture.epoch_seconds(large) / architecture.epoch_seconds(small)
    assert ratio == pytest.approx(large.training_samples / small.training_samples)
