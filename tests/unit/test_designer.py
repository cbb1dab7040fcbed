"""The designer form round-trips every preset and every family, and rejects what the config rejects."""

import pytest

from core.networks import designer
from core.networks.config import FAMILIES, PRESETS, ConfigError, ModelConfig
from core.networks.families.cnn import CNN, ConvBlock

MLP_FAMILY = FAMILIES["mlp"]
HIDDEN = MLP_FAMILY.groups[0]


def key(family: str, group: str, field: str, index: int | None = None) -> str:
    family_spec = FAMILIES[family]
    group_spec = next(g for g in family_spec.groups if g.name == group)
    return designer.group_key(family_spec, group_spec, field, index)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_presets_round_trip_through_the_form(preset):
    config = PRESETS[preset].config
    assert designer.config_from_values(designer.widget_values(config)) == config


def test_form_has_a_slot_for_every_possible_row_of_every_family():
    values = designer.widget_values(ModelConfig())
    assert values[designer.count_key(MLP_FAMILY, HIDDEN)] == 2
    for family in FAMILIES.values():
        for group in family.groups:
            indexes = [None] if group.count is None else range(group.count[1])
            for index in indexes:
                for field in group.fields:
                    field.check("slot", values[designer.group_key(family, group, field.name, index)])


def test_growing_the_layer_count_uses_the_spare_slots():
    values = designer.widget_values(ModelConfig())
    values[designer.count_key(MLP_FAMILY, HIDDEN)] = 3
    values.update(
        {key("mlp", "hidden_layers", "units", 2): 64, key("mlp", "hidden_layers", "activation", 2): "gelu"}
    )
    config = designer.config_from_values(values)
    assert [layer.units for layer in config.network.hidden_layers] == [512, 512, 64]
    assert config.network.hidden_layers[2].activation == "gelu"


def test_switching_architecture_keeps_each_familys_design():
    values = designer.widget_values(ModelConfig(network=CNN(conv_blocks=(ConvBlock(8, 5),))))
    values["architecture"] = "mlp"
    assert designer.config_from_values(values) == ModelConfig()
    values["architecture"] = "cnn"
    config = designer.config_from_values(values)
    assert config.architecture == "cnn" and config.network.conv_blocks == (ConvBlock(8, 5),)


def test_invalid_values_name_the_field():
    values = designer.widget_values(ModelConfig())
    values[key("mlp", "hidden_layers", "dropout", 1)] = 0.95
    with pytest.raises(ConfigError) as error:
        designer.config_from_values(values)
    assert error.value.field == "hidden_layers[1].dropout"


def test_every_choice_label_fits_a_half_width_select_box():
    """The form's select boxes sit in half a column: at 1400 px wide "hold-out from training data"
    (27 characters) just fitted and "all GPUs (the batch split across them)" was cut after 29;
    details go in the field's help."""
    too_long = {choice: label for choice, label in designer.CHOICE_LABELS.items() if len(label) > 24}
    assert too_long == {}
