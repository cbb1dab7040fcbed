"""Where one model goes wrong: confusion matrix, per-class scores, confused pairs, mistakes."""

import pandas as pd
import streamlit as st

from core.queue import model_jobs, model_states
from core.runs import atomic_files, layout
from core.serving import evaluate
from core.ui import app_cache, charts, job_wait, messages, navigation, pickers, pictures

GALLERY_SIZE, COLUMNS = 60, 12
ANY = "any"

st.title(":material/grid_on: Run detail")
runs = pickers.runs_with_models_or_stop("No finished run with a model yet. Train one, then come back.")
run = pickers.focused_run_picker(runs, key="detail_run")

try:
    state = model_jobs.request("evaluate", run)
except atomic_files.DiskFullError as error:
    st.error(str(error), icon=":material/error:")
    st.stop()
if state == model_states.RUNNING:
    job_wait.wait_for("evaluate", run)
    st.stop()
if state != model_states.READY:
    reason = (
        model_states.failure("evaluate", run)
        if state == model_states.FAILED
        else "this model has no stored test evaluation"
    )
    st.error(
        f"No evaluation for {messages.plain(run.name)}: {messages.plain(reason)}.", icon=":material/error:"
    )
    st.stop()

result, stored = app_cache.evaluation(run), app_cache.predictions(run)
if stored is None or not evaluate.is_complete(result):
    st.error(
        "The stored evaluation of this run cannot be read: its files are damaged or from an "
        "older version. Delete and retrain the run, or re-import the model.",
        icon=":material/error:",
    )
    st.stop()
accuracy, loss, errors, macro_f1 = st.columns(4)
accuracy.metric("Test accuracy", f"{100 * result['accuracy']:.2f}%")
loss.metric("Test loss", f"{result['loss']:.4f}")
errors.metric("Mistakes", f"{result['errors']:,} of {result['count']:,}")
macro_f1.metric("Macro F1", f"{result['macro_f1']:.4f}")
if result.get("model_file") == layout.CHECKPOINT_FILE:
    st.caption("Evaluated from the last completed epoch's checkpoint: the run did not save a final model.")

confusion = result["confusion_matrix"]
normalised = st.toggle("Row-normalised rates (each true digit's row sums to 100%)", key="detail_normalised")
st.plotly_chart(charts.confusion_heatmap(confusion, normalised), key="detail_confusion")
st.caption(
    "Rows are true digits, columns predictions. Colours stop at the largest mistake, so the "
    "errors stand out; the diagonal (correct answers) is off that scale."
)

per_class, pairs = st.columns([3, 2], gap="large")
with per_class:
    st.subheader("Per digit")
    scores = pd.DataFrame(result["per_class"]).set_index("digit")
    score_format = st.column_config.NumberColumn(format="%.4f")
    st.dataframe(
        scores,
        width="stretch",
        column_config={"precision": score_format, "recall": score_format, "f1": score_format},
    )
with pairs:
    st.subheader("Most confused pairs")
    confused = pd.DataFrame(evaluate.most_confused_pairs(confusion, top=10))
    if confused.empty:
        st.success("No mistakes at all.", icon=":material/check_circle:")
    else:
        confused["share"] = (100 * confused["share"]).round(2)
        st.dataframe(confused.rename(columns={"share": "% of true digit"}), hide_index=True, width="stretch")

st.subheader("Misclassified test digits, most confident mistakes first")
choices = [ANY, *range(10)]
true_column, predicted_column = st.columns(2)
true_digit = true_column.selectbox("True digit", choices, key="detail_true")
predicted_digit = predicted_column.selectbox("Predicted digit", choices, key="detail_predicted")
indices, predicted, confidence = evaluate.misclassified(
    stored["y_true"],
    stored["labels"],
    stored["probabilities"],
    None if true_digit == ANY else true_digit,
    None if predicted_digit == ANY else predicted_digit,
)
if not len(indices):
    st.info("No mistakes match this filter.", icon=":material/filter_alt_off:")
else:
    shown = indices[:GALLERY_SIZE]
    y_true = stored["y_true"]
    captions = [
        f"{y_true[i]}→{p} {100 * c:.0f}%" for i, p, c in zip(shown, predicted, confidence, strict=False)
    ]
    st.html(pictures.labelled_grid(app_cache.mnist().x_test[shown], captions, COLUMNS, tile_px=84))
    st.caption(
        f"{len(indices):,} mistakes match; the {len(shown)} most confident are shown. "
        "Each tile: true digit → predicted digit and the model's confidence in its wrong answer."
    )
navigation.link("insight", "What this model looks at (saliency)")
