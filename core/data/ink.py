"""Finding the ink in a picture of a digit: which way it goes (dark on light or light on dark),
the paper's local level under uneven light and shadow, faint strokes joined to strong ones, and
specks of dust dropped. A photo needs all of it; a canvas drawing (white ink on a black page)
only the last step's bounding box (`find_ink(..., black_page=True)`).
"""

from __future__ import annotations

import functools
import math

import numpy as np
from PIL import Image

# Ink must stand this far (0-1 scale, ~38 grey levels) above the background.
# JPEG noise on a blank page stays well below it; pencil on paper is above it.
MIN_CONTRAST = 0.15


# ...and above this many times the background noise (robust sigma on the border).
NOISE_SIGMAS = 5.0


# Ink covering less than this share of the image is a speck, not a digit.
MIN_INK_FRACTION = 2e-4


MIN_INK_PIXELS = 5


# The background (paper and light) is what remains of the picture once everything narrower than
# LIGHT_SPAN of its longer side is taken away: a digit may fill most of a tight crop, but none of
# its strokes or blots is half as thick as the picture. A shadow reaching in from the picture's
# edge may be narrower, down to half of SHADOW_SPAN. Both are measured on a grid of
# BACKGROUND_GRID cells a side (`_background`).
LIGHT_SPAN = 0.5


SHADOW_SPAN = 0.25


BACKGROUND_GRID = 48


# Ink on paper in a shadow is measured against the light there, up to this many times the
# page's typical light (paper under a quarter of its typical brightness is taken as a quarter).
MAX_LIGHT_GAIN = 4.0


MAX_SHADOW_DEPTH = 0.5


# Ink down to this share of the peak belongs to the digit where it joins stronger ink.
FAINT_INK = 0.2


# A piece of ink smaller than this share of the digit's main piece, and further from the digit
# than this share of its size, is a speck on the paper, not part of the digit.
SPECK_AREA = 0.05


SPECK_GAP = 0.1


# Grids (cells per image side) on which faint ink is joined to strong ink, and on which the
# local ink level is measured.
JOIN_GRID = 96


LEVEL_GRID = 18


def _border(array: np.ndarray) -> np.ndarray:
    return np.concatenate([array[0], array[-1], array[1:-1, 0], array[1:-1, -1]])


def ink_and_polarity(gray: np.ndarray) -> tuple[np.ndarray, bool]:
    """Make ink bright; the border shows what the background is.

    The background's distance to the darkest vs the brightest content decides,
    not a fixed 0.5: paper photographed in dim light can be darker than mid-grey.
    """
    background = float(np.median(_border(gray)))
    flat = gray.ravel()
    n = min(_min_ink_pixels(flat.size), flat.size)
    # The n-th extreme, not the extreme: a few hot pixels must not decide.
    darkest = float(np.partition(flat, n - 1)[n - 1])
    brightest = float(np.partition(flat, -n)[-n])
    dark_ink, light_ink = background - darkest, brightest - background
    inverted = dark_ink > light_ink or (dark_ink == light_ink and background > 0.5)
    return (1.0 - gray if inverted else gray).astype(np.float32), inverted


def _min_ink_pixels(area: int) -> int:
    return max(MIN_INK_PIXELS, math.ceil(area * MIN_INK_FRACTION))


def _box3(array: np.ndarray) -> np.ndarray:
    """3x3 mean: single-pixel JPEG/sensor speckles cannot pose as strokes."""
    padded = np.pad(array, 1, mode="edge")
    rows = padded[:, :-2] + padded[:, 1:-1] + padded[:, 2:]
    return (rows[:-2] + rows[1:-1] + rows[2:]) / 9.0


def _background(smooth: np.ndarray) -> tuple[np.ndarray, float]:
    """The paper's level under every pixel, and the noise sigma around it (robust, on the border).

    Morphological openings (the local minimum over a square, then the local maximum of that):
    everything narrower than the square goes (strokes, blots, specks), whatever is wider stays
    (the paper, gentle or uneven light), edges included. Over squares of LIGHT_SPAN of the side,
    that is the light. A shadow, say of the phone over the page, can be narrower: the opening
    over squares of SHADOW_SPAN keeps it, but would keep a digit's thick parts too when the digit
    fills the picture. What tells them apart is that a shadow comes in from outside: the finer
    opening counts only where it is reached from the picture's edge without dipping below it (a
    reconstruction by dilation), so a shadow's edge crossing the page is neither taken for ink
    nor lets its contrast hide the digit, while ink inside the picture, however thick, stays ink.
    The picture is taken to continue beyond its edges, so a shadow at least half a SHADOW_SPAN
    square wide is kept. Worked out on a grid of about BACKGROUND_GRID cells a side (cell minima
    first). An opening sits a little under the noise's mean; the border's median residual is
    added back.
    """
    factor = max(1, math.ceil(max(smooth.shape) / BACKGROUND_GRID))
    coarse = _blocks(smooth, factor, np.minimum)
    shadow_radius = max(1, round(SHADOW_SPAN * max(smooth.shape) / factor / 2))
    light_radius = max(shadow_radius, round(LIGHT_SPAN * max(smooth.shape) / factor / 2))
    eroded = _spread(coarse, shadow_radius, np.minimum)
    shadows = _spread(eroded, shadow_radius, np.maximum)
    eroded = _spread(eroded, light_radius - shadow_radius, np.minimum)
    light = np.minimum(_spread(eroded, light_radius, np.maximum), shadows)
    level = light.copy()
    for edge in (np.s_[0], np.s_[-1], np.s_[:, 0], np.s_[:, -1]):
        level[edge] = shadows[edge]
    while True:
        grown = np.maximum(light, np.minimum(_spread(level, 1, np.maximum), shadows))
        if np.array_equal(grown, level):
            break
        level = grown
    # No shadow is as deep as ink: the paper stays under MAX_SHADOW_DEPTH of the way from its
    # typical level to the strongest ink, so ink as wide as a shadow or the light's span (a bold
    # bar across the picture, a blob) still stands out from it.
    paper = float(np.median(_border(level)))
    level = np.minimum(level, paper + MAX_SHADOW_DEPTH * (float(smooth.max()) - paper))
    residual = _border(smooth) - _border(_unblock(level, factor, smooth.shape))
    offset = float(np.median(residual))
    sigma = 1.4826 * float(np.median(np.abs(residual - offset)))
    # A cell the shadow's edge crosses holds the paper's minimum: the highest neighbouring cell
    # covers it, where the step is more than noise (anything less could not pass for ink anyway).
    highest = _spread(level, 1, np.maximum)
    level = np.where(highest - level > NOISE_SIGMAS * sigma, highest, level)
    return _unblock(level, factor, smooth.shape) + offset, sigma


def _spread(coarse: np.ndarray, radius: int, ufunc) -> np.ndarray:
    """`ufunc` (np.minimum or np.maximum) over the (2 radius + 1)-square around each cell, the
    edges repeated beyond the array."""
    if radius == 0:
        return coarse
    height, width = coarse.shape
    window = 2 * radius + 1
    padded = np.pad(coarse, radius, mode="edge")
    rows = functools.reduce(ufunc, [padded[:, i : i + width] for i in range(window)])
    return functools.reduce(ufunc, [rows[i : i + height] for i in range(window)])


def find_ink(
    ink: np.ndarray, threshold: float, light_paper: bool = False, black_page: bool = False
) -> tuple[np.ndarray, tuple[int, int, int, int]] | None:
    """Contrast-normalised strokes in [0, 1] and their box (top, bottom, left, right), or None if blank.

    The digit is the strong ink (at least half the peak) and all fainter ink joined to it down
    to a fifth of the peak, as in hysteresis edge detection: pencil, soft brushes and enlarged
    low-resolution scans keep their faint parts, while specks and texture apart from the strokes
    do not count. Each stroke is then scaled by the ink level around it, so a stroke that fades
    keeps its whole length in the 28x28 output instead of vanishing where it is faint.

    On light paper (`light_paper`, ink made bright by inverting the picture), ink is measured
    against the light falling where it lies: in a shadow the paper and the ink are both darker,
    so the difference between them shrinks with the light, and is scaled back up by the ratio of
    the page's typical paper brightness (the border's median) to the paper's brightness there.
    On a `black_page` (the canvas) the paper is 0 everywhere and noiseless, so it is not measured.
    """
    ink = np.asarray(ink, dtype=np.float32)
    if ink.ndim != 2 or ink.size == 0:
        raise ValueError(f"expected a 2-D ink array, got shape {ink.shape}")
    smooth = _box3(ink)
    background, sigma = (np.zeros_like(smooth), 0.0) if black_page else _background(smooth)
    gain = 1.0
    if light_paper:
        paper = float(np.median(1.0 - _border(background)))
        gain = paper / np.maximum(1.0 - background, MAX_LIGHT_GAIN**-1 * paper)
    signal = (smooth - background) * gain
    peak = float(signal.max())
    if peak <= 0.0 or peak < max(threshold, 2.0 * NOISE_SIGMAS * sigma):
        return None
    strong = signal >= peak / 2.0
    if int(strong.sum()) < _min_ink_pixels(ink.size):
        return None
    faint_limit = max(FAINT_INK * peak, NOISE_SIGMAS * sigma)
    digit = _joined(strong, signal >= faint_limit)
    if not black_page:  # What the canvas shows is what was drawn: no dust to take away.
        digit = _without_specks(digit)
    strong &= digit

    # Strokes saturate at the local strong-ink level, as in the bilevel NIST originals; ink
    # under a quarter of it is cut, so paper texture and JPEG ringing beside a stroke vanish.
    raw = (ink - background) * gain
    typical = max(float(np.percentile(raw[strong], 90)), peak / 2.0)
    level = np.clip(_local_peak(np.where(digit, signal, 0.0)), faint_limit, typical)
    strokes = np.clip((raw - 0.25 * level) / (0.75 * level), 0.0, 1.0) * _grow(digit)

    rows, cols = np.flatnonzero(strokes.any(axis=1)), np.flatnonzero(strokes.any(axis=0))
    return strokes, (int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1)


def _blocks(array: np.ndarray, factor: int, ufunc=np.maximum) -> np.ndarray:
    """`ufunc` (np.maximum, np.minimum or np.add) over factor x factor blocks, as strided slices
    (far faster than reducing a reshaped array over its block axes)."""
    if factor == 1:
        return array
    height, width = array.shape
    # Repeated edges leave a block's minimum or maximum as it was; a sum needs zeros.
    mode = "constant" if ufunc is np.add else "edge"
    padded = np.pad(array, ((0, -height % factor), (0, -width % factor)), mode=mode)
    cols = functools.reduce(ufunc, [padded[:, i::factor] for i in range(factor)])
    return functools.reduce(ufunc, [cols[i::factor] for i in range(factor)])


def _unblock(coarse: np.ndarray, factor: int, shape: tuple[int, int]) -> np.ndarray:
    return np.repeat(np.repeat(coarse, factor, axis=0), factor, axis=1)[: shape[0], : shape[1]]


def _dilate(mask: np.ndarray) -> np.ndarray:
    """3x3 binary dilation."""
    padded = np.pad(mask, 1)
    rows = padded[:, :-2] | padded[:, 1:-1] | padded[:, 2:]
    return rows[:-2] | rows[1:-1] | rows[2:]


def _joined(seeds: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """The candidate pixels connected (8-neighbours) to a seed, worked out on blocks of at most
    1/96 of the image side so a long faint stroke takes ~100 cheap steps, not thousands."""
    factor = max(1, math.ceil(max(seeds.shape) / JOIN_GRID))
    allowed = _blocks(candidates, factor)
    reached = _blocks(seeds, factor) & allowed
    while True:
        grown = _dilate(reached) & allowed
        if np.array_equal(grown, reached):
            break
        reached = grown
    return candidates & _unblock(reached, factor, seeds.shape)


def _without_specks(digit: np.ndarray) -> np.ndarray:
    """The ink mask without specks: pieces that are both tiny and apart from the digit.

    A speck of dust or a stray dot beside the digit would otherwise set the crop box, and the
    digit would shrink in the 28x28 output. Digits themselves come in pieces too (a "4" or "5"
    drawn in two strokes, a stroke's lifted end, a pencil line broken where it fades), so no
    piece is judged alone: the digit starts as its largest piece and takes in every piece that
    is at least SPECK_AREA of that piece's area or lies within SPECK_GAP of the digit's size
    (the longer side of its box so far) from the digit's box, until nothing more joins. What is
    left is under a twentieth of the main piece and further than a tenth of the digit from it.
    Worked out on the joining grid (JOIN_GRID cells a side), so it costs about as much as
    joining faint ink.
    """
    factor = max(1, math.ceil(max(digit.shape) / JOIN_GRID))
    cells = _blocks(digit, factor)
    labels, count = _components(cells)
    if count < 2:
        return digit
    pixels = _blocks(digit.astype(np.float32), factor, np.add)
    area = np.bincount(labels.ravel(), pixels.ravel(), count + 1)[1:]
    rows, cols = np.nonzero(cells)
    which = labels[rows, cols] - 1
    top, left = np.full(count, rows.max()), np.full(count, cols.max())
    bottom, right = np.zeros(count, rows.dtype), np.zeros(count, cols.dtype)
    np.minimum.at(top, which, rows)
    np.minimum.at(left, which, cols)
    np.maximum.at(bottom, which, rows)
    np.maximum.at(right, which, cols)

    kept = area >= SPECK_AREA * area.max()
    kept[np.argmax(area)] = True
    while True:
        box = top[kept].min(), bottom[kept].max(), left[kept].min(), right[kept].max()
        size = max(box[1] - box[0], box[3] - box[2]) + 1
        gap = np.hypot(
            np.maximum(0, np.maximum(box[0] - bottom, top - box[1])),
            np.maximum(0, np.maximum(box[2] - right, left - box[3])),
        )
        joined = kept | (gap <= SPECK_GAP * size)
        if np.array_equal(joined, kept):
            break
        kept = joined
    if kept.all():
        return digit
    return digit & _unblock(np.concatenate([[False], kept])[labels], factor, digit.shape)


def _components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected pieces of a small mask: labels 1..count (0 off the mask), and count.

    Each cell takes the smallest index among its neighbours, then the label of the cell that
    label names (pointer jumping), so labels cross a piece in a few steps, not one per cell."""
    height, width = mask.shape
    off = height * width
    labels = np.where(mask, np.arange(off).reshape(height, width), off)
    while True:
        padded = np.pad(labels, 1, constant_values=off)
        rows = np.minimum(np.minimum(padded[:, :-2], padded[:, 1:-1]), padded[:, 2:])
        lowest = np.minimum(np.minimum(rows[:-2], rows[1:-1]), rows[2:])
        lowest[~mask] = off
        flat = np.append(lowest.ravel(), off)
        lowest = flat[flat[lowest]]
        if np.array_equal(lowest, labels):
            break
        labels = lowest
    roots, dense = np.unique(labels, return_inverse=True)
    dense = dense.reshape(labels.shape) + 1
    if roots[-1] == off:
        dense[~mask] = 0
        return dense, len(roots) - 1
    return dense, len(roots)


def _local_peak(signal: np.ndarray) -> np.ndarray:
    """The strongest ink within about a sixth of the image around each pixel: the local level a
    stroke is measured against. Block maxima, spread over 3x3 blocks, then interpolated."""
    factor = max(1, math.ceil(max(signal.shape) / LEVEL_GRID))
    coarse = _blocks(signal, factor)
    padded = np.pad(coarse, 1)
    rows = np.maximum(np.maximum(padded[:, :-2], padded[:, 1:-1]), padded[:, 2:])
    spread = np.maximum(np.maximum(rows[:-2], rows[1:-1]), rows[2:])
    return np.asarray(
        Image.fromarray(spread.astype(np.float32), "F").resize(signal.shape[::-1], Image.Resampling.BILINEAR)
    )


def _grow(mask: np.ndarray) -> np.ndarray:
    """The mask grown by 2 px, for the anti-aliased edges of strokes."""
    return _dilate(_dilate(mask))
