"""Choosing which digits to show, and the numbers behind the dataset views."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

DIGITS = tuple(range(10))
SPLITS = ("train", "test")
SEED_MAX = 2**31 - 1
FILTERS = {
    "explore_split": "train",
    "explore_digits": list(DIGITS),
    "explore_shuffle": True,
    "explore_seed": 0,
    "explore_page": 1,
}
"""The explorer's filter widgets (their keys, which a shareable link names) and their defaults."""


@dataclass(frozen=True)
class SamplePage:
    indices: np.ndarray
    page: int
    page_count: int
    total: int
    message: str | None = None


def filter_and_order(labels: np.ndarray, digits: list[int], shuffle: bool, seed: int) -> np.ndarray:
    """Indices of the chosen digits, in dataset order or a seeded shuffle of it."""
    indices = np.flatnonzero(np.isin(labels, digits))
    if shuffle:
        indices = np.random.default_rng(seed).permutation(indices)
    return indices


def usable_filters(settings: dict) -> dict:
    """The filters from a link the explorer can show (digits in order, once each); others are
    left out, so the page keeps its own value for them."""
    usable = {
        "explore_split": lambda split: split in SPLITS,
        "explore_digits": lambda digits: set(digits) <= set(DIGITS),
        "explore_shuffle": lambda shuffle: True,
        "explore_seed": lambda seed: 0 <= seed <= SEED_MAX,
        "explore_page": lambda page: page >= 1,
    }
    filters = {key: value for key, value in settings.items() if usable[key](value)}
    if "explore_digits" in filters:
        filters["explore_digits"] = sorted(set(filters["explore_digits"]))
    return filters


def clamp(value: int, low: int, high: int) -> int:
    return min(max(value, low), high)


def sample_page(indices: np.ndarray, page: int, page_size: int) -> SamplePage:
    """One page of `indices`; an out-of-range page is clamped, with a message saying so."""
    total = len(indices)
    page_count = max(1, math.ceil(total / page_size))
    message = None
    if not 1 <= page <= page_count:
        clamped = clamp(page, 1, page_count)
        message = f"Page {page} does not exist: there are {page_count} pages. Showing page {clamped}."
        page = clamped
    start = (page - 1) * page_size
    return SamplePage(indices[start : start + page_size], page, page_count, total, message)


def montage(images: np.ndarray, columns: int, gap: int = 2) -> np.ndarray:
    """Tile 28x28 images into one uint8 picture: one image element instead of a hundred."""
    count, height, width = images.shape
    rows = max(1, math.ceil(count / columns))
    canvas = np.full((rows * (height + gap) + gap, columns * (width + gap) + gap), 60, np.uint8)
    for position, image in enumerate(images):
        row, column = divmod(position, columns)
        top, left = gap + row * (height + gap), gap + column * (width + gap)
        canvas[top : top + height, left : left + width] = image
    return canvas


def class_counts(labels: np.ndarray) -> np.ndarray:
    return np.bincount(labels, minlength=10)


def class_means(images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The average image of each digit, shape (10, 28, 28), on the 0-255 scale (zeros if absent)."""
    sums = np.stack([images[labels == digit].sum(axis=0, dtype=np.float64) for digit in DIGITS])
    return sums / np.maximum(class_counts(labels), 1)[:, None, None]


HISTOGRAM_CHUNK_IMAGES = 2048


def pixel_histogram(images: np.ndarray) -> np.ndarray:
    """How many pixels take each of the 256 values.

    Counted a few thousand images at a time: `np.bincount` widens its input to int64, which for
    all 47 million training pixels at once would cost the server 376 MB for a moment.
    """
    counts = np.zeros(256, dtype=np.int64)
    for start in range(0, len(images), HISTOGRAM_CHUNK_IMAGES):
        counts += np.bincount(images[start : start + HISTOGRAM_CHUNK_IMAGES].ravel(), minlength=256)
    return counts


@dataclass(frozen=True)
class ScaleView:
    name: str
    formula: str
    values: np.ndarray
    counts: np.ndarray
    minimum: float
    maximum: float
    mean: float
    std: float


def normalisation_views(images: np.ndarray) -> list[ScaleView]:
    """Raw, [0,1]-scaled and standardised pixels, with statistics measured on `images`.

    Works from the 256-bin histogram, so it is exact and never materialises float copies of
    47 million pixels.
    """
    counts = pixel_histogram(images).astype(np.float64)
    raw_values = np.arange(256, dtype=np.float64)
    total = counts.sum()
    scaled = raw_values / 255
    mean = float((scaled * counts).sum() / total)
    std = float(np.sqrt(((scaled - mean) ** 2 * counts).sum() / total))
    scales = [
        ("Raw pixels", "x", raw_values),
        ("Scaled to [0, 1]", "x / 255", scaled),
        ("Standardised", f"(x / 255 - {mean:.4f}) / {std:.4f}", (scaled - mean) / std),
    ]
    views = []
    for name, formula, values in scales:
        view_mean = float((values * counts).sum() / total)
        view_std = float(np.sqrt(((values - view_mean) ** 2 * counts).sum() / total))
        present = values[counts > 0]
        views.append(
            ScaleView(
                name, formula, values, counts, float(present.min()), float(present.max()), view_mean, view_std
            )
        )
    return views


def normalisation_table(views: list[ScaleView]) -> pd.DataFrame:
    """The three scales' statistics side by side."""
    return pd.DataFrame(
        {
            "scale": [v.name for v in views],
            "formula": [v.formula for v in views],
            "min": [v.minimum for v in views],
            "max": [v.maximum for v in views],
            "mean": [v.mean for v in views],
            "std": [v.std for v in views],
        }
    ).round(4)
