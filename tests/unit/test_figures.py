"""The figures carry the data they are meant to show."""

import re

import numpy as np

from core.data import explore
from core.ui import charts, pictures


def test_labelled_grid_is_one_image_with_one_caption_per_tile():
    images = np.random.default_rng(0).integers(0, 256, (23, 28, 28), dtype=np.uint8)
    html = pictures.labelled_grid(images, [str(i % 10) for i in range(23)], columns=10)
    assert html.count("<img ") == 1 and 'src="data:image/png;base64,' in html
    labels = re.findall(r'left:([\d.]+)%;top:([\d.]+)%">(\d)</span>', html)
    assert [text for _, _, text in labels] == [str(i % 10) for i in range(23)]
    assert float(labels[10][1]) > float(labels[9][1]) and float(labels[10][0]) < float(labels[9][0])


def test_grid_captions_are_escaped():
    html = pictures.labelled_grid(np.zeros((1, 28, 28), np.uint8), ["<b>"])
    assert "&lt;b&gt;" in html and "<b>" not in html


def test_digit_heatmap_shows_every_pixel_value():
    image = np.arange(784).reshape(28, 28) % 256
    heatmap = charts.digit_heatmap(image.astype(np.uint8), "a digit").data[0]
    assert np.array_equal(np.asarray(heatmap.z), image)
    assert (heatmap.zmin, heatmap.zmax) == (0, 255)


def test_class_distribution_has_both_splits():
    figure = charts.class_distribution(np.arange(10), np.arange(10) * 2)
    assert [bar.name for bar in figure.data] == ["train (45)", "test (90)"]
    assert list(figure.data[1].y) == list(np.arange(10) * 2)


def test_normalisation_figure_has_one_panel_per_scale():
    images = np.random.default_rng(1).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    views = explore.normalisation_views(images)
    figure = charts.normalisation_figure(views)
    assert len(figure.data) == 3
    assert min(figure.data[2].x) < 0 < max(figure.data[2].x)
