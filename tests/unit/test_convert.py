"""Loading a Keras model safely, and converting it into the LiteRT files the server predicts with."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from core.data.mnist import load_mnist
from core.jobs import convert
from core.jobs.convert import load_keras_model, write_lite_files
from core.networks.config import ModelConfig
from core.networks.families.base import DenseLayer
from core.networks.families.cnn import CNN, ConvBlock
from core.networks.families.mlp import MLP
from core.runs import layout
from core.serving.inference import (
    FIRST_LAYER_FILE,
    LITE_INFO_FILE,
    LITE_MODEL_FILE,
    ModelLoadError,
    lite_is_fresh,
)
from core.serving.saliency import first_layer_weights
from tests import network_changed
from tests.lite_models import lite_classifier

SMALL_CNN = ModelConfig(network=CNN(head=DenseLayer(units=32, dropout=0.3)))
CONFIGS = {
    "mlp": ModelConfig(network=MLP(hidden_layers=(DenseLayer(32, 0.2), DenseLayer(16, 0.0, "gelu")))),
    "cnn": network_changed(
        SMALL_CNN, conv_blocks=(ConvBlock(8, 5, batch_norm=False), ConvBlock(16, 3, batch_norm=False))
    ),
    "augmented-cnn": network_changed(
        SMALL_CNN, conv_blocks=(ConvBlock(8, 3, batch_norm=False, dropout=0.2),)
    ).with_changes(
        augment=True,
        normalization="standardize",
    ),
    "batch-norm-cnn": network_changed(SMALL_CNN, conv_blocks=(ConvBlock(8, 3), ConvBlock(16, 3, pool=False))),
}
# LiteRT and Keras round differently; relative to each activation's own scale.
ACTIVATION_TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def keras():
    from core.jobs.device import configure_tensorflow

    configure_tensorflow()
    import keras

    return keras


def contract_model(keras, outputs=10, activation="softmax", input_shape=(28, 28, 1)):
    inputs = keras.Input(input_shape)
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(outputs, activation=activation)(x))


def save(model, path: Path) -> Path:
    model.save(path)
    return path


def assert_user_message(error: pytest.ExceptionInfo, folder: Path) -> None:
    message = str(error.value)
    assert str(folder) not in message and str(folder.resolve()) not in message


def briefly_trained(model):
    """A few batches of training, so batch-norm statistics and weights are not the initial ones."""
    from core.jobs.models import compile_model

    data = load_mnist()
    compile_model(model, ModelConfig(), steps_per_epoch=4)
    model.fit(data.x_train[:512, ..., None].astype(np.float32), data.y_train[:512], batch_size=128, verbose=0)
    return model


# --- load_keras_model -----------------------------------------------------------------------


def test_loads_a_contract_model(keras, tmp_path):
    path = save(contract_model(keras), tmp_path / "model.keras")
    assert load_keras_model(path).output_shape == (None, 10)


def test_missing_file(tmp_path):
    with pytest.raises(ModelLoadError, match="missing") as error:
        load_keras_model(tmp_path / "nothing-here" / "model.keras")
    assert_user_message(error, tmp_path)


def test_not_a_keras_file_name(tmp_path):
    path = tmp_path / "model.h5"
    path.write_bytes(b"\x89HDF\r\n")
    with pytest.raises(ModelLoadError, match="not a Keras model file"):
        load_keras_model(path)


@pytest.mark.parametrize(
    "content", [b"", b"this is not a zip archive", None], ids=["empty", "garbage", "truncated"]
)
def test_corrupt_files(keras, tmp_path, content):
    if content is None:
        whole = save(contract_model(keras), tmp_path / "whole.keras").read_bytes()
        content = whole[: len(whole) // 2]
    path = tmp_path / "model.keras"
    path.write_bytes(content)
    with pytest.raises(ModelLoadError, match="damaged") as error:
        load_keras_model(path)
    assert_user_message(error, tmp_path)


def test_unsafe_lambda_layer_is_refused(keras, tmp_path):
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Lambda(lambda t: t / 255.0)(inputs)
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(x))
    path = save(keras.Model(inputs, outputs), tmp_path / "model.keras")
    with pytest.raises(ModelLoadError, match="damaged or not a model") as error:
        load_keras_model(path)
    assert_user_message(error, tmp_path)


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
    with pytest.raises(ModelLoadError, match=message) as error:
        load_keras_model(path)
    assert_user_message(error, tmp_path)


# --- write_lite_files -----------------------------------------------------------------------


@pytest.mark.parametrize("name", CONFIGS)
def test_converts_every_kind_of_project_model(keras, tmp_path, name):
    """Activations of every layer, in layer order and agreeing with Keras's; the first layer's
    weights; and the record of the source file."""
    from core.jobs.models import build_model

    model = briefly_trained(build_model(CONFIGS[name]))
    classifier = lite_classifier(model, tmp_path)
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    every_output = keras.Model(model.input, [layer.output for layer in layers])
    for digit in load_mnist().x_test[:3].astype(np.float32):
        expected = [
            np.asarray(output)[0] for output in every_output(digit.reshape(1, 28, 28, 1), training=False)
        ]
        activations = classifier.activations(digit)
        assert list(activations) == [layer.name for layer in layers]
        for (layer_name, actual), wanted in zip(activations.items(), expected, strict=True):
            assert actual.shape == wanted.shape, layer_name
            scale = max(1.0, float(np.abs(wanted).max()))
            np.testing.assert_allclose(actual, wanted, atol=ACTIVATION_TOLERANCE * scale, err_msg=layer_name)
        np.testing.assert_allclose(classifier.probabilities(digit), expected[-1], atol=1e-4)

    first = first_layer_weights(tmp_path)
    if name == "mlp":
        assert (first.kind, first.layer_name, first.images.shape) == ("dense", "dense_1", (32, 28, 28))
        np.testing.assert_array_equal(
            first.images[5].reshape(784), np.asarray(model.get_layer("dense_1").kernel)[:, 5]
        )
    else:
        first_block = CONFIGS[name].network.conv_blocks[0]
        filters, size = first_block.filters, first_block.kernel_size
        assert (first.kind, first.layer_name, first.images.shape) == ("conv", "conv_1", (filters, size, size))
        kernel = np.asarray(model.get_layer("conv_1").kernel)
        np.testing.assert_array_equal(first.images[3], kernel[:, :, 0, 3])
    assert first.description

    info = json.loads((tmp_path / LITE_INFO_FILE).read_text())
    assert info["source"] == layout.MODEL_FILE
    assert info["source_mtime_ns"] == (tmp_path / layout.MODEL_FILE).stat().st_mtime_ns
    assert 0 <= info["max_difference"] <= convert.AGREEMENT


def test_activation_names_sort_in_layer_order_beyond_ten_layers(keras, tmp_path):
    from core.jobs.models import build_model

    model = build_model(ModelConfig(network=MLP(hidden_layers=tuple(DenseLayer(16, 0.1) for _ in range(6)))))
    classifier = lite_classifier(model, tmp_path)
    names = [layer.name for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    assert len(names) > 10
    assert list(classifier.activations(np.zeros((28, 28)))) == names


def test_a_wrapped_imported_model_counts_as_one_layer(keras, tmp_path):
    """The importer's wrapper: the nested model is one layer; its first Dense still gives weights."""
    inner_input = keras.Input((784,))
    inner_hidden = keras.layers.Dense(12, activation="relu", name="inner_hidden")(inner_input)
    inner = keras.Model(
        inner_input, keras.layers.Dense(10, name="inner_logits")(inner_hidden), name="uploaded"
    )
    inputs = keras.Input((28, 28, 1), name="pixels")
    x = keras.layers.Rescaling(1 / 255, name="import_rescale")(inputs)
    x = keras.layers.Reshape((784,), name="import_reshape")(x)
    wrapper = keras.Model(inputs, keras.layers.Softmax(name="import_softmax")(inner(x)), name="imported")
    classifier = lite_classifier(wrapper, tmp_path)
    activations = classifier.activations(load_mnist().x_test[0])
    assert list(activations) == ["import_rescale", "import_reshape", "uploaded", "import_softmax"]
    assert activations["uploaded"].shape == (10,)
    first = first_layer_weights(tmp_path)
    assert (first.kind, first.layer_name, first.images.shape) == ("dense", "inner_hidden", (12, 28, 28))


def test_a_sequential_model_converts(keras, tmp_path):
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Rescaling(1 / 255, name="scale"),
            keras.layers.Flatten(name="flat"),
            keras.layers.Dense(10, activation="softmax", name="out"),
        ]
    )
    assert list(lite_classifier(model, tmp_path).activations(np.zeros((28, 28)))) == ["scale", "flat", "out"]


def test_no_first_layer_to_show_leaves_no_weights_file(keras, tmp_path):
    """A Dense on pooled features is no picture of the pixels; an older model's file goes too."""
    from core.jobs.models import build_model

    lite_classifier(build_model(CONFIGS["mlp"]), tmp_path)
    assert first_layer_weights(tmp_path) is not None
    inputs = keras.Input((28, 28, 1))
    pooled = keras.layers.Flatten()(keras.layers.MaxPooling2D(2)(inputs))
    lite_classifier(keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(pooled)), tmp_path)
    assert not (tmp_path / FIRST_LAYER_FILE).exists()


def test_a_conversion_that_disagrees_with_keras_replaces_nothing(keras, tmp_path, monkeypatch):
    model = contract_model(keras)
    lite_classifier(model, tmp_path)
    before = {
        name: (tmp_path / name).read_bytes() for name in (LITE_MODEL_FILE, FIRST_LAYER_FILE, LITE_INFO_FILE)
    }
    monkeypatch.setattr(convert, "AGREEMENT", -1.0)  # Every difference, even 0, is now too large.
    with pytest.raises(ModelLoadError, match="does not convert faithfully"):
        write_lite_files(model, tmp_path, source_name=layout.MODEL_FILE)
    assert {name: (tmp_path / name).read_bytes() for name in before} == before
    assert sorted(os.listdir(tmp_path)) == sorted([layout.MODEL_FILE, *before])  # No temporary leftovers.


def test_refuses_a_model_outside_the_contract(keras, tmp_path):
    model = contract_model(keras, outputs=5)
    save(model, tmp_path / layout.MODEL_FILE)
    with pytest.raises(ModelLoadError, match="does not fit this app"):
        write_lite_files(model, tmp_path, source_name=layout.MODEL_FILE)
    assert not (tmp_path / LITE_MODEL_FILE).exists()
    inputs = keras.Input((28, 28, 1))
    logits = keras.Model(inputs, keras.layers.Dense(10)(keras.layers.Flatten()(inputs)))
    with pytest.raises(ModelLoadError, match="softmax"):
        write_lite_files(logits, tmp_path, source_name=layout.MODEL_FILE)
    assert not (tmp_path / LITE_MODEL_FILE).exists()
    with pytest.raises(ValueError, match="source_name"):
        write_lite_files(contract_model(keras), tmp_path, source_name="../model.keras")


# --- lite_is_fresh --------------------------------------------------------------------------


@pytest.fixture()
def converted(keras, tmp_path):
    model = contract_model(keras)
    lite_classifier(model, tmp_path)
    return model, tmp_path


def test_fresh_after_conversion_and_stale_once_the_model_is_saved_again(converted):
    model, folder = converted
    assert lite_is_fresh(folder)
    model.layers[-1].bias.assign(np.arange(10, dtype=np.float32))
    save(model, folder / layout.MODEL_FILE)
    assert not lite_is_fresh(folder)


def test_fresh_when_only_the_modification_time_changed(converted):
    """A git checkout sets a new mtime on the same bytes: the content hash settles it."""
    _, folder = converted
    source = folder / layout.MODEL_FILE
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert lite_is_fresh(folder)


def test_converted_from_the_checkpoint_is_stale_once_the_final_model_exists(converted):
    model, folder = converted
    os.replace(folder / layout.MODEL_FILE, folder / layout.CHECKPOINT_FILE)
    write_lite_files(model, folder, source_name=layout.CHECKPOINT_FILE)
    assert lite_is_fresh(folder)
    save(model, folder / layout.MODEL_FILE)
    assert not lite_is_fresh(folder)


@pytest.mark.parametrize("damage", ["no-record", "damaged-record", "no-tflite", "no-model"])
def test_stale_when_something_is_missing_or_damaged(converted, damage):
    _, folder = converted
    if damage == "no-record":
        (folder / LITE_INFO_FILE).unlink()
    elif damage == "damaged-record":
        (folder / LITE_INFO_FILE).write_text('{"source": "model.keras", "source_mtime_ns"')
    elif damage == "no-tflite":
        (folder / LITE_MODEL_FILE).unlink()
    else:
        (folder / layout.MODEL_FILE).unlink()
    assert not lite_is_fresh(folder)
