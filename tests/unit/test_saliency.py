"""Saliency maps and first-layer weights: shapes, and that the shipped model looks at the ink."""

from __future__ import annotations

import re

import numpy as np
import pytest

from core.data.mnist import load_mnist
from core.serving import saliency
from core.serving.inference import FIRST_LAYER_FILE, LITE_MODEL_FILE, load_classifier
from core.ui import pictures
from tests import tiny_models
from tests.lite_models import lite_classifier, shipped_model_folder


@pytest.fixture(scope="module")
def mlp_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mlp")
    model = tiny_models.contract_mlp(units=32)
    lite_classifier(model, folder)
    return folder, model


@pytest.fixture(scope="module")
def mlp(mlp_folder):
    return load_classifier(mlp_folder[0] / LITE_MODEL_FILE)


@pytest.fixture(scope="module")
def cnn_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cnn")
    model = tiny_models.contract_cnn()
    lite_classifier(model, folder)
    return folder, model


@pytest.mark.parametrize("method", saliency.METHODS)
def test_map_shape_and_prediction(mlp, method):
    digit = load_mnist().x_test[0]
    result = saliency.saliency_map(mlp, digit, method)
    assert result.values.shape == (28, 28) and result.values.dtype == np.float32
    assert np.all(result.values >= 0) and result.values.max() > 0
    probabilities = mlp.probabilities(digit)
    assert result.predicted == int(probabilities.argmax())
    assert result.probability == pytest.approx(float(probabilities.max()), rel=1e-6)
    assert result.method == method


def test_occlusion_is_zero_where_no_square_touches_the_ink(mlp):
    """Blacking out black background leaves the digit as it was."""
    digit = load_mnist().x_test[0]
    values = saliency.saliency_map(mlp, digit, "occlusion").values
    rows, columns = np.nonzero(digit)
    margin = saliency.OCCLUSION_PATCH  # A square covering a pixel reaches at most this far.
    near_rows = slice(max(rows.min() - margin, 0), rows.max() + margin + 1)
    near_columns = slice(max(columns.min() - margin, 0), columns.max() + margin + 1)
    far = np.ones((28, 28), bool)
    far[near_rows, near_columns] = False
    assert far.any() and np.all(values[far] == 0)


def test_pixel_flip_is_not_zero_off_the_ink(mlp):
    """Adding ink where there is none moves the answer too: background pixels get a value."""
    digit = load_mnist().x_test[0]
    values = saliency.saliency_map(mlp, digit, "pixel_flip").values
    assert values[digit == 0].max() > 0


def test_a_saturated_probability_still_gives_a_map(tmp_path):
    """A digit the model is certain about (p == 1.0 in float32) still gets non-zero maps."""
    keras = tiny_models.keras_module()
    inputs = keras.Input((28, 28, 1))
    dense = keras.layers.Dense(10, activation="softmax")
    model = keras.Model(inputs, dense(keras.layers.Flatten()(inputs)))
    digit = load_mnist().x_test[0]
    kernel = np.zeros((784, 10), np.float32)
    kernel[:, 3] = 40.0 / digit.sum()  # Logit of 3 is 40 for this digit: p(3) rounds to 1.0.
    dense.set_weights([kernel, np.zeros(10, np.float32)])
    classifier = lite_classifier(model, tmp_path)
    for method in saliency.METHODS:
        result = saliency.saliency_map(classifier, digit, method)
        assert result.predicted == 3 and result.probability == 1.0
        assert result.values[digit > 0].min() > 0, method


def test_bad_input_is_refused(mlp):
    with pytest.raises(ValueError, match="28x28"):
        saliency.saliency_map(mlp, np.zeros((28, 27)))
    with pytest.raises(ValueError, match="unknown saliency method"):
        saliency.saliency_map(mlp, np.zeros((28, 28)), "magic")


def test_first_layer_weights_of_mlp_and_cnn(mlp_folder, cnn_folder):
    folder, model = mlp_folder
    dense = saliency.first_layer_weights(folder)
    assert dense.kind == "dense" and dense.images.shape == (32, 28, 28) and dense.images.dtype == np.float32
    np.testing.assert_array_equal(dense.images[5].reshape(784), np.asarray(model.layers[2].kernel)[:, 5])
    folder, model = cnn_folder
    conv = saliency.first_layer_weights(folder / FIRST_LAYER_FILE)
    assert conv.kind == "conv" and conv.images.shape == (8, 5, 5)
    assert conv.layer_name == model.layers[1].name and conv.description == "8 filters of 5x5 pixels"
    tiles = pictures.weight_tiles(conv.images)
    assert tiles.shape == (8, 28, 28) and tiles.dtype == np.uint8
    grid = pictures.weights_grid(conv.images)
    # Each filter's number sits under its tile (after its image, not positioned over it).
    numbers = re.findall(r'<img [^>]*alt="unit \d+"[^>]*><figcaption[^>]*>(\d+)</figcaption>', grid)
    assert numbers == [str(number) for number in range(1, 9)]
    assert "position:absolute" not in grid


@pytest.mark.parametrize(
    "damage", ["missing", "empty", "garbage", "truncated", "wrong-keys", "pickled", "bad-kind"]
)
def test_first_layer_weights_tolerate_a_missing_or_damaged_file(cnn_folder, tmp_path, damage):
    path = tmp_path / FIRST_LAYER_FILE
    good = (cnn_folder[0] / FIRST_LAYER_FILE).read_bytes()
    if damage == "empty":
        path.write_bytes(b"")
    elif damage == "garbage":
        path.write_bytes(b"PK\x03\x04 not really a zip archive")
    elif damage == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif damage == "wrong-keys":
        np.savez(path, weights=np.zeros((2, 5, 5), np.float32))
    elif damage == "pickled":
        np.savez(
            path, kind="conv", layer_name="c", description="d", images=np.array([{"a": 1}], dtype=object)
        )
    elif damage == "bad-kind":
        np.savez(path, kind="lstm", layer_name="c", description="d", images=np.zeros((2, 5, 5), np.float32))
    assert saliency.first_layer_weights(tmp_path) is None


def ink_contrast(values: np.ndarray, image: np.ndarray) -> tuple[float, float]:
    """(mean saliency on ink pixels, above half intensity; mean on pure background pixels)."""
    return float(values[image > 127.5].mean()), float(values[image == 0].mean())


def test_shipped_model_looks_at_the_ink_more_than_the_background():
    """Mean occlusion saliency on ink pixels > on background pixels for at least 95 of 100 test digits."""
    classifier = load_classifier(shipped_model_folder() / LITE_MODEL_FILE)
    data = load_mnist()
    wins = 0
    for digit in data.x_test[:100]:
        values = saliency.saliency_map(classifier, digit, "occlusion").values
        ink, background = ink_contrast(values, digit)
        wins += ink > background
    assert wins >= 95, f"ink outweighed background on only {wins} of 100 digits"


def test_a_haze_over_the_whole_background_shows_black():
    """Pixel flip moves the answer a little wherever a pixel flips: that shared level is no signal."""
    values = np.full((28, 28), 0.2)
    values[14, 14] = 1.0
    heat = pictures.saliency_images(np.zeros((28, 28)), values, scale=1)[1]
    assert heat[0, 0].tolist() == [0, 0, 0] and heat[14, 14].tolist() == [255, 255, 255]
