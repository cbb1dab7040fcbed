"""What the dashboard does, the data it uses, and the device that would train."""

import streamlit as st

from core import app_cache, explore, figures
from core.data import TEST_SIZE, TRAIN_SIZE

st.title(":material/draw: MNIST digit recognition")
st.markdown(
    "Browse the 70,000 handwritten digits of MNIST, design a neural network, train it while "
    "the loss and accuracy curves move live, compare runs, and test the trained model on digits "
    "you draw or upload. It starts from the classic Keras `mnist_mlp.py` example "
    "(512-512 ReLU, dropout 0.2, RMSprop: 98.40% test accuracy) and lets you go well beyond it."
)

data_column, device_column = st.columns(2)
with data_column:
    st.subheader("Dataset")
    st.metric("Training digits", f"{TRAIN_SIZE:,}")
    st.metric("Test digits", f"{TEST_SIZE:,}")
    data = app_cache.mnist()
    st.caption(f"Loaded from: {data.source}")
    st.plotly_chart(
        figures.class_distribution(explore.class_counts(data.y_train), explore.class_counts(data.y_test), height=260),
        config={"displayModeBar": False},
    )

with device_column:
    st.subheader("Compute")
    device = app_cache.training_device()
    st.metric("Training runs on", device.label)
    st.caption(f"TensorFlow {device.tensorflow_version}, in background jobs; a GPU is used automatically when TensorFlow sees one.")

st.subheader("Pages")
PAGE_LINKS = [
    ("pages/explore.py", "Explore digits: browse samples by digit, zoom into one digit's pixels", ":material/grid_view:"),
    ("pages/statistics.py", "Dataset statistics: class balance, mean digits, normalisation", ":material/bar_chart:"),
    ("pages/train.py", "Design and train: presets, layers, dropout, optimiser, schedule; start a run", ":material/model_training:"),
    ("pages/runs.py", "Training runs: live curves and progress, stop or cancel, logs", ":material/monitoring:"),
    ("pages/predict.py", "Predict: draw or upload a digit and see the class probabilities", ":material/online_prediction:"),
    ("pages/model_io.py", "Export and import: models, configs, metrics, a standalone Keras script", ":material/import_export:"),
    ("pages/compare.py", "Compare runs: leaderboard, overlaid curves, rename, notes, delete", ":material/leaderboard:"),
    ("pages/run_detail.py", "Run detail: confusion matrix, per-class scores, misclassified digits", ":material/grid_on:"),
    ("pages/insight.py", "What the model looks at: saliency maps and first-layer weights", ":material/visibility:"),
]
for page, label, icon in PAGE_LINKS:
    st.page_link(page, label=label, icon=icon)
