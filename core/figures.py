"""Plotly figures for every page. No Streamlit here, so each figure can be tested on its own."""

from __future__ import annotations

import base64
import io

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


def _bare_image_figure(picture: np.ndarray, pixel_size: float) -> go.Figure:
    """A figure that shows `picture` at `pixel_size` screen pixels per image pixel."""
    height, width = picture.shape
    figure = go.Figure(go.Image(source=png_data_uri(picture), hoverinfo="skip"))
    figure.update_xaxes(visible=False, range=[0, width])
    figure.update_yaxes(visible=False, range=[height, 0], scaleanchor="x")
    figure.update_layout(
        width=int(width * pixel_size),
        height=int(height * pixel_size),
        margin=dict(l=0, r=0, t=0, b=0),
        plot_bgcolor="black",
    )
    return figure


def labelled_grid(images: np.ndarray, captions: list[str], columns: int = 10, pixel_size: float = 2.6) -> go.Figure:
    """Digits as one montage image with a caption in each tile's corner."""
    figure = _bare_image_figure(montage(images, columns, GAP), pixel_size)
    for position, caption in enumerate(captions):
        row, column = divmod(position, columns)
        figure.add_annotation(
            x=GAP + column * (TILE + GAP) + 1,
            y=GAP + row * (TILE + GAP) + 1,
            text=caption,
            showarrow=False,
            xanchor="left",
            yanchor="top",
            font=dict(color="#FFD54F", size=11),
        )
    return figure


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


def class_means_figure(means: np.ndarray) -> go.Figure:
    """The average of every digit, which shows what a linear model could latch on to."""
    return labelled_grid(np.rint(means).astype(np.uint8), [str(d) for d in range(10)], columns=10, pixel_size=3.2)


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

