"""How a model holds up on digits like the ones people bring: scans, pencil, phone photos..."""

import pandas as pd
import streamlit as st

from core.data import robustness
from core.queue import model_jobs, model_states
from core.runs import atomic_files
from core.ui import app_cache, charts, job_wait, messages, pickers, pictures

st.title(":material/shield: Robustness")
st.caption(
    f"MNIST test digits drawn as real pictures ({robustness.DIGITS_PER_SUITE} per suite), sent "
    "through the predict page's own preprocessing and the model. Gated suites must stay at "
    f"{100 * robustness.GATE:.0f}% or more for the shipped model."
)
runs = pickers.runs_with_models_or_stop("No model yet. Train one, then come back.")
run = pickers.focused_run_picker(runs, key="robustness_run")

try:
    state = model_jobs.request("robustness", run)
except atomic_files.DiskFullError as error:
    st.error(str(error), icon=":material/error:")
    st.stop()
if state == model_states.RUNNING:
    job_wait.wait_for("robustness", run)
elif state != model_states.READY:
    reason = model_states.failure("robustness", run) or "this model cannot be scored here"
    st.error(f"No robustness scores: {messages.plain(reason)}.", icon=":material/error:")
else:
    scores = {run.name: model_states.robustness_scores(run)}
    shipped = next((r for r in runs if r.shipped and r.id != run.id), None)
    if shipped is not None and model_states.robustness_scores(shipped):
        scores[shipped.name] = model_states.robustness_scores(shipped)
    labels = robustness.labels()
    figure = charts.robustness_bars(
        {messages.figure_text(name): by_suite for name, by_suite in scores.items()}, labels, robustness.GATE
    )
    st.plotly_chart(figure, key="robustness_bars")
    table = pd.DataFrame(
        {
            "suite": list(labels.values()),
            "what it is": ["the test digits as they are"]
            + [suite.description for suite in robustness.SUITES.values()],
            "gated": [False] + [suite.gated for suite in robustness.SUITES.values()],
            **{
                name: [100 * by_suite.get(key, float("nan")) for key in labels]
                for name, by_suite in scores.items()
            },
        }
    )
    st.dataframe(table, hide_index=True, width="stretch")

st.subheader("What the suites look like")
st.caption("Test digit 7 as each suite draws it, and below it the 28 x 28 the model is given.")
examples = app_cache.robustness_examples()
for row in range(0, len(examples), 5):
    for column, (suite, picture, pixels) in zip(st.columns(5), examples[row : row + 5], strict=False):
        column.image(picture, caption=suite.label, width=150)
        column.image(pictures.enlarged_digit(pixels, scale=3), width=84)
