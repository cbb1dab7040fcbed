"""The predict page's figures: the probability bars and the enlarged 28x28 input."""

import numpy as np

from core.ui import charts, pictures


def test_probability_bars_highlight_the_prediction():
    probabilities = np.array([0.01, 0.02, 0.0, 0.0, 0.05, 0.0, 0.0, 0.9, 0.02, 0.0])
    bars = charts.probability_bars(probabilities).data[0]
    assert list(bars.x) == [str(d) for d in range(10)]
    np.testing.assert_allclose(bars.y, probabilities)
    colours = list(bars.marker.color)
    assert colours[7] == charts.PREDICTED_COLOUR and colours.count(charts.PREDICTED_COLOUR) == 1
    assert bars.text[7] == "90.0%" and bars.text[2] == ""


def test_empty_probability_bars_wait_for_a_digit():
    figure = charts.probability_bars(None)
    assert not any(figure.data[0].y)
    assert charts.PREDICTED_COLOUR not in figure.data[0].marker.color
    assert "waiting" in figure.layout.title.text


def test_enlarged_digit_keeps_pixels_sharp():
    pixels = np.zeros((28, 28), np.float32)
    pixels[3, 5] = 254.6
    big = pictures.enlarged_digit(pixels, scale=8)
    assert big.shape == (224, 224) and big.dtype == np.uint8
    assert (big[24:32, 40:48] == 255).all() and big.sum() == 255 * 64
