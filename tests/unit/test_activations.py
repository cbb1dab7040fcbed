"""A look inside: for a known digit, the layers shown, their number and shapes, are the model's
(as core/architecture describes it), read from the LiteRT file without TensorFlow."""

import math
import re

import numpy as np
import pytest

from core.data.mnist import load_mnist
from core.networks import architecture
from core.networks.config import PRESETS
from core.runs import layout, registry
from core.serving.inference import load_classifier
from core.ui import activations
from tests.lite_models import lite_classifier

# Layers that only pass their input on (reshaped, or unchanged at inference) add no picture.
PASS_THROUGH = {"InputLayer", "Flatten", "Dropout"}


def expected_layers(config) -> list[tuple[str, tuple[int, ...]]]:
    return [
        (layer.name, tuple(layer.shape))
        for layer in architecture.network(config).layers
        if layer.type not in PASS_THROUGH
    ]


def shown(views) -> list[tuple[str, tuple[int, ...]]]:
    return [(view.name, view.shape) for view in views]


@pytest.fixture(scope="module")
def seven() -> np.ndarray:
    data = load_mnist()
    assert data.y_test[0] == 7
    return data.x_test[0]


def test_the_shipped_cnn_shows_every_layer_with_its_shape(seven):
    shipped = next(run for run in registry.list_runs(include_shipped=True) if run.shipped)
    classifier = load_classifier(shipped.path / layout.LITE_MODEL_FILE)
    views = activations.layer_views(classifier.activations(seven))
    config = shipped.config
    assert shown(views) == expected_layers(config)
    assert [view.description for view in views][:2] == ["1 map of 28x28", "16 maps of 28x28"]
    # The network is sure of its 7: the last strip is the probabilities, brightest at 7.
    cell = activations.UNIT_CELL + 1  # A unit's square and the gap after it.
    assert views[-1].shape == (10,) and int(np.argmax(views[-1].picture[1, 1::cell, 0])) == 7


def test_the_seed_mlp_shows_its_hidden_units_as_strips(seven, tmp_path):
    from core.jobs.models import build_model

    config = PRESETS["seed-mlp"].config
    classifier = lite_classifier(build_model(config), tmp_path)
    views = activations.layer_views(classifier.activations(seven))
    assert shown(views) == expected_layers(config)
    hidden = [view for view in views if len(view.shape) == 1][:-1]
    assert [view.shape for view in hidden] == [(512,), (512,)]
    cell = activations.UNIT_CELL + 1
    for view in hidden:  # 512 units wrap into rows of 64 squares, with 1 px gaps.
        rows = math.ceil(view.shape[0] / activations.UNITS_PER_ROW)
        assert view.picture.shape == (cell * rows + 1, cell * activations.UNITS_PER_ROW + 1, 3)


def test_feature_maps_form_a_grid_of_eight_per_row():
    values = np.random.default_rng(0).normal(size=(14, 14, 32)).astype(np.float32)
    (view,) = activations.layer_views({"conv": values})
    assert view.picture.shape == (4 * 15 + 1, 8 * 15 + 1, 3)
    assert view.description == "32 maps of 14x14"


def test_a_repeated_layer_is_left_out_and_every_layer_is_captioned():
    maps = np.random.default_rng(1).random((7, 7, 4)).astype(np.float32)
    dense = np.arange(10, dtype=np.float32)
    views = activations.layer_views({"pool": maps, "flatten": maps.ravel(), "head": dense, "drop": dense})
    assert shown(views) == [("pool", (7, 7, 4)), ("head", (10,))]
    html = activations.layers_html(views, font_px=22)
    assert re.findall(r"<figcaption[^>]*font-size:22px[^>]*><b>(\w+)</b>", html) == ["pool", "head"]
