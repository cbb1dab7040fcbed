"""Turn any picture of a digit into the 28x28 input an MNIST model expects.

MNIST digits were made by fitting each digit into a 20x20 box (keeping its
aspect ratio, anti-aliased) and pasting it into a 28x28 field so that its
intensity-weighted centre of mass sits at pixel (14, 14), white ink on black.
A model only does well on inputs prepared the same way, so this module
reproduces those steps for canvas drawings, uploads and photos of paper (the ink is found by
core.data.ink, uploads are decoded by core.data.uploads).

Pure numpy + Pillow so it is fast and testable without Streamlit or TensorFlow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from core.data.ink import MIN_CONTRAST, find_ink, ink_and_polarity

# Large photos are reduced first: a 20 px digit needs nothing finer, and area
# averaging also suppresses sensor and JPEG noise.
WORK_SIZE = 1024


FIELD = 28


BOX = 20


CENTRE = 14.0  # MNIST's centre of mass, measured in pixel-index coordinates.


@dataclass(frozen=True, eq=False)
class Preprocessed:
    """What the model sees, plus facts worth showing to the user."""

    pixels: np.ndarray  # (28, 28) float32, 0-255, white ink on black.
    blank: bool  # No ink found: pixels are all zero and should not be classified.
    inverted: bool  # The source was dark ink on a light background.
    bbox: tuple[int, int, int, int] | None  # Ink (left, top, right, bottom) in source pixels.


def to_mnist(image: Image.Image | np.ndarray, drawn: bool = False) -> Preprocessed:
    """Prepare any image of one digit exactly the way MNIST digits were prepared.

    `drawn` says the picture comes from the canvas: white ink on a black page, no light, no
    shadows, no dust. The photo-only work (which way the ink goes, the paper's local level and
    noise, specks to drop) is then skipped, which halves the time a stroke takes to answer; on
    such a picture it would find exactly that black page anyway.
    """
    gray, scale = _luminance(image)
    if drawn:
        ink, inverted = gray, False
    else:
        ink, inverted = ink_and_polarity(gray)
    found = find_ink(ink, MIN_CONTRAST, light_paper=inverted, black_page=drawn)
    if found is None:
        return Preprocessed(_readonly(np.zeros((FIELD, FIELD), np.float32)), True, inverted, None)
    strokes, (top, bottom, left, right) = found

    height, width = bottom - top, right - left
    factor = BOX / max(height, width)
    size = (min(BOX, max(1, round(width * factor))), min(BOX, max(1, round(height * factor))))
    # Pillow's bilinear filter widens with the reduction factor, so it
    # anti-aliases like area averaging but without Lanczos's ringing.
    digit = np.asarray(
        Image.fromarray(strokes[top:bottom, left:right], "F").resize(size, Image.Resampling.BILINEAR),
        dtype=np.float32,
    )
    digit = digit * (255.0 / digit.max())

    total = digit.sum()
    # Rounded because a symmetric digit's centre lies exactly on a half pixel:
    # float noise must not pick the side, or redrawing the same digit would jitter.
    rows = round(float(np.arange(digit.shape[0]) @ digit.sum(axis=1) / total), 3)
    cols = round(float(np.arange(digit.shape[1]) @ digit.sum(axis=0) / total), 3)
    y0 = int(np.clip(math.floor(CENTRE - rows + 0.5), 0, FIELD - digit.shape[0]))
    x0 = int(np.clip(math.floor(CENTRE - cols + 0.5), 0, FIELD - digit.shape[1]))
    pixels = np.zeros((FIELD, FIELD), np.float32)
    pixels[y0 : y0 + digit.shape[0], x0 : x0 + digit.shape[1]] = digit

    bbox = (
        math.floor(left * scale[1]),
        math.floor(top * scale[0]),
        math.ceil(right * scale[1]),
        math.ceil(bottom * scale[0]),
    )
    return Preprocessed(_readonly(pixels), False, inverted, bbox)


def model_input(pixels: np.ndarray) -> np.ndarray:
    """A fresh (1, 28, 28, 1) float32 batch on the raw 0-255 scale; models normalise internally."""
    pixels = np.asarray(pixels)
    if pixels.shape != (FIELD, FIELD):
        raise ValueError(f"expected a (28, 28) image, got shape {pixels.shape}")
    return np.array(pixels, dtype=np.float32).reshape(1, FIELD, FIELD, 1)


def _luminance(image: Image.Image | np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    """Gray float32 in [0, 1] at working size, and (y, x) factors back to source pixels.

    Transparent pixels are composited onto the background the picture implies.
    """
    if isinstance(image, np.ndarray):
        image = _array_to_image(image)
    if image.mode in ("I", "I;16", "I;16L", "I;16B", "I;16N", "F"):
        image = Image.fromarray(_unit_scale(np.asarray(image)), "F")
    elif image.mode in ("LA", "La", "PA", "RGBA", "RGBa") or "transparency" in image.info:
        image = image.convert("RGBA")
    else:
        image = image.convert("L")

    source_w, source_h = image.size
    if max(source_w, source_h) > WORK_SIZE:
        factor = WORK_SIZE / max(source_w, source_h)
        # Pillow premultiplies alpha when resizing RGBA, so edges stay clean.
        image = image.resize(
            (max(1, round(source_w * factor)), max(1, round(source_h * factor))), Image.Resampling.BOX
        )
    scale = (source_h / image.size[1], source_w / image.size[0])

    if image.mode == "F":
        return np.asarray(image, dtype=np.float32), scale
    gray = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    if image.mode == "RGBA":
        alpha = np.asarray(image.getchannel("A"), dtype=np.float32) / 255.0
        if alpha.min() < 1.0:
            gray = alpha * gray + (1.0 - alpha) * _backdrop(gray, alpha)
    return gray, scale


def _backdrop(gray: np.ndarray, alpha: np.ndarray) -> float:
    """The gray that transparency stands for.

    If most of the picture is opaque, the opaque part is the paper and
    transparency matches it; if only strokes are opaque (a canvas, a cut-out
    digit), transparency is the opposite of the strokes.
    """
    opaque = alpha > 0.5
    if not opaque.any():
        return 0.0
    colour = float(np.median(gray[opaque]))
    if opaque.mean() >= 0.5:
        return colour
    return 1.0 if colour < 0.5 else 0.0


def _array_to_image(array: np.ndarray) -> Image.Image:
    """Accept (H, W), (H, W, 1-4) arrays of any numeric dtype, e.g. the canvas's RGBA uint8."""
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    modes = {2: "LA", 3: "RGB", 4: "RGBA"}
    if array.ndim == 2:
        mode = "L" if array.dtype == np.uint8 else "F"
    elif array.ndim == 3 and array.shape[2] in modes:
        mode = modes[array.shape[2]]
    else:
        raise ValueError(f"expected an (H, W) or (H, W, 1-4) image array, got shape {array.shape}")
    if mode == "F":
        return Image.fromarray(_unit_scale(array), "F")
    if array.dtype != np.uint8:
        array = np.rint(_unit_scale(array) * 255.0).astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(array), mode)


def _unit_scale(array: np.ndarray) -> np.ndarray:
    """Map integer or float pixel data to float32 [0, 1] by its evident range."""
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    if array.dtype == np.uint16:
        return array.astype(np.float32) / 65535.0
    array = array.astype(np.float32)
    peak = float(array.max()) if array.size else 0.0
    divisor = 1.0 if peak <= 1.0 else 255.0 if peak <= 255.0 else 65535.0
    return np.clip(array / divisor, 0.0, 1.0)


def _readonly(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array
