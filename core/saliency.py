"""What a model looks at: saliency maps over one digit, and the first layer's learned weights.

TensorFlow is imported inside the functions, never at module level, so a page can import this
module for free and pay for TensorFlow only when it asks for a map.

Saliency methods, both non-zero off the ink by construction (unlike gradient x input):
- gradient: |d p_c / d x|, the magnitude of the gradient of the predicted class's probability
  with respect to each input pixel, up to a constant factor per digit (see
  `gradient_saliency`: a confident model's probability saturates at 1.0 in float32, and its
  plain gradient would underflow to zero).
- occlusion: how much the predicted class's probability drops when a small square around the
  pixel is blacked out (set to the 0 background), averaged over the squares covering it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

METHODS = ("gradient", "occlusion")
OCCLUSION_PATCH, OCCLUSION_STRIDE = 4, 2
LOG_FLOOR = 1e-30


@dataclass(frozen=True)
class Saliency:
    values: np.ndarray  # (28, 28) float32, >= 0
    predicted: int
    probability: float
    method: str


def _batch(image: np.ndarray) -> np.ndarray:
    pixels = np.asarray(image, dtype=np.float32)
    if pixels.shape != (28, 28):
        raise ValueError(f"expected one 28x28 digit, got shape {pixels.shape}")
    return pixels.reshape(1, 28, 28, 1)


def _logits(model: Any, inputs, tf) -> Any | None:
    """The pre-softmax scores, when the model ends in a softmax Dense layer or a Softmax layer
    (every model of this project does); None for any other ending."""
    import keras

    last = model.layers[-1]
    try:
        if isinstance(last, keras.layers.Dense) and last.activation is keras.activations.softmax:
            features = keras.Model(model.inputs, last.input)(inputs, training=False)
            return tf.matmul(features, last.kernel) + (last.bias if last.use_bias else 0.0)
        if isinstance(last, keras.layers.Softmax):
            return keras.Model(model.inputs, last.input)(inputs, training=False)
    except (ValueError, AttributeError, TypeError):
        pass  # A graph that cannot be cut there: fall back to the probabilities.
    return None


def gradient_saliency(model: Any, image: np.ndarray) -> Saliency:
    """|d p_c / d x| for the predicted class c, up to a constant factor per digit.

    With logits z, d log p_c / dx = sum over j != c of p_j * d(z_c - z_j)/dx. The p_j of a
    confident model underflow in float32 (p_c rounds to 1.0 and the plain gradient to 0), so
    the competitors are weighted by w_j = softmax of their own logits, which is p_j times a
    constant and never underflows: the map is exact up to that constant.
    """
    import tensorflow as tf

    x = tf.convert_to_tensor(_batch(image))
    probabilities = np.asarray(model(x, training=False)).reshape(-1)
    predicted = int(probabilities.argmax())
    with tf.GradientTape() as tape:
        tape.watch(x)
        logits = _logits(model, x, tf)
        if logits is None:
            score = tf.math.log(tf.maximum(model(x, training=False)[0, predicted], LOG_FLOOR))
        else:
            z = logits[0]
            others = tf.not_equal(tf.range(tf.shape(z)[0]), predicted)
            weights = tf.stop_gradient(tf.nn.softmax(tf.where(others, z, tf.fill(tf.shape(z), -np.inf))))
            score = tf.reduce_sum(weights * (z[predicted] - z))
    gradient = tape.gradient(score, x)
    values = np.abs(np.asarray(gradient, dtype=np.float32)).reshape(28, 28)
    return Saliency(values, predicted, float(probabilities[predicted]), "gradient")


def occlusion_saliency(
    model: Any, image: np.ndarray, patch: int = OCCLUSION_PATCH, stride: int = OCCLUSION_STRIDE
) -> Saliency:
    """Mean drop of p_c when a `patch` x `patch` square covering the pixel is blacked out."""
    base = _batch(image)
    probabilities = np.asarray(model(base, training=False)).reshape(-1)
    predicted = int(probabilities.argmax())
    corners = [(r, c) for r in range(0, 28 - patch + 1, stride) for c in range(0, 28 - patch + 1, stride)]
    occluded = np.repeat(base, len(corners), axis=0)
    for k, (r, c) in enumerate(corners):
        occluded[k, r : r + patch, c : c + patch, 0] = 0.0
    scores = np.asarray(model(occluded, training=False))[:, predicted]
    drops = np.maximum(probabilities[predicted] - scores, 0.0)
    total = np.zeros((28, 28), np.float64)
    cover = np.zeros((28, 28), np.float64)
    for drop, (r, c) in zip(drops, corners):
        total[r : r + patch, c : c + patch] += drop
        cover[r : r + patch, c : c + patch] += 1
    values = np.divide(total, cover, out=np.zeros_like(total), where=cover > 0).astype(np.float32)
    return Saliency(values, predicted, float(probabilities[predicted]), "occlusion")


def saliency_map(model: Any, image: np.ndarray, method: str = "gradient") -> Saliency:
    if method == "gradient":
        return gradient_saliency(model, image)
    if method == "occlusion":
        return occlusion_saliency(model, image)
    raise ValueError(f"unknown saliency method {method!r}; expected one of {METHODS}")


@dataclass(frozen=True)
class FirstLayer:
    kind: str  # "dense" or "conv"
    layer_name: str
    images: np.ndarray  # (units or filters, height, width) float32 weights
    description: str


def _layers_in_order(model: Any):
    """Every layer, nested models (e.g. an imported model inside its wrapper) expanded."""
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            yield from _layers_in_order(layer)
        else:
            yield layer


def first_layer_weights(model: Any) -> FirstLayer | None:
    """The first Dense or Conv2D layer's weights as images, or None if there is neither.

    A Dense layer that reads the 784 pixels gives one 28x28 image per hidden unit: the pattern
    of pixels that excites it. A Conv2D layer on the one-channel digit gives one k x k filter.
    """
    import keras

    for layer in _layers_in_order(model):
        if isinstance(layer, keras.layers.Conv2D):
            kernel = np.asarray(layer.kernel, dtype=np.float32)  # (k, k, channels, filters)
            if kernel.shape[2] != 1:
                return None
            images = np.transpose(kernel[:, :, 0, :], (2, 0, 1))
            size = f"{kernel.shape[0]}x{kernel.shape[1]}"
            return FirstLayer("conv", layer.name, images, f"{images.shape[0]} filters of {size} pixels")
        if isinstance(layer, keras.layers.Dense):
            kernel = np.asarray(layer.kernel, dtype=np.float32)  # (inputs, units)
            if kernel.shape[0] != 784:
                return None
            images = kernel.T.reshape(-1, 28, 28)
            return FirstLayer("dense", layer.name, images, f"{images.shape[0]} hidden units, 784 weights each")
    return None
