"""Owner mode through AppTest: with a password set, a visitor sees no Delete or Import controls
and cannot start a run over the limits through core; the password brings the controls, a wrong
one is refused; a run name made of Markdown is shown as the text it is."""

import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from core.networks.config import PRESETS
from core.queue import scheduler
from core.runs import access, registry
from core.ui import session_keys
from tests import as_read
from tests.app import APP, page_file

PASSWORD = "correct horse battery staple"
MARKDOWN_NAME = "![b](http://host/x.png) [text](http://host/) **bold**"


@pytest.fixture(autouse=True)
def public_server(runs_dir, monkeypatch):
    """A runs folder with an owner's run and a run named in Markdown; a fresh password gate;
    Streamlit's error details restored after the public sessions turned them off."""
    monkeypatch.setattr(access, "GATE", access.PasswordGate())
    finished = {"state": "finished"}
    owners = registry.create_run(PRESETS["seed-mlp"].config, "owner's run", status_changes=finished)
    registry.create_run(PRESETS["seed-mlp"].config, MARKDOWN_NAME, status_changes=finished)
    details = config.get_option("client.showErrorDetails")
    yield owners
    config.set_option("client.showErrorDetails", details)


def session(password: str | None = None) -> AppTest:
    """A new browser session of the public app, which gave `password` in the sidebar if told.

    The sidebar is app.py's, and AppTest runs app.py on its first run only (later runs run the
    page alone), so the password goes in then; its callback counts before the next run.
    """
    app = AppTest.from_file(APP, default_timeout=120)
    app.secrets = {"owner_password": PASSWORD}
    app.run()
    if password is not None:
        app.text_input(key="owner_password").input(password)
        next(button for button in app.button if button.label == "Sign in as owner").click().run()
    assert not app.exception, app.exception
    return app


def visit(page: str, app: AppTest | None = None) -> AppTest:
    app = app or session()
    app.switch_page(page).run()
    assert not app.exception, app.exception
    return app


def button_keys(app: AppTest) -> set[str]:
    return {button.key for button in app.button}


def test_a_visitor_sees_no_delete_or_import_controls(public_server):
    app = session()
    assert app.text_input(key="owner_password").label == "Owner password"  # The sidebar asks.
    visit(page_file("compare"), app)
    app.selectbox(key="compare_manage").set_value(public_server.id).run()
    assert "compare_delete" not in button_keys(app)
    assert app.text_input[0].disabled and app.text_area[0].disabled
    assert any("only they can rename" in caption.value for caption in app.caption)
    visit(page_file("model_io"), app)
    assert not app.get("file_uploader")
    assert "Importing models is for the owner" in app.info[0].value


def test_the_owner_password_brings_delete_and_import(public_server):
    app = visit(page_file("compare"), session(PASSWORD))
    assert app.session_state[session_keys.OWNER]
    app.selectbox(key="compare_manage").set_value(public_server.id).run()
    assert "compare_delete" in button_keys(app)
    assert not app.text_area[0].disabled
    visit(page_file("model_io"), app)
    assert app.get("file_uploader")


def test_a_wrong_password_is_refused(public_server):
    app = visit(page_file("compare"), session("guess"))
    assert app.session_state[session_keys.SIGN_IN_REFUSED].startswith("Wrong password")
    assert session_keys.OWNER not in app.session_state
    app.selectbox(key="compare_manage").set_value(public_server.id).run()
    assert "compare_delete" not in button_keys(app)


def test_a_visitor_cannot_start_a_run_over_the_limits_through_core(monkeypatch):
    app = visit(page_file("compare"))  # Asks who the session is, which gives it its id.
    visitor = access.Who(owner=False, session=app.session_state[session_keys.VISITOR])
    monkeypatch.setattr(
        access,
        "secret",
        lambda key, default=None: {"trainable_parameters": 1000} if key == "limits" else default,
    )
    before = {run.id for run in registry.list_runs()}
    with pytest.raises(
        scheduler.limits.Refused, match="669,706 trainable parameters; visitors may train up to 1,000"
    ):
        scheduler.submit_run(PRESETS["seed-mlp"].config, "too big", who=visitor)
    assert {run.id for run in registry.list_runs()} == before


def test_a_visitor_may_stop_their_own_run_only(public_server, jobs_stay_queued):  # Queued, never started.
    app = visit(page_file("compare"))
    mine = scheduler.submit_run(
        PRESETS["seed-mlp"].config,
        "mine",
        who=access.Who(owner=False, session=app.session_state[session_keys.VISITOR]),
    )
    others = scheduler.submit_run(
        PRESETS["seed-mlp"].config, "someone else's", who=access.Who(False, "other")
    )
    visit(page_file("runs"), app)
    app.selectbox(key="runs_run").set_value(others.id).run()
    assert f"stop_{others.id}" not in button_keys(app)
    app.selectbox(key="runs_run").set_value(mine.id).run()
    app.button(key=f"stop_{mine.id}").click().run()
    assert registry.reload(mine).state == "stopped" and registry.reload(others).state == "queued"


def test_markdown_in_a_run_name_is_shown_literally():
    app = visit(page_file("runs"))
    run = next(run for run in registry.list_runs() if run.name == MARKDOWN_NAME)
    app.selectbox(key="runs_run").set_value(run.id).run()
    header = next(block.value for block in app.markdown if block.value.startswith("###"))
    assert "](" not in header and "http://" not in header  # No link or image left to render.
    assert MARKDOWN_NAME in as_read(header)
