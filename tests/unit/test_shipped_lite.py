"""The shipped model's LiteRT files: committed, fresh, and answering as its Keras model does."""

from __future__ import annotations

import numpy as np
import pytest

from core.data.mnist import load_mnist
from core.jobs.convert import first_layer_weights as keras_first_layer
from core.jobs.convert import load_keras_model
from core.runs.layout import MODEL_FILE
from core.serving.inference import LITE_MODEL_FILE, lite_is_fresh, load_classifier
from core.serving.saliency import first_layer_weights
from tests.lite_models import shipped_model_folder

# The conversion check's bound (core/jobs/convert.py): LiteRT and Keras kernels round differently.
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def folder():
    return shipped_model_folder()


@pytest.fixture(scope="module")
def keras_model(folder):
    return load_keras_model(folder / MODEL_FILE)


def test_litert_agrees_with_keras_on_all_10000_test_digits(folder, keras_model):
    data = load_mnist()
    expected = keras_model.predict(data.x_test[..., None].astype(np.float32), batch_size=1000, verbose=0)
    actual = load_classifier(folder / LITE_MODEL_FILE).probabilities_batch(data.x_test)
    assert np.abs(actual - expected).max() < TOLERANCE
    # With Keras's top two apart by more than twice the tolerance everywhere, the same class
    # follows from the bound above and is no float tie.
    top_two = np.sort(expected, axis=1)[:, -2:]
    assert (top_two[:, 1] - top_two[:, 0]).min() > 2 * TOLERANCE
    np.testing.assert_array_equal(actual.argmax(axis=1), expected.argmax(axis=1))


def test_its_litert_files_are_fresh_and_hold_the_first_layer(folder, keras_model):
    assert lite_is_fresh(folder), (
        "models/<id>/model.tflite is stale: regenerate it with core.jobs.convert.write_lite_files"
    )
    stored, computed = first_layer_weights(folder), keras_first_layer(keras_model)
    for field in ("kind", "layer_name", "description"):
        assert getattr(stored, field) == getattr(computed, field)
    np.testing.assert_array_equal(stored.images, computed.images)
