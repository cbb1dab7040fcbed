"""The designer form round-trips every preset and rejects what the config rejects."""

import pytest

from core import designer
from core.config import PRESETS, ConfigError, ConvBlock, ModelConfig


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_presets_round_trip_through_the_form(preset):
    config = PRESETS[preset].config
    assert designer.config_from_values(designer.widget_values(config)) == config


def test_form_has_a_slot_for_every_possible_layer():
    values = designer.widget_values(ModelConfig())
    assert values["hidden_layer_count"] == 2
    for index in range(designer.MAX_HIDDEN_LAYERS):
        assert values[f"dense_units_{index}"] >= 16
    for index in range(designer.MAX_CONV_BLOCKS):
        assert values[f"conv_kernel_size_{index}"] in (3, 5)


def test_growing_the_layer_count_uses_the_spare_slots():
    values = designer.widget_values(ModelConfig())
    values.update(hidden_layer_count=3, dense_units_2=64, dense_activation_2="gelu")
    config = designer.config_from_values(values)
    assert [layer.units for layer in config.hidden_layers] == [512, 512, 64]
    assert config.hidden_layers[2].activation == "gelu"


def test_switching_architecture_keeps_both_designs():
    values = designer.widget_values(ModelConfig(conv_blocks=(ConvBlock(8, 5),)))
    values["architecture"] = "cnn"
    config = designer.config_from_values(values)
    assert config.architecture == "cnn" and config.conv_blocks[0].kernel_size == 5


def test_invalid_values_name_the_field():
    values = designer.widget_values(ModelConfig())
    values["dense_dropout_1"] = 0.95
    with pytest.raises(ConfigError) as error:
        designer.config_from_values(values)
    assert error.value.field == "hidden_layers[1].dropout"
