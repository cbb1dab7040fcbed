"""All of the dashboard's logic: importable and testable without Streamlit.

Imported by a page of the running app, the package first sends a session that opened a page's
own URL through app.py (see `navigation.route_every_session_through_app`). It does so here,
before any other module of the package is imported: the rerun it raises then leaves no module
half-imported for sessions that start at the same moment. Job processes never import Streamlit.
"""

import sys

if "streamlit" in sys.modules:
    from core.ui.navigation import route_every_session_through_app

    route_every_session_through_app()
