"""What a model looks at: saliency maps over one digit, and the first layer's learned weights.

No TensorFlow here. The maps come from the LiteRT classifier by changing the digit and watching
the answer (gradients would need TensorFlow); the weights come from first_layer.npz, written
beside the model by the job that converted it (core/jobs/convert.py).

Both methods measure the predicted digit c by its log-odds, log p_c - log(sum of the other p_j),
rather than by p_c: a confident model's p_c rounds to 1.0 in float32 and would not move at all,
while the other digits' tiny probabilities still do (until they underflow to 0, at a logit margin
near 100, which gives a flat map).
- occlusion: how much the log-odds fall when a small square around the pixel is blacked out (set
  to the 0 background), averaged over the squares covering it. What the answer rests on: zero
  far from the ink, where blacking out changes nothing.
- pixel_flip: how much the log-odds move, either way, when that one pixel is switched between ink
  and background (a dark pixel to 255, a bright one to 0). Background pixels light up too, where
  a stroke there would sway the answer.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.serving.inference import FIRST_LAYER_FILE, Classifier

METHODS = ("occlusion", "pixel_flip")
OCCLUSION_PATCH, OCCLUSION_STRIDE = 4, 2
INK, BACKGROUND = 255.0, 0.0
# Keeps log() finite when a probability underflowed to exactly 0 in float32 (smallest: 1.4e-45).
PROBABILITY_FLOOR = 1e-45


@dataclass(frozen=True)
class Saliency:
    values: np.ndarray  # (28, 28) float32, >= 0
    predicted: int
    probability: float
    method: str


def _digit(image: np.ndarray) -> np.ndarray:
    pixels = np.asarray(image, dtype=np.float32)
    if pixels.shape != (28, 28):
        raise ValueError(f"expected one 28x28 digit, got shape {pixels.shape}")
    return pixels


def _log_odds(probabilities: np.ndarray, digit: int) -> np.ndarray:
    """log p_digit - log(sum of the others), per row of (n, 10) probabilities."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    others = np.delete(probabilities, digit, axis=1).sum(axis=1)
    chosen = probabilities[:, digit]
    return np.log(np.maximum(chosen, PROBABILITY_FLOOR)) - np.log(np.maximum(others, PROBABILITY_FLOOR))


def occlusion_saliency(
    classifier: Classifier, image: np.ndarray, patch: int = OCCLUSION_PATCH, stride: int = OCCLUSION_STRIDE
) -> Saliency:
    """Mean fall of the predicted digit's log-odds when a `patch` x `patch` square covering the
    pixel is blacked out."""
    digit = _digit(image)
    probabilities = classifier.probabilities(digit)
    predicted = int(probabilities.argmax())
    corners = [(r, c) for r in range(0, 28 - patch + 1, stride) for c in range(0, 28 - patch + 1, stride)]
    occluded = np.repeat(digit[None], len(corners), axis=0)
    for k, (r, c) in enumerate(corners):
        occluded[k, r : r + patch, c : c + patch] = BACKGROUND
    base = _log_odds(probabilities[None], predicted)
    falls = np.maximum(base - _log_odds(classifier.probabilities_batch(occluded), predicted), 0.0)
    total = np.zeros((28, 28), np.float64)
    cover = np.zeros((28, 28), np.float64)
    for fall, (r, c) in zip(falls, corners, strict=True):
        total[r : r + patch, c : c + patch] += fall
        cover[r : r + patch, c : c + patch] += 1
    values = np.divide(total, cover, out=np.zeros_like(total), where=cover > 0).astype(np.float32)
    return Saliency(values, predicted, float(probabilities[predicted]), "occlusion")


def pixel_flip_saliency(classifier: Classifier, image: np.ndarray) -> Saliency:
    """|change of the predicted digit's log-odds| when the pixel alone swaps ink and background."""
    digit = _digit(image)
    probabilities = classifier.probabilities(digit)
    predicted = int(probabilities.argmax())
    flipped = np.repeat(digit[None], 28 * 28, axis=0)
    rows, columns = np.divmod(np.arange(28 * 28), 28)
    flipped[np.arange(28 * 28), rows, columns] = np.where(digit[rows, columns] > INK / 2, BACKGROUND, INK)
    base = _log_odds(probabilities[None], predicted)
    changes = np.abs(_log_odds(classifier.probabilities_batch(flipped), predicted) - base)
    values = changes.reshape(28, 28).astype(np.float32)
    return Saliency(values, predicted, float(probabilities[predicted]), "pixel_flip")


def saliency_map(classifier: Classifier, image: np.ndarray, method: str = "occlusion") -> Saliency:
    if method == "occlusion":
        return occlusion_saliency(classifier, image)
    if method == "pixel_flip":
        return pixel_flip_saliency(classifier, image)
    raise ValueError(f"unknown saliency method {method!r}; expected one of {METHODS}")


@dataclass(frozen=True)
class FirstLayer:
    kind: str  # "dense" or "conv"
    layer_name: str
    images: np.ndarray  # (units or filters, height, width) float32 weights
    description: str


def first_layer_weights(folder_or_npz_path: str | os.PathLike) -> FirstLayer | None:
    """The first layer's weights as images, from a model folder's first_layer.npz (or that file).

    None when there is no such file (the model has no dense or convolutional layer on the raw
    pixels, or was not converted yet) or it is damaged: the page then shows no weights.
    """
    path = Path(folder_or_npz_path)
    if path.is_dir():
        path = path / FIRST_LAYER_FILE
    try:
        with np.load(path, allow_pickle=False) as data:
            kind, layer_name, description = (
                str(data[key][()]) for key in ("kind", "layer_name", "description")
            )
            images = np.asarray(data["images"], dtype=np.float32)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):  # A damaged or partial file.
        return None
    if (
        kind not in ("dense", "conv")
        or images.ndim != 3
        or not images.size
        or not np.all(np.isfinite(images))
    ):
        return None
    return FirstLayer(kind, layer_name, images, description)
