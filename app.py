"""Entry point: `streamlit run app.py`. Builds the navigation from the pages core.ui.navigation declares."""

from pathlib import Path

import streamlit as st

from core.runs import admission
from core.ui import app_cache, navigation, owner, session_keys

# A file of the app's own, served by this server: a Material icon here would be fetched from
# fonts.gstatic.com on every page, and a venue without Internet would leave the tab without one.
ICON = Path(__file__).parent / ".streamlit" / "favicon.png"
st.set_page_config(page_title="MNIST dashboard", page_icon=str(ICON), layout="wide")

# Widget values are dropped when their page is not shown; re-assigning them keeps the network
# design, the explorer's filters and the compared runs while the user visits other pages.
# Only value widgets qualify: Streamlit refuses an assigned value for a button.
for key in [key for key in st.session_state if session_keys.kept_across_pages(key)]:
    st.session_state[key] = st.session_state[key]

if not st.session_state.setdefault(session_keys.RERUN_BUDGET, admission.RerunBudget()).spend():
    st.info(admission.SLOW_DOWN, icon=":material/speed:")
    st.stop()


def run_page() -> None:
    app_cache.start_scheduler()
    if not owner.local_mode():
        # Public: a traceback would show visitors server paths and code. The option is the
        # server's, so once any session is public it stays off.
        st.set_option("client.showErrorDetails", "none")
    owner.owner_sidebar()
    st.navigation(navigation.sections(), expanded=True).run()  # Every page listed: no "View more".


if st.session_state.get(session_keys.AT_WORK):
    run_page()
else:  # A new session waits for a newcomer's place, so a flood of them cannot stall those at work.
    try:
        with admission.SERVER.newcomer():
            run_page()
    finally:  # However the run ended (st.stop, a rerun), the session has had its first run.
        st.session_state[session_keys.AT_WORK] = True
