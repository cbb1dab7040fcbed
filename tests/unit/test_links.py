"""Shareable links: settings to URL parameters and back, and what each page accepts from one."""

import pytest

from core.data import explore
from core.networks import designer
from core.networks.config import PRESETS, ConfigError
from core.ui import links


def test_settings_survive_the_url():
    values = {"flag": False, "count": 3, "rate": 0.0003, "name": "cnn", "digits": [3, 5]}
    params = links.encode(values)
    assert params == {
        "flag": ["false"],
        "count": ["3"],
        "rate": ["0.0003"],
        "name": ["cnn"],
        "digits": ["3", "5"],
    }
    assert links.decode(params, values) == values


def test_a_mistyped_or_unknown_parameter_is_left_out():
    like = {"flag": True, "count": 1, "rate": 0.1, "digits": [0]}
    params = {"flag": ["yes"], "count": ["2.5"], "rate": ["nan"], "digits": ["1", "x"], "other": ["1"]}
    assert links.decode(params, like) == {}
    assert links.decode({"count": ["4"], "rate": ["1e-3"]}, like) == {"count": 4, "rate": 0.001}


def test_a_design_link_names_only_what_the_design_uses():
    values = designer.widget_values(PRESETS["fast-cnn"].config)
    shared = designer.link_values(values)
    assert shared["architecture"] == "cnn" and shared["cnn_conv_blocks_count"] == 2
    assert "cnn_conv_blocks_filters_1" in shared and "cnn_conv_blocks_filters_2" not in shared
    assert not any(key.startswith(("mlp_", "residual")) for key in shared)
    assert designer.config_from_values({**values, **shared}) == PRESETS["fast-cnn"].config


def test_a_design_link_is_checked_as_a_whole():
    values = designer.widget_values(PRESETS["seed-mlp"].config)
    opened = designer.from_link({"architecture": "cnn", "epochs": 7}, values)
    assert designer.config_from_values(opened).architecture == "cnn"
    assert opened["epochs"] == 7 and "mlp_hidden_layers_count" not in opened
    with pytest.raises(ConfigError, match="architecture"):
        designer.from_link({"architecture": "transformer"}, values)
    with pytest.raises(ConfigError, match="epochs"):
        designer.from_link({"epochs": 10_000}, values)


def test_explorer_filters_from_a_link():
    settings = {
        "explore_split": "validation",
        "explore_digits": [7, 3, 7],
        "explore_seed": -1,
        "explore_page": 4,
        "explore_shuffle": False,
    }
    assert explore.usable_filters(settings) == {
        "explore_digits": [3, 7],
        "explore_page": 4,
        "explore_shuffle": False,
    }
    assert explore.usable_filters({"explore_digits": [12], "explore_page": 0}) == {}


def test_frozen_parameters_ignore_order():
    assert links.frozen({"a": ["1"], "b": ["2", "3"]}) == links.frozen({"b": ["2", "3"], "a": ["1"]})
    assert links.frozen({"b": ["2", "3"]}) != links.frozen({"b": ["3", "2"]})
