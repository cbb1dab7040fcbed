"""What the dashboard does, the data it uses, and the device that would train."""

import streamlit as st

from core.data import explore
from core.data.mnist import TEST_SIZE, TRAIN_SIZE
from core.ui import app_cache, charts, navigation

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
        charts.class_distribution(
            explore.class_counts(data.y_train), explore.class_counts(data.y_test), height=300, compact=True
        ),
        config={"displayModeBar": False},
    )

with device_column:
    st.subheader("Compute")
    device = app_cache.training_device()
    st.metric("Training runs on", device.label)
    st.caption(
        f"TensorFlow {device.tensorflow_version}, in background "
        "jobs; a GPU is used automatically when TensorFlow sees one."
    )

st.subheader("Pages")
for page in navigation.PAGES:
    if page is not navigation.HOME:
        navigation.link(page.name, label=f"{page.title}: {page.summary}")
