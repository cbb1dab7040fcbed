"""Entry point: `streamlit run app.py`. Declares the pages and the navigation between them."""

import streamlit as st

from core import app_cache

st.set_page_config(page_title="MNIST dashboard", page_icon=":material/draw:", layout="wide")

# Widget values are dropped when their page is not shown; re-assigning them keeps the network
# design, the explorer's filters and the compared runs while the user visits other pages.
# Only value widgets qualify: Streamlit refuses an assigned value for a button.
for key in [key for key in st.session_state if str(key).startswith(("design_", "explore_")) or key == "compare_overlay"]:
    st.session_state[key] = st.session_state[key]

app_cache.start_scheduler()

PAGES = {
    "Overview": [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    ],
    "Data": [
        st.Page("pages/explore.py", title="Explore digits", icon=":material/grid_view:"),
        st.Page("pages/statistics.py", title="Dataset statistics", icon=":material/bar_chart:"),
    ],
    "Train": [
        st.Page("pages/train.py", title="Design and train", icon=":material/model_training:"),
        st.Page("pages/runs.py", title="Training runs", icon=":material/monitoring:"),
    ],
    "Models": [
        st.Page("pages/predict.py", title="Predict", icon=":material/online_prediction:"),
        st.Page("pages/model_io.py", title="Export and import", icon=":material/import_export:"),
    ],
    "Compare": [
        st.Page("pages/compare.py", title="Compare runs", icon=":material/leaderboard:"),
        st.Page("pages/run_detail.py", title="Run detail", icon=":material/grid_on:"),
        st.Page("pages/insight.py", title="What the model looks at", icon=":material/visibility:"),
    ],
}

st.navigation(PAGES).run()
