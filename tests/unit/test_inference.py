"""Loading a model safely, the contract check, and how a prediction is described."""

from __future__ import annotations

import numpy as np
import pytest

from core.inference import UNSURE_BELOW, ModelLoadError, describe_prediction, load_classifier


def save(model, path):
    model.save(path)
    return path


def contract_model(keras, outputs=10, activation="softmax", input_shape=(28, 28, 1)):
    inputs = keras.Input(input_shape)
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(outputs, activation=activation)(x))


@pytest.fixture(scope="module")
def keras():
    from core.device import configure_tensorflow

    configure_tensorflow()
    import keras

    keras.utils.set_random_seed(0)
    return keras


@pytest.fixture(scope="module")
def good_path(keras, tmp_path_factory):
    return save(contract_model(keras), tmp_path_factory.mktemp("models") / "model.keras")


def test_loads_a_contract_model_and_gives_probabilities(keras, good_path):
    classifier = load_classifier(good_path)
    pixels = np.random.default_rng(0).uniform(0, 255, (28, 28)).astype(np.float32)
    probabilities = classifier.probabilities(pixels)
    assert probabilities.shape == (10,) and probabilities.dtype == np.float32
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    expected = np.asarray(classifier.model(pixels.reshape(1, 28, 28, 1), training=False))[0]
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)


def test_probabilities_rejects_wrong_shapes(good_path):
    with pytest.raises(ValueError, match="28, 28"):
        load_classifier(good_path).probabilities(np.zeros((28, 28, 1)))


def test_missing_file(tmp_path):
    with pytest.raises(ModelLoadError, match="missing"):
        load_classifier(tmp_path / "nothing-here" / "model.keras")


def test_not_a_keras_file_name(tmp_path):
    path = tmp_path / "model.h5"
    path.write_bytes(b"\x89HDF\r\n")
    with pytest.raises(ModelLoadError, match="not a Keras model file"):
        load_classifier(path)


@pytest.mark.parametrize("content", [b"", b"this is not a zip archive", None], ids=["empty", "garbage", "truncated"])
def test_corrupt_files(good_path, tmp_path, content):
    if content is None:
        whole = good_path.read_bytes()
        content = whole[: len(whole) // 2]
    path = tmp_path / "model.keras"
    path.write_bytes(content)
    with pytest.raises(ModelLoadError, match="damaged"):
        load_classifier(path)


def test_unsafe_lambda_layer_is_refused(keras, tmp_path):
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Lambda(lambda t: t / 255.0)(inputs)
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(x))
    path = save(keras.Model(inputs, outputs), tmp_path / "model.keras")
    with pytest.raises(ModelLoadError, match="damaged or not a model"):
        load_classifier(path)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"input_shape": (784,)}, "takes shape \\(batch, 784\\)"),
        ({"input_shape": (28, 28)}, "takes shape \\(batch, 28, 28\\)"),
        ({"outputs": 5}, "gives shape \\(batch, 5\\)"),
    ],
)
def test_incompatible_shapes(keras, tmp_path, kwargs, message):
    path = save(contract_model(keras, **kwargs), tmp_path / "model.keras")
    with pytest.raises(ModelLoadError, match=message):
        load_classifier(path)


def test_outputs_must_be_probabilities(keras, tmp_path):
    path = save(contract_model(keras, activation=None), tmp_path / "model.keras")
    with pytest.raises(ModelLoadError, match="softmax"):
        load_classifier(path)


def test_describe_a_confident_prediction():
    probabilities = np.full(10, 0.01)
    probabilities[7] = 0.91
    result = describe_prediction(probabilities)
    assert (result.digit, result.unsure) == (7, False)
    assert result.confidence == pytest.approx(0.91)
    assert result.runner_up == 0  # All others tie: the lowest digit is the runner-up.
    assert result.runner_up_confidence == pytest.approx(0.01)


def test_describe_an_unsure_prediction():
    probabilities = np.array([0.0, 0.05, 0.0, 0.0, 0.35, 0.0, 0.0, 0.0, 0.0, 0.55])
    result = describe_prediction(probabilities)
    assert (result.digit, result.unsure, result.runner_up) == (9, True, 4)
    assert result.runner_up_confidence == pytest.approx(0.35)


def test_unsure_threshold_is_strict():
    at_threshold = np.zeros(10)
    at_threshold[[2, 3]] = [UNSURE_BELOW, 1 - UNSURE_BELOW]
    assert describe_prediction(at_threshold).unsure is False
    below = np.zeros(10)
    below[[2, 3]] = [UNSURE_BELOW - 0.001, 1 - UNSURE_BELOW + 0.001]
    assert describe_prediction(below).unsure is True


@pytest.mark.parametrize("bad", [np.ones(9) / 9, np.full(10, np.nan)])
def test_describe_rejects_bad_input(bad):
    with pytest.raises(ValueError):
        describe_prediction(bad)
