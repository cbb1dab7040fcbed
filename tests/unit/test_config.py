"""The configuration validates every field at its bounds and round-trips through JSON."""

import json

import pytest

from core.networks.config import FAMILIES, PRESETS, ConfigError, ModelConfig
from core.networks.families import base
from core.networks.families.base import DenseLayer
from core.networks.families.cnn import CNN, ConvBlock
from core.networks.families.mlp import MLP
from core.networks.training import TRAINING_FIELDS
from tests import network_changed

CNN_CONFIG = ModelConfig(network=CNN())


def choices(setting: str) -> list:
    return list(TRAINING_FIELDS[setting].choices)


# (field, a config factory taking the value, values just inside, values just outside)
BOUNDS = [
    ("architecture", lambda v: ModelConfig.from_dict({"architecture": v}), list(FAMILIES), ["rnn", ""]),
    (
        "hidden_layers (count)",
        lambda n: ModelConfig(network=MLP(hidden_layers=(DenseLayer(),) * n)),
        [1, 6],
        [0, 7],
    ),
    (
        "hidden_layers[0].units",
        lambda v: ModelConfig(network=MLP(hidden_layers=(DenseLayer(units=v),))),
        [16, 2048],
        [15, 2049, 64.5],
    ),
    (
        "hidden_layers[0].dropout",
        lambda v: ModelConfig(network=MLP(hidden_layers=(DenseLayer(dropout=v),))),
        [0.0, 0.8],
        [-0.01, 0.81],
    ),
    (
        "hidden_layers[0].activation",
        lambda v: ModelConfig(network=MLP(hidden_layers=(DenseLayer(activation=v),))),
        list(base.ACTIVATIONS),
        ["softmax"],
    ),
    (
        "conv_blocks (count)",
        lambda n: network_changed(CNN_CONFIG, conv_blocks=(ConvBlock(),) * n),
        [1, 4],
        [0, 5],
    ),
    (
        "conv_blocks[0].filters",
        lambda v: network_changed(CNN_CONFIG, conv_blocks=(ConvBlock(filters=v),)),
        [4, 256],
        [3, 257],
    ),
    (
        "conv_blocks[0].kernel_size",
        lambda v: network_changed(CNN_CONFIG, conv_blocks=(ConvBlock(kernel_size=v),)),
        [3, 5],
        [4, 7],
    ),
    (
        "conv_blocks[0].batch_norm",
        lambda v: network_changed(CNN_CONFIG, conv_blocks=(ConvBlock(batch_norm=v),)),
        [True, False],
        [1, "yes"],
    ),
    (
        "conv_blocks[0].pool",
        lambda v: network_changed(CNN_CONFIG, conv_blocks=(ConvBlock(pool=v),)),
        [True, False],
        [0],
    ),
    (
        "conv_blocks[0].dropout",
        lambda v: network_changed(CNN_CONFIG, conv_blocks=(ConvBlock(dropout=v),)),
        [0.0, 0.8],
        [0.9],
    ),
    ("head.units", lambda v: network_changed(CNN_CONFIG, head=DenseLayer(units=v)), [16, 2048], [8, 4096]),
    ("head.dropout", lambda v: network_changed(CNN_CONFIG, head=DenseLayer(dropout=v)), [0.0, 0.8], [1.0]),
    ("optimizer", lambda v: ModelConfig(optimizer=v), choices("optimizer"), ["adagrad"]),
    ("learning_rate", lambda v: ModelConfig(learning_rate=v), [1e-5, 1.0], [0.0, 1.5, "0.01"]),
    ("momentum", lambda v: ModelConfig(momentum=v), [0.0, 0.99], [1.0, -0.1]),
    ("schedule", lambda v: ModelConfig(schedule=v, warmup_epochs=1), choices("schedule"), ["step"]),
    (
        "warmup_epochs",
        lambda v: ModelConfig(schedule="warmup_cosine", epochs=5, warmup_epochs=v),
        [1, 4],
        [0, 5],
    ),
    ("batch_size", lambda v: ModelConfig(batch_size=v), [16, 1024], [15, 1025]),
    ("epochs", lambda v: ModelConfig(epochs=v), [1, 200], [0, 201]),
    ("normalization", lambda v: ModelConfig(normalization=v), choices("normalization"), ["minmax"]),
    ("augment", lambda v: ModelConfig(augment=v), [True, False], [None]),
    ("rotation_degrees", lambda v: ModelConfig(rotation_degrees=v), [0.0, 45.0], [-1.0, 46.0]),
    ("shift_fraction", lambda v: ModelConfig(shift_fraction=v), [0.0, 0.3], [0.31]),
    ("zoom_fraction", lambda v: ModelConfig(zoom_fraction=v), [0.0, 0.5], [0.51, "0.1"]),
    ("shear_factor", lambda v: ModelConfig(shear_factor=v), [0.0, 0.5], [0.6]),
    ("early_stopping_patience", lambda v: ModelConfig(early_stopping_patience=v), [0, 50], [-1, 51]),
    ("validation", lambda v: ModelConfig(validation=v), choices("validation"), ["train"]),
    ("validation_size", lambda v: ModelConfig(validation_size=v), [1000, 20000], [999, 20001]),
    (
        "train_limit",
        lambda v: ModelConfig(train_limit=v, validation="test"),
        [0, 500, 60000],
        [499, 60001, -1],
    ),
    ("seed", lambda v: ModelConfig(seed=v), [0, 2**31 - 1], [-1, 2**31]),
    ("devices", lambda v: ModelConfig(devices=v), choices("devices"), ["gpu", None]),
]


@pytest.mark.parametrize("field, make, inside, outside", BOUNDS, ids=[b[0] for b in BOUNDS])
def test_every_field_accepts_its_bounds_and_rejects_beyond(field, make, inside, outside):
    for value in inside:
        make(value)
    for value in outside:
        with pytest.raises(ConfigError) as error:
            make(value)
        assert error.value.field == field, (value, str(error.value))
        assert field in str(error.value)


def test_a_hold_out_must_leave_digits_to_train_on():
    with pytest.raises(ConfigError) as error:
        ModelConfig(train_limit=1000, validation_size=1000)
    assert error.value.field == "validation_size"
    assert ModelConfig(train_limit=1000, validation="test").training_samples == 1000
    assert ModelConfig(train_limit=3000, validation_size=1000).training_samples == 2000
    assert ModelConfig().training_samples == 55000


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_json_round_trip(preset):
    config = PRESETS[preset].config
    text = json.dumps(config.to_dict())
    assert ModelConfig.from_dict(json.loads(text)) == config
    assert json.loads(text)["architecture"] == config.architecture


def test_json_with_unknown_or_broken_content_is_refused():
    with pytest.raises(ConfigError, match="is not a known setting"):
        ModelConfig.from_dict({"epochs": 3, "lr": 0.1})
    with pytest.raises(ConfigError, match="neurons: is not a known setting"):
        ModelConfig.from_dict({"hidden_layers": [{"neurons": 5}]})
    with pytest.raises(ConfigError, match="conv_blocks: is not a setting of the MLP family"):
        ModelConfig.from_dict({"architecture": "mlp", "network": {"conv_blocks": []}})
    with pytest.raises(ConfigError) as error:
        ModelConfig.from_dict({"hidden_layers": [{"units": 5000}]})
    assert error.value.field == "hidden_layers[0].units"


def test_the_seed_preset_is_the_keras_example():
    seed = PRESETS["seed-mlp"]
    assert seed.label == "Keras mnist_mlp (seed)"
    config = seed.config
    assert config.architecture == "mlp"
    assert [(layer.units, layer.dropout, layer.activation) for layer in config.network.hidden_layers] == [
        (512, 0.2, "relu")
    ] * 2
    assert (config.optimizer, config.learning_rate, config.batch_size, config.epochs) == (
        "rmsprop",
        0.001,
        128,
        20,
    )
    assert config.schedule == "constant" and not config.augment and config.validation == "holdout"


def test_old_run_folders_config_json_still_loads():
    """Before families, config.json held every family's layers at the top level."""
    old_cnn = {
        "architecture": "cnn",
        "hidden_layers": [{"units": 512, "dropout": 0.2, "activation": "relu"}],
        "conv_blocks": [{"filters": 16, "kernel_size": 5, "batch_norm": False, "pool": True, "dropout": 0.0}],
        "head": {"units": 128, "dropout": 0.3, "activation": "relu"},
        "optimizer": "adam",
        "epochs": 5,
    }
    config = ModelConfig.from_dict(old_cnn)
    assert config.network == CNN(conv_blocks=(ConvBlock(16, 5, batch_norm=False),), head=DenseLayer(128, 0.3))
    assert (config.optimizer, config.epochs) == ("adam", 5)
    old_mlp = {key: old_cnn[key] for key in ("hidden_layers", "conv_blocks", "head")}
    assert ModelConfig.from_dict({"architecture": "mlp", **old_mlp}).network == MLP((DenseLayer(512, 0.2),))
    saved = ModelConfig.from_dict(old_cnn).to_dict()
    assert set(saved["network"]) == {"conv_blocks", "head"} and "hidden_layers" not in saved


def test_descriptions():
    assert ModelConfig().describe() == "MLP 512-512"
    assert PRESETS["fast-cnn"].config.describe().startswith("CNN 16c5-32c3")


def test_an_old_augment_switch_keeps_its_shifts_and_rotations():
    from core.networks import architecture

    config = ModelConfig.from_dict({"augment": True})  # config.json before the four amounts.
    names = [row.name for row in architecture.summary_rows(config)]
    assert names[1:4] == ["augment_shift", "augment_rotate", "rescale"]
    assert (config.rotation_degrees, config.shift_fraction) == (10.0, 0.1)
