"""A look inside a network: each layer's activations for one digit as pictures, like ConvNetJS's
MNIST demo. Feature maps of a convolutional layer show as a grid, the units of a dense layer as
a strip that wraps.

The activations come from the LiteRT file's named outputs (`Classifier.activations`), so no
TensorFlow is needed. No Streamlit here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

import numpy as np

from core.data.explore import montage
from core.ui.pictures import HOT, png_data_uri

MAPS_PER_ROW = 8
UNITS_PER_ROW = 64
UNIT_CELL = 4  # Pixels a unit takes in the picture, before the page enlarges it.
MAP_PX = 56  # How wide one feature map shows, whatever its resolution.
STRIP_PX = 512  # How wide a full row of units shows.
GAP_COLOUR = np.array([38, 39, 48], np.uint8)


@dataclass(frozen=True)
class LayerView:
    name: str
    shape: tuple[int, ...]  # The layer's output for one digit: (height, width, maps) or (units,).
    picture: np.ndarray  # (h, w, 3) uint8 at one pixel per value; the page enlarges it.
    width_px: int  # How wide the page shows it.

    @property
    def description(self) -> str:
        if len(self.shape) == 3:
            height, width, maps = self.shape
            return f"{maps} map{'s' if maps != 1 else ''} of {height}x{width}"
        return f"{math.prod(self.shape)} units"


def layer_views(activations: dict[str, np.ndarray]) -> list[LayerView]:
    """Every layer worth a picture, in order.

    A layer whose values repeat the previous layer's (a Flatten, a Dropout at inference, a
    Reshape) would show the same picture again, so it is left out.
    """
    views: list[LayerView] = []
    previous: np.ndarray | None = None
    for name, values in activations.items():
        values = np.asarray(values, dtype=np.float32)
        if previous is not None and np.array_equal(values.ravel(), previous.ravel()):
            continue
        previous = values
        if values.ndim == 3:
            views.append(_maps(name, values))
        elif values.ndim == 1:
            views.append(_units(name, values))
    return views


def _levels(values: np.ndarray) -> np.ndarray:
    """0-255 levels of the whole layer, from its lowest (black) to its highest (white) value,
    so maps of one layer compare with each other."""
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return np.zeros(values.shape, np.uint8)
    return np.rint(255 * (values - low) / (high - low)).astype(np.uint8)


def _coloured(levels: np.ndarray, columns: int) -> np.ndarray:
    """Tiles of levels as one Hot-coloured montage, the gaps between tiles dark grey."""
    picture = HOT[montage(levels, columns, gap=1).astype(np.int64)]
    tiles = montage(np.full_like(levels, 255), columns, gap=1) == 255
    picture[~tiles] = GAP_COLOUR
    return picture


def _maps(name: str, values: np.ndarray) -> LayerView:
    maps = np.moveaxis(_levels(values), -1, 0)  # (maps, height, width)
    columns = min(len(maps), MAPS_PER_ROW)
    width_px = columns * MAP_PX
    return LayerView(name, tuple(values.shape), _coloured(maps, columns), width_px)


def _units(name: str, values: np.ndarray) -> LayerView:
    count = len(values)
    columns = min(count, UNITS_PER_ROW)
    # Each unit a small square, so the 1-pixel gaps stay thin beside it when enlarged.
    cells = np.repeat(np.repeat(_levels(values).reshape(count, 1, 1), UNIT_CELL, 1), UNIT_CELL, 2)
    picture = _coloured(cells, columns)
    # A short layer (10 outputs) gets wide cells; a full row of units spans STRIP_PX.
    width_px = columns * max(STRIP_PX // UNITS_PER_ROW, min(48, STRIP_PX // columns))
    return LayerView(name, (count,), picture, width_px)


def layers_html(views: list[LayerView], font_px: int = 14) -> str:
    """The layers side by side, wrapping, each captioned with its name and shape."""
    blocks = [
        f'<figure style="margin:0"><img src="{png_data_uri(view.picture)}" '
        f'alt="{escape(view.name)}: {escape(view.description)}" '
        f'style="width:{view.width_px}px;max-width:100%;image-rendering:pixelated;display:block">'
        f'<figcaption class="layer-caption" style="font-size:{font_px}px">'
        f"<b>{escape(view.name)}</b> · {escape(view.description)}</figcaption></figure>"
        for view in views
    ]
    return (
        '<div class="layer-views" style="display:flex;flex-wrap:wrap;gap:16px 28px;align-items:flex-end">'
        + "".join(blocks)
        + "</div>"
    )
