"""app.py's flood control in a real session: a session past its rerun budget sees only the short
note; a new session's first run takes a newcomer's place and gives it back."""

import pytest
from streamlit.testing.v1 import AppTest

from core.runs import admission
from core.ui import session_keys
from tests.app import APP

pytestmark = pytest.mark.usefixtures("runs_dir")


def test_a_session_past_its_rerun_budget_is_asked_to_slow_down():
    app = AppTest.from_file(APP, default_timeout=120)
    app.session_state[session_keys.RERUN_BUDGET] = admission.RerunBudget(burst=0, per_second=0.001)
    app.run()
    assert not app.exception
    assert [info.value for info in app.info] == [admission.SLOW_DOWN]
    assert not app.title  # No page drawn.


def test_a_first_run_takes_a_newcomers_place_and_gives_it_back(monkeypatch):
    seen = []
    monkeypatch.setattr(admission, "SERVER", admission.Admission(slots=1))
    newcomer = admission.SERVER.newcomer

    def watched():
        seen.append("entered")
        return newcomer()

    monkeypatch.setattr(admission.SERVER, "newcomer", watched)
    app = AppTest.from_file(APP, default_timeout=120)
    app.run()
    assert not app.exception and app.title
    assert seen == ["entered"] and admission.SERVER.running == 0
    assert app.session_state[session_keys.AT_WORK] is True
