"""Digits, weights and saliency maps as pictures: numpy images and small HTML montages.

One image with a few labels renders in milliseconds where a hundred Plotly figures take seconds,
and a picture redrawn on every stroke costs the browser next to nothing. No Streamlit here.
"""

from __future__ import annotations

import base64
import io
from html import escape

import numpy as np
import plotly.colors
from PIL import Image

from core.data.explore import montage

TILE, GAP = 28, 2


def _palette(name: str, steps: int = 256) -> np.ndarray:
    """A Plotly colour scale as a (steps, 3) uint8 lookup table, for colouring numpy images."""
    colours = plotly.colors.sample_colorscale(name, list(np.linspace(0.0, 1.0, steps)))
    return (
        np.array([plotly.colors.unlabel_rgb(colour) for colour in colours], dtype=np.float64)
        .round()
        .astype(np.uint8)
    )


HOT = _palette("Hot")  # Black, red, yellow, white: Plotly's own "Hot" scale.


def png_data_uri(pixels: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def labelled_grid(images: np.ndarray, captions: list[str], columns: int = 10, tile_px: int = 64) -> str:
    """Digits as one montage image with a caption over each tile's corner, as HTML.

    One image and a few spans render in milliseconds, where a hundred figures would take seconds.
    """
    picture = montage(images, columns, GAP)
    height, width = picture.shape
    display_width = width * tile_px // TILE
    labels = []
    for position, caption in enumerate(captions):
        row, column = divmod(position, columns)
        left = 100 * (GAP + column * (TILE + GAP)) / width
        top = 100 * (GAP + row * (TILE + GAP)) / height
        labels.append(
            f'<span class="digit-label" style="left:{left:.3f}%;top:{top:.3f}%">{escape(caption)}</span>'
        )
    return (
        f'<div class="digit-grid" style="position:relative;width:{display_width}px;max-width:100%">'
        f'<img src="{png_data_uri(picture)}" alt="{len(captions)} digits" '
        'style="width:100%;image-rendering:pixelated;display:block">'
        + "".join(labels)
        + "</div><style>.digit-label{position:absolute;padding:0 3px;font:600 12px sans-serif;"
        "color:#FFD54F;pointer-events:none}</style>"
    )


def class_means_grid(means: np.ndarray) -> str:
    """The average of every digit, which shows what a linear model could latch on to."""
    return labelled_grid(np.rint(means).astype(np.uint8), [str(d) for d in range(10)], columns=10, tile_px=84)


def enlarged_digit(pixels: np.ndarray, scale: int = 8) -> np.ndarray:
    """The 28x28 image a model sees, as uint8 with each pixel a sharp `scale` x `scale` square.

    A plain picture rather than a Plotly figure: it is redrawn after every stroke, and an image
    costs the browser next to nothing to show.
    """
    pixels = np.clip(np.rint(np.asarray(pixels, dtype=float)), 0, 255).astype(np.uint8)
    return np.kron(pixels, np.ones((scale, scale), np.uint8))


def saliency_images(image: np.ndarray, saliency: np.ndarray, scale: int = 8) -> list[np.ndarray]:
    """The digit, its saliency map, and the map over the faded digit, as enlarged RGB images.

    The map is scaled from its median to its maximum (its absolute size means little across
    digits): the median is the level most pixels share, which for pixel flip is a faint haze over
    the whole background, so only the pixels that stand out from it light up instead of noise.
    """
    digit = np.clip(np.asarray(image, dtype=np.float64), 0, 255) / 255.0
    values = np.asarray(saliency, dtype=np.float64)
    floor, peak = float(np.median(values)), float(np.max(values))
    heat = (values - floor) / (peak - floor) if peak > floor else np.zeros_like(digit)
    grey = np.repeat((255 * digit)[..., None], 3, axis=-1).astype(np.uint8)
    hot = HOT[np.rint(255 * np.clip(heat, 0.0, 1.0)).astype(np.int64)]
    blend = (0.35 * grey + 0.65 * hot).astype(np.uint8)
    block = np.ones((scale, scale, 1), np.uint8)
    return [np.kron(picture, block) for picture in (grey, hot, blend)]


def weight_tiles(weights: np.ndarray) -> np.ndarray:
    """Weight images as uint8 28x28 tiles: mid-grey is 0, white positive, black negative.

    Each tile is scaled to its own largest |weight|; filters smaller than 28x28 are enlarged
    with sharp pixels so each weight stays a visible square.
    """
    weights = np.asarray(weights, dtype=np.float64)
    peak = np.abs(weights).reshape(len(weights), -1).max(axis=1).reshape(-1, 1, 1)
    scaled = np.divide(weights, peak, out=np.zeros_like(weights), where=peak > 0)
    tiles = np.rint(127.5 + 127.5 * scaled).astype(np.uint8)
    if tiles.shape[1:] != (TILE, TILE):
        tiles = np.stack(
            [np.asarray(Image.fromarray(t).resize((TILE, TILE), Image.Resampling.NEAREST)) for t in tiles]
        )
    return tiles


def weights_grid(weights: np.ndarray, columns: int = 16, tile_px: int = 56) -> str:
    """The first layer's weights, one tile per unit or filter, its number under it (HTML).

    A number over the tile would hide a fifth of a 5x5 filter's weights.
    """
    cells = "".join(
        f'<figure style="margin:0"><img src="{png_data_uri(tile)}" alt="unit {number}" '
        'style="width:100%;image-rendering:pixelated;display:block">'
        f'<figcaption class="weight-number">{number}</figcaption></figure>'
        for number, tile in enumerate(weight_tiles(weights), start=1)
    )
    return (
        f'<div class="weights-grid" style="display:grid;gap:4px 6px;'
        f'grid-template-columns:repeat({columns}, minmax(0, {tile_px}px))">{cells}</div>'
        "<style>.weight-number{font:12px sans-serif;text-align:center;opacity:0.75}</style>"
    )
