"""Saliency maps and first-layer weights: shapes, and that the shipped model looks at the ink."""

from __future__ import annotations

import numpy as np
import pytest

from core import figures, registry, saliency
from core.data import load_mnist
from tests import tiny_models


@pytest.fixture(scope="module")
def mlp():
    return tiny_models.contract_mlp(units=32)


@pytest.fixture(scope="module")
def cnn():
    return tiny_models.contract_cnn()


@pytest.mark.parametrize("method", saliency.METHODS)
def test_map_shape_and_prediction(mlp, method):
    digit = load_mnist().x_test[0]
    result = saliency.saliency_map(mlp, digit, method)
    assert result.values.shape == (28, 28) and result.values.dtype == np.float32
    assert np.all(result.values >= 0) and result.values.max() > 0
    probabilities = np.asarray(mlp(digit.reshape(1, 28, 28, 1).astype(np.float32))).reshape(-1)
    assert result.predicted == int(probabilities.argmax())
    assert result.probability == pytest.approx(float(probabilities.max()), rel=1e-5)
    assert result.method == method


def test_gradient_map_is_not_zero_off_the_ink(mlp):
    """Plain gradient magnitude, not gradient x input: background pixels get a value too."""
    digit = load_mnist().x_test[0]
    values = saliency.gradient_saliency(mlp, digit).values
    assert values[digit == 0].max() > 0


def test_gradient_map_is_the_probability_gradient_up_to_a_constant(mlp):
    """Where nothing saturates, the map is |d p_c / d x| scaled by one factor per digit."""
    import tensorflow as tf

    data = load_mnist()
    probabilities = np.asarray(mlp(data.x_test[:200, ..., None].astype(np.float32)))
    unsure = int(np.flatnonzero(probabilities.max(axis=1) < 0.9)[0])
    digit = data.x_test[unsure]
    x = tf.convert_to_tensor(digit.reshape(1, 28, 28, 1).astype(np.float32))
    with tf.GradientTape() as tape:
        tape.watch(x)
        p = mlp(x, training=False)[0, int(probabilities[unsure].argmax())]
    plain = np.abs(np.asarray(tape.gradient(p, x))).reshape(28, 28)
    ours = saliency.gradient_saliency(mlp, digit).values
    np.testing.assert_allclose(ours / ours.max(), plain / plain.max(), atol=1e-4)


def test_gradient_survives_a_saturated_probability():
    """A digit the model is certain about (p == 1.0 in float32) still gets a non-zero map."""
    keras = tiny_models.keras_module()
    inputs = keras.Input((28, 28, 1))
    dense = keras.layers.Dense(10, activation="softmax")
    model = keras.Model(inputs, dense(keras.layers.Flatten()(inputs)))
    kernel = np.zeros((784, 10), np.float32)
    kernel[:, 3] = 1.0  # Logit of 3 = total ink: hundreds of thousands, so p(3) rounds to 1.0.
    dense.set_weights([kernel, np.zeros(10, np.float32)])
    digit = load_mnist().x_test[0]
    result = saliency.gradient_saliency(model, digit)
    assert result.predicted == 3 and result.probability == 1.0
    assert result.values.max() > 0


def test_bad_input_is_refused(mlp):
    with pytest.raises(ValueError, match="28x28"):
        saliency.saliency_map(mlp, np.zeros((28, 27)))
    with pytest.raises(ValueError, match="unknown saliency method"):
        saliency.saliency_map(mlp, np.zeros((28, 28)), "magic")


def test_first_layer_weights_of_mlp_and_cnn(mlp, cnn):
    dense = saliency.first_layer_weights(mlp)
    assert dense.kind == "dense" and dense.images.shape == (32, 28, 28)
    np.testing.assert_array_equal(dense.images[5].reshape(784), np.asarray(mlp.layers[2].kernel)[:, 5])
    conv = saliency.first_layer_weights(cnn)
    assert conv.kind == "conv" and conv.images.shape == (8, 5, 5)
    tiles = figures.weight_tiles(conv.images)
    assert tiles.shape == (8, 28, 28) and tiles.dtype == np.uint8
    assert "digit-label" in figures.weights_grid(conv.images)


def shipped_model_path():
    shipped = [run for run in registry.list_runs(include_shipped=True) if run.shipped]
    paths = [registry.usable_model_path(run) for run in shipped]
    paths = [path for path in paths if path is not None]
    assert paths, (
        "No shipped model found under models/<id>/ (registry.list_runs(include_shipped=True)): "
        "the first-launch model must be committed for this test."
    )
    return paths[0]


def ink_contrast(values: np.ndarray, image: np.ndarray) -> tuple[float, float]:
    """(mean saliency on ink pixels, above half intensity; mean on pure background pixels)."""
    return float(values[image > 127.5].mean()), float(values[image == 0].mean())


def test_shipped_model_looks_at_the_ink_more_than_the_background():
    """Mean saliency on ink pixels > on background pixels for at least 95 of 100 test digits."""
    keras = tiny_models.keras_module()
    model = keras.saving.load_model(shipped_model_path(), safe_mode=True, compile=False)
    data = load_mnist()
    wins = 0
    for digit in data.x_test[:100]:
        values = saliency.gradient_saliency(model, digit).values
        ink, background = ink_contrast(values, digit)
        wins += ink > background
    assert wins >= 95, f"ink outweighed background on only {wins} of 100 digits"
