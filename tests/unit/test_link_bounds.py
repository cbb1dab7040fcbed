"""A link's values checked against the form's bounds before use: a count beyond a family's rows
is a ConfigError naming it (not a KeyError), a negative count is reported as given, and a value
longer than any setting is not read at all."""

import pytest

from core.networks import designer
from core.networks.config import PRESETS, ConfigError
from core.ui import links

SEED = designer.widget_values(PRESETS["seed-mlp"].config)


@pytest.mark.parametrize(
    ("settings", "said"),
    [
        ({"mlp_hidden_layers_count": 7}, "hidden_layers (count): must be between 1 and 6 (got 7)"),
        ({"mlp_hidden_layers_count": -1}, "(got -1)"),
        ({"architecture": "cnn", "cnn_conv_blocks_count": 50}, "conv_blocks (count): must be between"),
        ({"mlp_hidden_layers_count": 2.5}, "hidden_layers (count): must be a whole number"),
    ],
)
def test_a_count_out_of_bounds_is_refused_by_name(settings, said):
    with pytest.raises(ConfigError) as refused:
        designer.from_link(settings, SEED)
    assert said in str(refused.value)


def test_every_row_the_most_rows_allow_is_usable():
    assert designer.from_link({"mlp_hidden_layers_count": 6}, SEED)["mlp_hidden_layers_count"] == 6


def test_a_value_longer_than_any_setting_is_left_out():
    like = {"design_preset": "seed-mlp", "explore_digits": [0]}
    params = {"design_preset": ["x" * (links.MAX_VALUE_CHARS + 1)], "explore_digits": ["1"] * 51}
    assert links.decode(params, like) == {}
    assert links.decode({"design_preset": ["fast-cnn"]}, like) == {"design_preset": "fast-cnn"}
