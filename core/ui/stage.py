"""What the present page draws besides widgets and charts: its style sheet, made for a projector,
the answer in very large type, and the presets short enough to train live. No Streamlit here.
"""

from __future__ import annotations

from html import escape

from core.networks import architecture
from core.networks.config import PRESETS
from core.serving.inference import Prediction

MIN_FONT_PX = 20

# Presets that train while the room watches: each about a minute on a 2-core CPU (BENCHMARKS.md).
LIVE_PRESETS = ("fast-cnn", "seed-mlp")

# Streamlit's chrome out of the way (the toolbar's menu and actions; the button that opens the
# settings in the collapsed sidebar lives in the toolbar too, and stays), the page pulled up,
# the model pickers' popover at the header's right and wide enough for long model names, and no
# text in the main area or the popover smaller than MIN_FONT_PX. Plotly's SVG text is left alone:
# the figure sets its own large fonts, and resizing it behind Plotly's back would break its
# layout. The answer sets its own sizes.
CSS = f"""<style>
[data-testid="stToolbarActions"], [data-testid="stMainMenu"], [data-testid="stAppDeployButton"],
[data-testid="stStatusWidget"], [data-testid="stDecoration"] {{ display: none !important; }}
[data-testid="stHeader"] {{ background: transparent; }}
[data-testid="stMainBlockContainer"] {{ padding: 3rem 2rem 1rem 2rem; max-width: 100%; }}
[data-testid="stSkipToContent"], [data-testid="stPopoverBody"] *,
[data-testid="stMain"] :not(svg, svg *, .stage-answer, .stage-answer *, .stage-prompt) {{
  font-size: max({MIN_FONT_PX}px, 1em) !important;
}}
.stage-prompt {{ font-size: 1.75rem !important; font-weight: 600; margin: 0 0 0.25rem 0; }}
.stage-answers {{ display: flex; gap: 3rem; align-items: flex-end; }}
.stage-answer .model {{ font-size: {MIN_FONT_PX + 2}px; opacity: 0.8; max-width: 24rem;
  overflow-wrap: anywhere; }}
.stage-answer .digit {{ font-size: 10rem; font-weight: 800; line-height: 1; color: #FFD54F; }}
.stage-answer.second .digit {{ color: #4C78A8; }}
.stage-answer .digit.waiting {{ opacity: 0.2; color: inherit; }}
.stage-answer .confidence {{ font-size: 2.25rem; font-weight: 600; }}
.stage-answer .unsure {{ font-size: {MIN_FONT_PX + 4}px; color: #FFB74D; }}
.st-key-present_clear button {{ min-height: 4rem; }}
.st-key-present_models {{ position: fixed; top: 0.4rem; right: 2rem; width: auto !important;
  z-index: 999991; }}
[data-testid="stPopoverBody"] {{ width: min(60rem, calc(100vw - 4rem)); max-width: none !important; }}
</style>"""


def answer_html(name: str, prediction: Prediction | None, second: bool = False) -> str:
    """One model's answer: its name, the digit in very large type and how sure it is.

    `name` is user text (a run name), escaped here because this is HTML, not Markdown.
    """
    if prediction is None:
        digit, confidence = '<div class="digit waiting">?</div>', "draw a digit"
    else:
        digit = f'<div class="digit predicted-digit">{prediction.digit}</div>'
        confidence = f"{100 * prediction.confidence:.1f}% sure"
    unsure = (
        f'<div class="unsure">unsure: maybe {prediction.runner_up}</div>'
        if prediction is not None and prediction.unsure
        else ""
    )
    return (
        f'<div class="stage-answer{" second" if second else ""}"><div class="model">{escape(name)}</div>'
        f'{digit}<div class="confidence">{confidence}</div>{unsure}</div>'
    )


def answers_html(names: list[str], predictions: list[Prediction | None]) -> str:
    """The answers of one or two models side by side."""
    return (
        '<div class="stage-answers">'
        + "".join(
            answer_html(name, prediction, second=index > 0)
            for index, (name, prediction) in enumerate(zip(names, predictions, strict=True))
        )
        + "</div>"
    )


def live_label(preset: str) -> str:
    """A live preset's name, epochs and estimated training time, for the picker."""
    config = PRESETS[preset].config
    seconds = config.epochs * architecture.epoch_seconds(config)
    return (
        f"{PRESETS[preset].label}: {config.epochs} epochs, about {5 * round(seconds / 5):.0f} s of training"
    )
