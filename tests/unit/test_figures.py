"""The figures carry the data they are meant to show."""

import numpy as np

from core import explore, figures


def test_labelled_grid_is_one_image_with_one_caption_per_tile():
    images = np.random.default_rng(0).integers(0, 256, (23, 28, 28), dtype=np.uint8)
    figure = figures.labelled_grid(images, [str(i % 10) for i in range(23)], columns=10)
    assert [trace.type for trace in figure.data] == ["image"]
    assert figure.data[0].source.startswith("data:image/png;base64,")
    assert [a.text for a in figure.layout.annotations] == [str(i % 10) for i in range(23)]
    assert figure.layout.annotations[10].y > figure.layout.annotations[9].y


def test_digit_heatmap_shows_every_pixel_value():
    image = np.arange(784).reshape(28, 28) % 256
    heatmap = figures.digit_heatmap(image.astype(np.uint8), "a digit").data[0]
    assert np.array_equal(np.asarray(heatmap.z), image)
    assert (heatmap.zmin, heatmap.zmax) == (0, 255)


def test_class_distribution_has_both_splits():
    figure = figures.class_distribution(np.arange(10), np.arange(10) * 2)
    assert [bar.name for bar in figure.data] == ["train (45)", "test (90)"]
    assert list(figure.data[1].y) == list(np.arange(10) * 2)


def test_normalisation_figure_has_one_panel_per_scale():
    images = np.random.default_rng(1).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    views = explore.normalisation_views(images)
    figure = figures.normalisation_figure(views)
    assert len(figure.data) == 3
    assert min(figure.data[2].x) < 0 < max(figure.data[2].x)
