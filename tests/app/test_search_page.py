"""The Search page through AppTest: the owner starts a study (queued as a search job), a study's
trials show with Optuna's figures, and a visitor may not start one."""

import optuna
import pytest
from streamlit.testing.v1 import AppTest

from core.queue import jobs, searches
from core.runs import access, limits
from core.search import studies
from core.search.figures import figures
from tests import as_read
from tests.app import APP, open_page, page_file

pytestmark = pytest.mark.usefixtures("runs_dir", "jobs_stay_queued")


def test_the_owner_starts_a_study_as_a_queued_search_job():
    app = open_page("search")
    app.text_input(key="search_name").input("wider-cnn").run()
    app.number_input(key="search_trials").set_value(4).run()
    app.button[0].click().run()
    assert not app.exception and not app.error, [error.value for error in app.error]

    job = jobs.read("search", "wider-cnn")
    assert job["state"] == jobs.QUEUED and job["payload"] == {"trials": 4, "visitor": None}
    settings = studies.settings_of(studies.load_study("wider-cnn"))
    assert (settings.preset, settings.base.epochs, settings.base.train_limit) == ("fast-cnn", 3, 10000)
    assert app.selectbox(key="search_study").value == "wider-cnn"
    assert any("no trial has finished yet" in markdown.value.lower() for markdown in app.markdown)


def test_a_space_the_page_cannot_read_is_refused_with_its_reason():
    app = open_page("search")
    app.text_input(key="search_name").input("broken").run()
    app.text_area(key="search_space_fast-cnn").input('{"training": {"epochs": {}}}').run()
    app.button[0].click().run()
    assert "'epochs': is unknown" in as_read(app.error[0].value)
    assert jobs.read("search", "broken") is None


def test_a_study_shows_its_trials_and_optunas_figures():
    study = studies.open_study("shown")
    studies.study_settings(study, studies.new_settings(epochs=1, train_limit=2000), set())
    distributions = {"learning_rate": optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)}
    for rate, accuracy in ((1e-3, 0.91), (3e-3, 0.95), (1e-2, 0.88)):
        trial = optuna.trial.create_trial(
            params={"learning_rate": rate}, distributions=distributions, value=accuracy
        )
        study.add_trial(trial)

    app = open_page("search")
    assert app.dataframe[0].value["validation accuracy"].tolist() == [0.91, 0.95, 0.88]
    assert any("best validation accuracy 0.9500 (trial 1)" in as_read(m.value).lower() for m in app.markdown)
    assert [header.value for header in app.subheader] == list(figures(study))
    assert len(app.get("plotly_chart")) == 3


def test_a_visitor_may_not_start_a_search(monkeypatch):
    monkeypatch.setattr(access, "GATE", access.PasswordGate())
    app = AppTest.from_file(APP, default_timeout=120)
    app.secrets = {"owner_password": "a password"}
    app.run()
    app.switch_page(page_file("search")).run()
    assert "for the owner" in app.info[0].value
    assert not [button for button in app.button if button.label == "Start the search"]
    visitor = access.Who(owner=False, session="someone")
    with pytest.raises(limits.Refused):
        searches.request_search("sneaky", studies.new_settings(), 2, visitor)
    assert jobs.read("search", "sneaky") is None
