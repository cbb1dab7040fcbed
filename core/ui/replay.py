"""Replaying a finished run's recorded curves on stage: real training rarely fits a talk, so the
metrics a run wrote (metrics.jsonl) are revealed again, epoch by epoch, at a chosen speed.

The animation runs in the browser (Plotly frames, core/charts.replay_curves): the server sends
the figure once. No Streamlit and no Plotly here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

FRAMES_PER_SECOND = 10
METRICS = ("loss", "accuracy")


@dataclass(frozen=True)
class Series:
    run: str
    metric: str  # "loss" or "accuracy"
    split: str  # "train" (batch points) or "validation" (epoch points)
    epochs: np.ndarray
    values: np.ndarray


def series(name: str, metrics: list[dict[str, Any]]) -> list[Series]:
    """The curves training_curves draws for one run: train from batch records, validation from
    epoch records; a record missing the value (or not a number) is skipped."""
    found = []
    for metric in METRICS:
        for split, kind, key in (("train", "batch", metric), ("validation", "epoch", f"val_{metric}")):
            points = [
                (record["epoch"], record[key])
                for record in metrics
                if record.get("kind") == kind
                and isinstance(record.get("epoch"), (int, float))
                and isinstance(record.get(key), (int, float))
            ]
            if points:
                epochs, values = np.array(points, dtype=np.float64).T
                found.append(Series(name, metric, split, epochs, values))
    return found


def epochs_recorded(metrics: list[dict[str, Any]]) -> int:
    """Completed epochs: a run with none has nothing to replay."""
    return sum(record.get("kind") == "epoch" for record in metrics)


def frame_cutoffs(last_epoch: float, seconds: float, fps: int = FRAMES_PER_SECOND) -> np.ndarray:
    """The epoch each frame reveals up to: `seconds * fps` frames, evenly from 0 to the end
    (the last one exactly at the end, so the final frame shows every point)."""
    count = max(2, round(seconds * fps))
    return np.linspace(0.0, last_epoch, count)
