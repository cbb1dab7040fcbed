"""Plotly figures for every page. No Streamlit here, so each figure can be tested on its own."""

from __future__ import annotations

import base64
import io
from html import escape

import numpy as np
import plotly.graph_objects as go
from PIL import Image
from plotly.subplots import make_subplots

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
        labels.append(f'<span class="digit-label" style="left:{left:.3f}%;top:{top:.3f}%">{escape(caption)}</span>')
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


def class_distribution(train_counts: np.ndarray, test_counts: np.ndarray) -> go.Figure:
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


def probability_bars(probabilities: np.ndarray) -> go.Figure:
    """The ten class probabilities as bars, the predicted digit highlighted."""
    probabilities = np.asarray(probabilities, dtype=float).reshape(10)
    top = int(np.argmax(probabilities))
    figure = go.Figure(
        go.Bar(
            x=[str(d) for d in range(10)],
            y=probabilities,
            marker_color=[PREDICTED_COLOUR if d == top else OTHER_COLOUR for d in range(10)],
            text=[f"{100 * p:.1f}%" for p in probabilities],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="digit %{x}: %{y:.2%}<extra></extra>",
        )
    )
    figure.update_xaxes(title_text="digit", type="category")
    figure.update_yaxes(title_text="probability", range=[0, 1.1], tickformat=".0%", dtick=0.25)
    figure.update_layout(title="Class probabilities", height=320, margin=dict(l=10, r=10, t=40, b=10))
    return figure


def model_input_figure(pixels: np.ndarray, size: int = 280) -> go.Figure:
    """The 28x28 image the model sees, enlarged with sharp pixels; hover shows each value."""
    pixels = np.asarray(pixels, dtype=float)
    figure = go.Figure(
        go.Heatmap(
            z=pixels,
            colorscale="gray",
            zmin=0,
            zmax=255,
            showscale=False,
            zsmooth=False,
            hovertemplate="row %{y}, column %{x}: %{z:.0f}<extra></extra>",
        )
    )
    figure.update_xaxes(visible=False, range=[-0.5, pixels.shape[1] - 0.5], constrain="domain")
    figure.update_yaxes(visible=False, range=[pixels.shape[0] - 0.5, -0.5], scaleanchor="x", constrain="domain")
    figure.update_layout(width=size, height=size, margin=dict(l=0, r=0, t=0, b=0), plot_bgcolor="black")
    return figure
