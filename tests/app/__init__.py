from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.ui import navigation

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def page_file(name: str) -> str:
    """The file of the page declared as `name` (core/ui/navigation.py), as AppTest switches to it."""
    return navigation.page(name).file


def open_page(page: str, session: dict | None = None, query: dict | None = None) -> AppTest:
    """A fresh session of the app opened straight on the page declared as `page` (as a link to it
    opens: one run, not Home first), which must run without an exception;
    `query` is the URL's query parameters, as in a link opened."""
    app = AppTest.from_file(APP, default_timeout=120)
    app.query_params.update(query or {})
    for key, value in (session or {}).items():
        app.session_state[key] = value
    app.switch_page(page_file(page)).run()
    assert not app.exception, app.exception
    return app
