"""What the figures say on their axes: readable ticks, logarithmic axes named, whole counts."""

import numpy as np

from core.data import explore
from core.ui import charts

TRAIN = np.array([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])
TEST = np.array([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])


def test_log_ticks_carry_their_whole_value():
    ticks, labels = charts.log_ticks([2.3, 0.4, 0.013])
    assert labels == ["0.01", "0.02", "0.05", "0.1", "0.2", "0.5", "1", "2"]
    assert ticks == [float(label) for label in labels]
    _, labels = charts.log_ticks([0, 1, 4_000_000])  # Counts: one tick per decade, zeros ignored.
    assert labels == ["1", "10", "100", "1,000", "10,000", "100,000", "1,000,000"]
    assert charts.log_ticks([0, np.nan]) == ([], [])


def test_loss_axis_is_named_logarithmic_with_readable_ticks():
    points = [
        {"kind": "batch", "epoch": 0.5, "loss": 2.1, "accuracy": 0.4},
        {"kind": "epoch", "epoch": 1, "loss": 0.3, "accuracy": 0.9, "val_loss": 0.05, "val_accuracy": 0.98},
    ]
    figure = charts.training_curves({"run": points})
    loss_axis, accuracy_axis = figure.layout.yaxis, figure.layout.yaxis2
    assert loss_axis.type == "log" and "log scale" in loss_axis.title.text
    assert list(loss_axis.ticktext) == ["0.05", "0.1", "0.2", "0.5", "1", "2"]
    assert accuracy_axis.type != "log" and accuracy_axis.title.text == "accuracy"
    subplot_title_top = figure.layout.margin.t
    assert subplot_title_top >= 60  # Room above the subplot titles for Plotly's toolbar.


def test_statistics_log_axes_say_so():
    histogram = charts.pixel_histogram_figure(np.bincount([0, 0, 0, 255, 128], minlength=256))
    assert "log scale" in histogram.layout.yaxis.title.text and list(histogram.layout.yaxis.ticktext)
    images = np.random.default_rng(1).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    figure = charts.normalisation_figure(explore.normalisation_views(images))
    assert "log scale" in figure.layout.yaxis.title.text
    assert all("." not in label or label.startswith("0.") for label in figure.layout.yaxis.ticktext)


def test_class_balance_fits_a_half_width_column():
    figure = charts.class_distribution(TRAIN, TEST, height=260, compact=True)
    assert figure.layout.xaxis.type == "category" and figure.layout.xaxis.dtick == 1  # Every digit.
    assert {bar.textangle for bar in figure.data} == {0}  # Upright, not rotated.
    assert {bar.textfont.size for bar in figure.data} == {11} and figure.layout.uniformtext.mode == "show"
    assert {bar.texttemplate for bar in figure.data} == {"%{y:.2s}"}  # 6.7k, 1.1k
    assert all(bar.cliponaxis is False for bar in figure.data)  # Digit 1's tall bar keeps its label.
    assert figure.layout.yaxis.range[1] > TRAIN.max()
    assert figure.layout.legend.y >= 1 and figure.layout.legend.yanchor == "bottom"  # Not over the bars.
    full = charts.class_distribution(TRAIN, TEST)
    assert {bar.texttemplate for bar in full.data} == {"%{y:,}"}


def test_count_colour_bar_ticks_whole_digits():
    few = charts.confusion_heatmap(np.array([[8, 2, 0], [1, 4, 3], [0, 0, 9]])).data[0]
    assert few.colorbar.dtick == 1 and few.colorbar.tick0 == 0
    many = charts.confusion_heatmap(np.array([[900, 60], [13, 990]])).data[0]
    assert many.colorbar.dtick == 10 and float(many.colorbar.dtick).is_integer()
    rates = charts.confusion_heatmap(np.array([[8, 2], [1, 4]]), normalised=True).data[0]
    assert rates.colorbar.tickformat == ".0%"


def test_stage_bars_of_two_models_label_each_bar_upright_above_it():
    """Side by side, two 100% labels written across would overlap ("100%100%"); upright, each
    stays over its own bar, with room above the tallest."""
    sure, torn = np.eye(10)[3], np.eye(10)[3] * 0.62
    torn[8] = 0.38
    one = charts.stage_probabilities([sure], ["CNN"])
    two = charts.stage_probabilities([sure, torn], ["CNN", "MLP"])
    assert [bar.textangle for bar in one.data] == [0]
    assert [bar.textangle for bar in two.data] == [-90, -90]
    assert list(two.data[1].text) == ["", "", "", "62%", "", "", "", "", "38%", ""]
    assert two.layout.yaxis.range[1] >= 1.5 and list(two.layout.yaxis.tickvals) == [0, 0.5, 1]
