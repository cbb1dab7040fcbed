"""Plotly figures for the pages: each returns a `go.Figure`, testable without Streamlit."""

from __future__ import annotations

import numpy as np
import plotly.colors
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.data.explore import ScaleView
from core.serving.evaluate import row_normalised

# Plotly's Tableau 10 palette: runs, splits and the other bars take its colours in order.
PALETTE = plotly.colors.qualitative.T10
SPLIT_COLOURS = {"train": PALETTE[0], "test": PALETTE[1]}


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


def class_distribution(
    train_counts: np.ndarray, test_counts: np.ndarray, height: int = 450, compact: bool = False
) -> go.Figure:
    """Images per digit and split; every digit on the axis, and each bar's count upright above it
    in one size, in thousands (6.7k) when `compact` (a half-width column has no room for 6,742)."""
    figure = go.Figure()
    for split, counts in (("train", train_counts), ("test", test_counts)):
        figure.add_bar(
            name=f"{split} ({counts.sum():,})",
            x=[str(d) for d in range(10)],
            y=counts,
            texttemplate="%{y:.2s}" if compact else "%{y:,}",
            textposition="outside",
            textangle=0,
            textfont=dict(size=11),
            cliponaxis=False,
            hovertemplate="digit %{x}: %{y:,} images<extra></extra>",
            marker_color=SPLIT_COLOURS[split],
        )
    top = max(int(np.max(train_counts)), int(np.max(test_counts)), 1)
    figure.update_xaxes(title_text="digit", type="category", tickmode="linear", dtick=1)
    figure.update_yaxes(title_text="images", range=[0, 1.15 * top])
    figure.update_layout(
        barmode="group",
        title="How many images of each digit",
        legend=dict(orientation="h", x=0, y=1, yanchor="bottom"),  # Above the bars, below the title.
        uniformtext=dict(minsize=11, mode="show"),
        margin=dict(t=80),
        height=height,
    )
    return figure


def log_ticks(values: list[float] | np.ndarray) -> tuple[list[float], list[str]]:
    """Ticks for a logarithmic axis over `values`, each labelled with its whole value (0.02, not
    Plotly's bare "2"): 1-2-5 steps over up to three decades, else one tick per decade."""
    positive = np.asarray(values, dtype=float)
    positive = positive[np.isfinite(positive) & (positive > 0)]
    if not positive.size:
        return [], []
    low, high = int(np.floor(np.log10(positive.min()))), int(np.ceil(np.log10(positive.max())))
    steps = (1, 2, 5) if high - low <= 3 else (1,)
    ticks = [step * 10.0**decade for decade in range(low, high + 1) for step in steps]
    ticks = [tick for tick in ticks if positive.min() / 1.5 <= tick <= positive.max() * 1.5] or ticks[:1]
    return ticks, [f"{tick:,.10g}" for tick in ticks]


def pixel_histogram_figure(counts: np.ndarray) -> go.Figure:
    figure = go.Figure(go.Bar(x=np.arange(256), y=counts, marker_color=SPLIT_COLOURS["train"]))
    ticks, labels = log_ticks(counts)
    figure.update_yaxes(type="log", title="pixels (log scale)", tickvals=ticks, ticktext=labels)
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
        ticks, labels = log_ticks(view.counts)
        figure.update_yaxes(type="log", tickvals=ticks, ticktext=labels, row=1, col=column)
    figure.update_yaxes(title_text="pixels (log scale)", row=1, col=1)
    figure.update_layout(bargap=0, height=340, margin=dict(t=40))
    return figure


PREDICTED_COLOUR, OTHER_COLOUR = "#FFD54F", PALETTE[0]  # The theme's primary colour stands out.


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
            # Whole digits on the count scale: a cap of 3 would otherwise tick 0.5, 1.5...
            colorbar=dict(title="share of row", tickformat=".0%")
            if normalised
            else dict(title="digits", tick0=0, dtick=max(1, int(np.ceil(cap / 6)))),
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


def training_curves(histories: dict[str, list[dict]], continued_at: float = 0.0) -> go.Figure:
    """Loss and accuracy against (fractional) epochs for one or more runs.

    Batch-level points draw the training curve as it moves; epoch points carry validation. A
    continued run's history (core.queue.continuation) is marked where its parent's ends.
    """
    figure = make_subplots(rows=1, cols=2, subplot_titles=("Loss", "Accuracy"), horizontal_spacing=0.08)
    single = len(histories) == 1
    for index, (name, points) in enumerate(histories.items()):
        colour = PALETTE[index % len(PALETTE)]
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
                    line=dict(color=colour if not single or label == "train" else PALETTE[1], **line),
                    row=1,
                    col=column,
                )
    figure.update_xaxes(title_text="epoch", rangemode="tozero")
    if continued_at:
        figure.add_vline(x=continued_at, line=dict(color="grey", dash="dash", width=1))
        figure.add_annotation(
            x=continued_at, y=1, yref="paper", text="continued", showarrow=False, xanchor="left"
        )
    losses = [y for trace in figure.select_traces(col=1) for y in trace.y]
    ticks, labels = log_ticks(losses)
    figure.update_yaxes(
        type="log", title_text="loss (log scale)", tickvals=ticks, ticktext=labels, row=1, col=1
    )
    figure.update_yaxes(title_text="accuracy", row=1, col=2)
    # The top margin keeps Plotly's toolbar, shown on hover, above the subplot titles.
    figure.update_layout(height=400, margin=dict(t=70, b=10), legend=dict(orientation="h", y=-0.2))
    return figure


STAGE_FONT_PX = 22  # Readable from the back of a room on a 1920x1080 projector.


def stage_sized(figure: go.Figure) -> go.Figure:
    """`figure` with every text STAGE_FONT_PX, for the present page: Streamlit's theme sets its
    own small axis fonts, so each one is set here."""
    size = STAGE_FONT_PX
    figure.update_layout(font_size=size, legend_font_size=size, hoverlabel_font_size=size)
    figure.update_annotations(font_size=size)  # Subplot titles.
    figure.update_xaxes(tickfont_size=size, title_font_size=size)
    figure.update_yaxes(tickfont_size=size, title_font_size=size)
    return figure


def stage_probabilities(
    probabilities: list[np.ndarray | None], names: list[str], height: int = 330
) -> go.Figure:
    """The ten probabilities of one or two models as large labelled bars, for the present page.

    Every text is at least STAGE_FONT_PX; a model with no digit yet has empty bars.
    """
    # Two bars side by side are too narrow for "100%" across: their labels stand upright.
    two = len(names) > 1
    figure = go.Figure()
    for index, (values, name) in enumerate(zip(probabilities, names, strict=True)):
        values = np.zeros(10) if values is None else np.asarray(values, dtype=float).reshape(10)
        figure.add_bar(
            x=[str(d) for d in range(10)],
            y=values,
            name=name,
            marker_color=PREDICTED_COLOUR if index == 0 else PALETTE[0],
            text=[f"{100 * p:.0f}%" if p >= 0.05 else "" for p in values],
            textposition="outside",
            textangle=-90 if two else 0,
            textfont=dict(size=STAGE_FONT_PX),
            cliponaxis=False,
            hovertemplate="digit %{x}: %{y:.1%}<extra>%{fullData.name}</extra>",
        )
    figure.update_xaxes(type="category", tickfont=dict(size=STAGE_FONT_PX + 6))
    # Streamlit's theme sets its own small axis fonts: each one is set here.
    figure.update_yaxes(
        range=[0, 1.5 if two else 1.18],
        tickformat=".0%",
        tickvals=[0, 0.5, 1],
        showgrid=True,
        tickfont=dict(size=STAGE_FONT_PX),
    )
    figure.update_layout(
        font=dict(size=STAGE_FONT_PX),
        height=height,
        margin=dict(l=10, r=10, t=50 if two else 10, b=10),
        showlegend=two,
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0, font=dict(size=STAGE_FONT_PX)),
        uniformtext=dict(minsize=STAGE_FONT_PX, mode="show"),
        bargap=0.15,
    )
    return figure


def replay_curves(curves: list, cutoffs: np.ndarray, seconds: float) -> go.Figure:
    """Recorded loss and accuracy curves (core/replay.Series) as an animation of `seconds`:
    Play reveals each frame's points up to its cutoff epoch, in the browser, on axes fixed to
    the whole run."""
    figure = make_subplots(rows=1, cols=2, subplot_titles=("Loss (log scale)", "Accuracy"))
    runs = list(dict.fromkeys(curve.run for curve in curves))
    for curve in curves:
        colour = PALETTE[runs.index(curve.run) % len(PALETTE)]
        validation = curve.split == "validation"
        figure.add_scatter(
            x=[],
            y=[],
            name=f"{curve.run} ({curve.split})" if len(runs) > 1 else curve.split,
            legendgroup=f"{curve.run}-{curve.split}",
            showlegend=curve.metric == "loss",
            mode="lines+markers" if validation else "lines",
            line=dict(
                color=PALETTE[1] if validation and len(runs) == 1 else colour, width=3 if validation else 2
            ),
            row=1,
            col=1 if curve.metric == "loss" else 2,
        )
    last_epoch = max(float(curve.epochs.max()) for curve in curves)
    figure.frames = [
        go.Frame(
            data=[
                dict(x=c.epochs[c.epochs <= cutoff].tolist(), y=c.values[c.epochs <= cutoff].tolist())
                for c in curves
            ],
            traces=list(range(len(curves))),
            name=f"{cutoff:.2f}",
        )
        for cutoff in cutoffs
    ]
    losses = np.concatenate([c.values for c in curves if c.metric == "loss"])
    accuracies = np.concatenate([c.values for c in curves if c.metric == "accuracy"])
    low, high = np.log10(max(float(losses[losses > 0].min()), 1e-4)), np.log10(float(losses.max()))
    ticks = dict(tickfont=dict(size=STAGE_FONT_PX - 4))  # Streamlit's theme would set 12 px.
    figure.update_xaxes(title_text="epoch", range=[0, last_epoch * 1.02], **ticks)
    # Powers of ten only: minor log ticks read as "2, 1, 5, 2, 0.1" from the back of a room.
    figure.update_yaxes(type="log", range=[low - 0.05, high + 0.05], dtick=1, row=1, col=1, **ticks)
    figure.update_yaxes(
        range=[float(accuracies.min()) - 0.02, 1.005], tickformat=".0%", row=1, col=2, **ticks
    )
    frame_ms = 1000 * seconds / len(cutoffs)
    play = dict(frame=dict(duration=frame_ms, redraw=True), transition=dict(duration=0), fromcurrent=True)
    figure.update_layout(
        font=dict(size=STAGE_FONT_PX - 4),
        height=480,
        margin=dict(t=50, b=10),
        legend=dict(orientation="h", y=-0.2, font=dict(size=STAGE_FONT_PX - 4)),
        updatemenus=[
            dict(
                type="buttons",
                direction="left",
                x=0,
                y=1.2,
                xanchor="left",
                # Dark text on the theme's yellow: Plotly lights the pressed button near-white.
                bgcolor=PREDICTED_COLOUR,
                font=dict(color="#111111", size=STAGE_FONT_PX),
                active=-1,
                buttons=[
                    dict(label="▶ Play", method="animate", args=[None, play]),
                    dict(label="Pause", method="animate", args=[[None], dict(mode="immediate", **play)]),
                ],
            )
        ],
    )
    figure.update_annotations(font_size=STAGE_FONT_PX)
    return figure


def robustness_bars(scores: dict[str, dict[str, float]], labels: dict[str, str], gate: float) -> go.Figure:
    """Accuracy per suite (clean MNIST first) for one or more models, with the gate as a line."""
    figure = go.Figure()
    for index, (model, by_suite) in enumerate(scores.items()):
        suites = [name for name in labels if name in by_suite]
        figure.add_bar(
            x=[labels[name] for name in suites],
            y=[100 * by_suite[name] for name in suites],
            name=model,
            marker_color=PALETTE[index % len(PALETTE)],
            text=[f"{100 * by_suite[name]:.1f}" for name in suites],
            textposition="outside",
        )
    lowest = min(min(by_suite.values()) for by_suite in scores.values())
    figure.add_hline(y=100 * gate, line_dash="dot", annotation_text=f"{100 * gate:.0f}% gate")
    figure.update_yaxes(title_text="accuracy (%)", range=[max(0.0, 100 * lowest - 8), 101.5])
    figure.update_layout(
        barmode="group", height=420, margin=dict(t=30, b=10), legend=dict(orientation="h", y=1.12)
    )
    return figure
