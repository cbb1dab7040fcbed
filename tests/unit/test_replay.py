"""Replay on stage: a run's recorded curves become an animation of the chosen length whose frames
reveal the run epoch by epoch, ending on every recorded point, on axes fixed to the whole run."""

import numpy as np

from core.runs import registry, run_results
from core.ui import charts, replay


def shipped_metrics() -> list[dict]:
    shipped = next(run for run in registry.list_runs(include_shipped=True) if run.shipped)
    return run_results.read_metrics(shipped)


def test_series_are_the_recorded_train_and_validation_curves():
    metrics = shipped_metrics()
    curves = replay.series("fast", metrics)
    epochs = [m for m in metrics if m["kind"] == "epoch"]
    assert [(c.metric, c.split) for c in curves] == [
        ("loss", "train"),
        ("loss", "validation"),
        ("accuracy", "train"),
        ("accuracy", "validation"),
    ]
    assert replay.epochs_recorded(metrics) == len(epochs) == 5
    validation_loss = curves[1]
    assert validation_loss.epochs.tolist() == [m["epoch"] for m in epochs]
    assert validation_loss.values.tolist() == [m["val_loss"] for m in epochs]
    assert len(curves[0].epochs) == sum(m["kind"] == "batch" for m in metrics)


def test_a_record_without_the_value_is_skipped():
    metrics = [
        {"kind": "epoch", "epoch": 1, "loss": 0.5, "val_loss": "nan?", "accuracy": 0.8, "val_accuracy": 0.9},
        {"kind": "batch", "epoch": 0.5, "loss": None, "accuracy": 0.7},
    ]
    curves = replay.series("r", metrics)
    assert [(c.metric, c.split, c.values.tolist()) for c in curves] == [
        ("accuracy", "train", [0.7]),
        ("accuracy", "validation", [0.9]),
    ]


def test_twenty_epochs_in_fifteen_seconds():
    cutoffs = replay.frame_cutoffs(20, seconds=15)
    assert len(cutoffs) == 15 * replay.FRAMES_PER_SECOND
    assert cutoffs[0] == 0 and cutoffs[-1] == 20 and np.all(np.diff(cutoffs) > 0)


def test_the_animation_reveals_two_runs_and_ends_on_every_point():
    metrics = shipped_metrics()
    curves = replay.series("first", metrics) + replay.series("second", metrics[: len(metrics) // 2])
    cutoffs = replay.frame_cutoffs(max(c.epochs.max() for c in curves), seconds=12)
    figure = charts.replay_curves(curves, cutoffs, seconds=12)
    assert len(figure.data) == 8 and all(len(trace.x) == 0 for trace in figure.data)
    assert len(figure.frames) == len(cutoffs)
    shown = np.array([[len(trace.x) for trace in frame.data] for frame in figure.frames])
    assert np.all(np.diff(shown, axis=0) >= 0), "points only ever appear"
    assert shown[0].sum() == 0
    assert shown[-1].tolist() == [len(c.epochs) for c in curves]
    assert list(figure.frames[-1].data[1].y) == curves[1].values.tolist()
    play = figure.layout.updatemenus[0].buttons[0]
    assert play.label.endswith("Play")
    assert play.args[1]["frame"]["duration"] * len(cutoffs) == 12_000
    assert list(figure.layout.xaxis.range) == list(figure.layout.xaxis2.range)
    assert figure.layout.xaxis.range[1] >= 5
