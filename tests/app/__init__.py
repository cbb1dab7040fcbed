from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def open_page(page: str, session: dict | None = None, query: dict | None = None) -> AppTest:
    """A fresh session of the app, switched to `page`, which must run without an exception;
    `query` is the URL's query parameters, as in a link opened."""
    app = AppTest.from_file(APP, default_timeout=120)
    app.query_params.update(query or {})
    for key, value in (session or {}).items():
        app.session_state[key] = value
    app.run()
    app.switch_page(page).run()
    assert not app.exception, app.exception
    return app
