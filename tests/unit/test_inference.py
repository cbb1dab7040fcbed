"""Loading a LiteRT model safely, asking it about digits, and how a prediction is described."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from core.data.mnist import load_mnist
from core.serving.inference import (
    LITE_MODEL_FILE,
    UNSURE_BELOW,
    ModelLoadError,
    describe_prediction,
    load_classifier,
)
from tests.lite_models import lite_classifier, shipped_model_folder

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def contract_model(keras, outputs=10, activation="softmax", input_shape=(28, 28, 1)):
    inputs = keras.Input(input_shape, name="pixels")
    x = keras.layers.Rescaling(1 / 255, name="rescale")(inputs)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(16, activation="relu", name="hidden")(x)
    return keras.Model(inputs, keras.layers.Dense(outputs, activation=activation, name="scores")(x))


def export(keras, model, path: Path, named: bool = True) -> Path:
    """A LiteRT file exported directly, bypassing write_lite_files's checks."""
    if named:
        model = keras.Model(model.inputs, {"probabilities": model.outputs[0]})
    model.export(str(path), format="litert", verbose=False)
    return path


@pytest.fixture(scope="module")
def keras():
    from core.jobs.device import configure_tensorflow

    configure_tensorflow()
    import keras

    keras.utils.set_random_seed(0)
    return keras


@pytest.fixture(scope="module")
def model(keras):
    return contract_model(keras)


@pytest.fixture(scope="module")
def classifier(model, tmp_path_factory):
    return lite_classifier(model, tmp_path_factory.mktemp("run"))


def digits(count: int) -> np.ndarray:
    return load_mnist().x_test[:count].astype(np.float32)


def assert_user_message(error: pytest.ExceptionInfo, folder: Path) -> None:
    """Names the file at most: never the folder it lives in."""
    message = str(error.value)
    assert str(folder) not in message and str(folder.resolve()) not in message
    assert "/" not in message


def test_loads_a_converted_model_and_gives_its_probabilities(model, classifier):
    pixels = np.random.default_rng(0).uniform(0, 255, (28, 28)).astype(np.float32)
    probabilities = classifier.probabilities(pixels)
    assert probabilities.shape == (10,) and probabilities.dtype == np.float32
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    expected = np.asarray(model(pixels.reshape(1, 28, 28, 1), training=False))[0]
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)
    assert classifier.path.name == LITE_MODEL_FILE


def test_probabilities_rejects_wrong_shapes(classifier):
    with pytest.raises(ValueError, match="28, 28"):
        classifier.probabilities(np.zeros((28, 28, 1)))
    with pytest.raises(ValueError, match="n, 28, 28"):
        classifier.probabilities_batch(np.zeros((2, 28, 27)))


def test_a_batch_gives_what_single_calls_give(classifier):
    images = digits(20)
    batch = classifier.probabilities_batch(images)
    assert batch.shape == (20, 10) and batch.dtype == np.float32
    np.testing.assert_array_equal(batch, np.stack([classifier.probabilities(image) for image in images]))
    assert classifier.probabilities_batch(np.zeros((0, 28, 28))).shape == (0, 10)


def test_activations_are_every_layer_in_order(model, classifier):
    digit = digits(1)[0]
    activations = classifier.activations(digit)
    assert list(activations) == ["rescale", "flatten", "hidden", "scores"]
    assert {name: value.shape for name, value in activations.items()} == {
        "rescale": (28, 28, 1),
        "flatten": (784,),
        "hidden": (16,),
        "scores": (10,),
    }
    np.testing.assert_allclose(activations["rescale"][..., 0], digit / 255, atol=1e-6)
    np.testing.assert_allclose(activations["scores"], classifier.probabilities(digit), atol=1e-7)


def test_one_interpreter_call_answers_both_probabilities_and_activations(classifier, monkeypatch):
    digit = digits(1)[0]
    calls = []
    runner = classifier._runner
    monkeypatch.setattr(classifier, "_runner", lambda **inputs: calls.append(inputs) or runner(**inputs))
    answer = classifier.answer(digit)
    assert len(calls) == 1
    np.testing.assert_array_equal(answer.probabilities, classifier.probabilities(digit))
    expected = classifier.activations(digit)
    assert list(answer.activations) == list(expected)
    for name, values in expected.items():
        np.testing.assert_array_equal(answer.activations[name], values)


def test_threads_sharing_one_classifier_get_their_own_answers(classifier):
    """Each thread asks about its own digit many times; a shared interpreter would mix them up."""
    images = digits(8)
    expected = [classifier.probabilities(image) for image in images]
    mismatches = []

    def ask(index: int) -> None:
        for _ in range(200):
            if not np.array_equal(classifier.probabilities(images[index]), expected[index]):
                mismatches.append(index)

    threads = [threading.Thread(target=ask, args=(index,)) for index in range(len(images))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not mismatches


def test_missing_file(tmp_path):
    with pytest.raises(ModelLoadError, match="missing") as error:
        load_classifier(tmp_path / "nothing-here" / LITE_MODEL_FILE)
    assert_user_message(error, tmp_path)


def test_not_a_tflite_file_name(tmp_path):
    path = tmp_path / "model.keras"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(ModelLoadError, match="not a LiteRT model file"):
        load_classifier(path)


@pytest.mark.parametrize("content", [b"", b"random", None], ids=["empty", "random-bytes", "truncated"])
def test_damaged_files(classifier, tmp_path, content):
    if content == b"random":
        content = np.random.default_rng(0).bytes(4096)
    elif content is None:
        whole = classifier.path.read_bytes()
        content = whole[: len(whole) // 2]
    path = tmp_path / LITE_MODEL_FILE
    path.write_bytes(content)
    with pytest.raises(ModelLoadError, match="damaged") as error:
        load_classifier(path)
    assert_user_message(error, tmp_path)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"outputs": 5}, "gives shape \\(batch, 5\\)"),
        ({"input_shape": (784,)}, "takes shape \\(batch, 784\\)"),
        ({"input_shape": (28, 28)}, "takes shape \\(batch, 28, 28\\)"),
    ],
)
def test_incompatible_shapes(keras, tmp_path, kwargs, message):
    path = export(keras, contract_model(keras, **kwargs), tmp_path / LITE_MODEL_FILE)
    with pytest.raises(ModelLoadError, match=message) as error:
        load_classifier(path)
    assert_user_message(error, tmp_path)


def test_outputs_must_be_probabilities(keras, tmp_path):
    path = export(keras, contract_model(keras, activation=None), tmp_path / LITE_MODEL_FILE)
    with pytest.raises(ModelLoadError, match="softmax") as error:
        load_classifier(path)
    assert_user_message(error, tmp_path)


def test_a_plain_export_with_one_output_loads_without_activations(keras, model, tmp_path):
    classifier = load_classifier(export(keras, model, tmp_path / LITE_MODEL_FILE, named=False))
    digit = digits(1)[0]
    expected = np.asarray(model(digit.reshape(1, 28, 28, 1), training=False))[0]
    np.testing.assert_allclose(classifier.probabilities(digit), expected, atol=1e-5)
    assert classifier.activations(digit) == {}


def test_the_server_side_never_imports_tensorflow():
    """Predicting, saliency and first-layer weights in a fresh process: no TensorFlow, no Keras."""
    folder = shipped_model_folder()
    code = f"""
import sys
import numpy as np
from core.serving.inference import load_classifier, lite_is_fresh
from core.serving.saliency import METHODS, first_layer_weights, saliency_map
classifier = load_classifier({str(folder / LITE_MODEL_FILE)!r})
digit = np.zeros((28, 28), np.float32)
digit[6:22, 12:16] = 255
classifier.probabilities(digit)
classifier.activations(digit)
for method in METHODS:
    saliency_map(classifier, digit, method)
assert first_layer_weights({str(folder)!r}) is not None
lite_is_fresh({str(folder)!r})
loaded = sorted(name for name in sys.modules if name.split(".")[0] in ("tensorflow", "keras"))
assert not loaded, loaded
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


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
