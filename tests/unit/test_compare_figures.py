"""Figures of the compare pages: confusion heatmap, saliency pictures, weight tiles."""

import numpy as np

from core.ui import charts, pictures

CONFUSION = np.array([[8, 2], [1, 4]])


def test_confusion_heatmap_counts_and_rates():
    counts = charts.confusion_heatmap(CONFUSION).data[0]
    assert np.asarray(counts.z).tolist() == [[8, 2], [1, 4]]
    assert counts.zmax == 2  # Capped at the largest mistake, so mistakes stand out.
    rates = charts.confusion_heatmap(CONFUSION, normalised=True).data[0]
    assert np.allclose(rates.z, [[0.8, 0.2], [0.2, 0.8]])
    assert list(rates.text[0]) == ["80.0%", "20.0%"]


def test_saliency_images_are_enlarged_rgb():
    digit = np.zeros((28, 28))
    digit[10:18, 12:16] = 255
    values = np.zeros((28, 28))
    values[14, 14] = 3.0
    grey, heat, blend = pictures.saliency_images(digit, values, scale=4)
    assert grey.shape == heat.shape == blend.shape == (112, 112, 3) and heat.dtype == np.uint8
    assert heat[14 * 4, 14 * 4].tolist() == [255, 255, 255] and heat[0, 0].tolist() == [0, 0, 0]
    assert pictures.saliency_images(digit, np.zeros((28, 28)))[1].max() == 0  # No division by zero.


def test_weight_tiles_centre_zero_on_grey():
    weights = np.zeros((2, 3, 3))
    weights[0, 0, 0], weights[0, 2, 2] = 1.0, -0.5
    tiles = pictures.weight_tiles(weights)
    assert tiles.shape == (2, 28, 28)
    assert tiles[0, 0, 0] == 255 and tiles[0, 27, 27] == 64 and tiles[0, 14, 14] == 128
    assert np.all(tiles[1] == 128)
