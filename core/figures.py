"""Plotly figures for every page. No Streamlit here, so each figure can be tested on its own."""

from __future__ import annotations

import base64
import io
from html import escape

import numpy as np
import plotly.graph_objects as go
from PIL import Image
from plotly.subplots import make_subplots

from core.evaluate import row_normalised
from core.explore import ScaleView, montage

TILE, GAP = 28, 2
SPLIT_COLOURS = {"train": "#4C78A8", "test": "#F58518"}


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


def digit_heatmap(image: np.ndarray, title: str) -> go.Figure:
    """One digit large, each cell labelled with its 0-255 value."""
    figure = go.Figure(
        go.Heatmap(
            z=image,
            colorscale="gray",
            zmin=0,
            zmax=255,
            text=image.astype(int),
            texttemplate="%{text}",
            textfont=dict(size=7),
            hovertemplate="row %{y}, column %{x}: %{z}<extra></extra>",
        )
    )
    figure.update_yaxes(autorange="reversed", scaleanchor="x", constrain="domain")
    figure.update_xaxes(constrain="domain")
    figure.update_layout(title=title, height=620, margin=dict(l=10, r=10, t=40, b=10))
    return figure


def class_distribution(train_counts: np.ndarray, test_counts: np.ndarray, height: int = 450) -> go.Figure:
    figure = go.Figure()
    for split, counts in (("train", train_counts), ("test", test_counts)):
        figure.add_bar(
            name=f"{split} ({counts.sum():,})",
            x=[str(d) for d in range(10)],
            y=counts,
            text=counts,
            marker_color=SPLIT_COLOURS[split],
        )
    figure.update_layout(
        barmode="group",
        xaxis_title="digit",
        yaxis_title="images",
        title="How many images of each digit",
        legend=dict(orientation="h", y=1.1),
        height=height,
    )
    return figure


def class_means_grid(means: np.ndarray) -> str:
    """The average of every digit, which shows what a linear model could latch on to."""
    return labelled_grid(np.rint(means).astype(np.uint8), [str(d) for d in range(10)], columns=10, tile_px=84)


def pixel_histogram_figure(counts: np.ndarray) -> go.Figure:
    figure = go.Figure(go.Bar(x=np.arange(256), y=counts, marker_color=SPLIT_COLOURS["train"]))
    figure.update_yaxes(type="log", title="pixels (log scale)")
    figure.update_layout(
        xaxis_title="pixel value (0 = black background, 255 = full ink)",
        title="Pixel intensities: mostly background, a peak of saturated ink",
        bargap=0,
    )
    return figure


def normalisation_figure(views: list[ScaleView]) -> go.Figure:
    """The same pixels on three scales: the shape is unchanged, only the axis moves."""
    figure = make_subplots(rows=1, cols=len(views), subplot_titles=[v.name for v in views])
    for column, view in enumerate(views, start=1):
        figure.add_bar(x=view.values, y=view.counts, showlegend=False, row=1, col=column)
        figure.update_xaxes(title_text=view.formula, row=1, col=column)
        figure.update_yaxes(type="log", row=1, col=column)
    figure.update_layout(bargap=0, height=340, margin=dict(t=40))
    return figure


PREDICTED_COLOUR, OTHER_COLOUR = "#FFD54F", "#4C78A8"


def probability_bars(probabilities: np.ndarray | None) -> go.Figure:
    """The ten class probabilities as bars, the predicted digit highlighted.

    None gives the empty chart shown before anything is drawn.
    """
    empty = probabilities is None
    probabilities = np.zeros(10) if empty else np.asarray(probabilities, dtype=float).reshape(10)
    top = -1 if empty else int(np.argmax(probabilities))
    figure = go.Figure(
        go.Bar(
            x=[str(d) for d in range(10)],
            y=probabilities,
            marker_color=[PREDICTED_COLOUR if d == top else OTHER_COLOUR for d in range(10)],
            text=[f"{100 * p:.1f}%" if p >= 0.005 else "" for p in probabilities],
            textposition="outside",
            textfont=dict(size=13),
            cliponaxis=False,
            hovertemplate="digit %{x}: %{y:.2%}<extra></extra>",
        )
    )
    figure.update_xaxes(title_text="digit", type="category")
    figure.update_yaxes(title_text="probability", range=[0, 1.1], tickformat=".0%", dtick=0.25)
    figure.update_layout(
        title="Class probabilities" + (": waiting for a digit" if empty else ""),
        height=320,
        margin=dict(l=10, r=10, t=40, b=10),
        uniformtext=dict(minsize=12, mode="show"),
    )
    return figure


def enlarged_digit(pixels: np.ndarray, scale: int = 8) -> np.ndarray:
    """The 28x28 image a model sees, as uint8 with each pixel a sharp `scale` x `scale` square.

    A plain picture rather than a Plotly figure: it is redrawn after every stroke, and an image
    costs the browser next to nothing to show.
    """
    pixels = np.clip(np.rint(np.asarray(pixels, dtype=float)), 0, 255).astype(np.uint8)
    return np.kron(pixels, np.ones((scale, scale), np.uint8))


# --- Comparing runs and looking inside a model --------------------------------------------------


def confusion_heatmap(confusion: np.ndarray, normalised: bool = False) -> go.Figure:
    """True digits down, predicted digits across; counts, or each row's share with `normalised`.

    The colour scale is capped at the largest off-diagonal cell, so the mistakes stand out
    instead of drowning beside the thousand-strong diagonal.
    """
    counts = np.asarray(confusion, dtype=np.int64)
    values = row_normalised(counts) if normalised else counts
    off_diagonal = values[~np.eye(len(values), dtype=bool)]
    cap = float(off_diagonal.max()) if off_diagonal.size and off_diagonal.max() > 0 else 1.0
    text = [[f"{100 * v:.1f}%" if normalised else f"{int(v)}" for v in row] for row in values]
    digits = [str(d) for d in range(len(values))]
    figure = go.Figure(
        go.Heatmap(
            z=values,
            x=digits,
            y=digits,
            text=text,
            texttemplate="%{text}",
            textfont=dict(size=11),
            colorscale="Blues",
            zmin=0,
            zmax=cap,
            customdata=counts,
            hovertemplate="true %{y}, predicted %{x}: %{customdata} digits (%{text})<extra></extra>"
            if normalised
            else "true %{y}, predicted %{x}: %{z} digits<extra></extra>",
            colorbar=dict(title="share of row" if normalised else "digits"),
        )
    )
    figure.update_xaxes(title_text="predicted digit", type="category", side="top")
    figure.update_yaxes(title_text="true digit", type="category", autorange="reversed")
    figure.update_layout(
        title="Confusion matrix"
        + (" (row-normalised: recall on the diagonal)" if normalised else " (counts)"),
        height=520,
        margin=dict(l=10, r=10, t=90, b=10),
    )
    return figure


def _heat_rgb(values: np.ndarray) -> np.ndarray:
    """Values in [0, 1] as RGB through the 'hot' ramp: black, red, yellow, white."""
    v = np.clip(values, 0.0, 1.0)[..., None]
    ramp = np.concatenate([np.clip(3 * v, 0, 1), np.clip(3 * v - 1, 0, 1), np.clip(3 * v - 2, 0, 1)], axis=-1)
    return (255 * ramp).astype(np.uint8)


def saliency_images(image: np.ndarray, saliency: np.ndarray, scale: int = 8) -> list[np.ndarray]:
    """The digit, its saliency map, and the map over the faded digit, as enlarged RGB images.

    The map is scaled to its own maximum (its absolute size means little across digits).
    """
    digit = np.clip(np.asarray(image, dtype=np.float64), 0, 255) / 255.0
    peak = float(np.max(saliency))
    heat = np.asarray(saliency, dtype=np.float64) / peak if peak > 0 else np.zeros_like(digit)
    grey = np.repeat((255 * digit)[..., None], 3, axis=-1).astype(np.uint8)
    hot = _heat_rgb(heat)
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
    """The first layer's weights, one captioned tile per unit or filter (HTML)."""
    captions = [str(i + 1) for i in range(len(weights))]
    return labelled_grid(weight_tiles(weights), captions, columns=columns, tile_px=tile_px)


RUN_COLOURS = ("#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2", "#FF9DA6", "#9D755D")


def training_curves(histories: dict[str, list[dict]]) -> go.Figure:
    """Loss and accuracy against (fractional) epochs for one or more runs.

    Batch-level points draw the training curve as it moves; epoch points carry validation.
    """
    figure = make_subplots(rows=1, cols=2, subplot_titles=("Loss", "Accuracy"), horizontal_spacing=0.08)
    single = len(histories) == 1
    for index, (name, points) in enumerate(histories.items()):
        colour = RUN_COLOURS[index % len(RUN_COLOURS)]
        batches = [p for p in points if p.get("kind") == "batch"]
        epochs = [p for p in points if p.get("kind") == "epoch"]
        for column, metric in enumerate(("loss", "accuracy"), start=1):
            series = (
                ("train", batches, metric, dict(width=1.5)),
                ("validation", epochs, f"val_{metric}", dict(width=2.5, dash="dot")),
            )
            for label, source, key, line in series:
                shown = [p for p in source if p.get(key) is not None]
                figure.add_scatter(
                    x=[p["epoch"] for p in shown],
                    y=[p[key] for p in shown],
                    name=label if single else f"{name} ({label})",
                    legendgroup=f"{name}-{label}",
                    showlegend=column == 1,
                    mode="lines+markers" if label == "validation" else "lines",
                    line=dict(color=colour if not single or label == "train" else RUN_COLOURS[1], **line),
                    row=1,
                    col=column,
                )
    figure.update_xaxes(title_text="epoch", rangemode="tozero")
    figure.update_yaxes(type="log", row=1, col=1)
    figure.update_layout(height=380, margin=dict(t=40, b=10), legend=dict(orientation="h", y=-0.2))
    return figure
