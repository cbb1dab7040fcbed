"""Entry point: `streamlit run app.py`. Declares the pages and the navigation between them."""

import streamlit as st

st.set_page_config(page_title="MNIST dashboard", page_icon=":material/draw:", layout="wide")

PAGES = {
    "Overview": [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    ],
    "Data": [
        st.Page("pages/explore.py", title="Explore digits", icon=":material/grid_view:"),
        st.Page("pages/statistics.py", title="Dataset statistics", icon=":material/bar_chart:"),
    ],
}

st.navigation(PAGES).run()
