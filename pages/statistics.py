"""How the dataset is made up, and what normalising its pixels does."""

import streamlit as st

from core.data import explore
from core.ui import app_cache, charts, pictures

st.title(":material/bar_chart: Dataset statistics")
data = app_cache.mnist()

st.plotly_chart(
    charts.class_distribution(explore.class_counts(data.y_train), explore.class_counts(data.y_test))
)

split = st.radio("Split for the views below", ["train", "test"], horizontal=True, key="stats_split")

st.subheader("The mean image of each digit")
st.html(pictures.class_means_grid(app_cache.class_means(split)))

views = app_cache.normalisation_views(split)
st.subheader("Pixel intensities")
st.plotly_chart(charts.pixel_histogram_figure(views[0].counts))

st.subheader("Normalisation, measured on the data")
st.markdown(
    "Networks train best on inputs of a small, centred range. Scaling divides by 255; "
    "standardising also subtracts the mean and divides by the standard deviation, both measured "
    f"here on the {split} pixels (the classic 0.1307 and 0.3081 come from the training set)."
)
st.plotly_chart(charts.normalisation_figure(views))
st.dataframe(explore.normalisation_table(views), hide_index=True)
