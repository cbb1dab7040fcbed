"""The robustness and ensembles pages through AppTest, with the project's shipped model (whose
robustness scores ship with it) and one small extra run."""

from __future__ import annotations

import pytest

from core.data import robustness
from core.queue import jobs, model_states
from core.runs import registry
from core.ui import session_keys
from tests import tiny_models
from tests.app import open_page

pytestmark = pytest.mark.usefixtures("runs_dir", "jobs_stay_queued")


def shipped() -> registry.RunRecord:
    return next(run for run in registry.list_runs(include_shipped=True) if run.shipped)


def test_robustness_shows_every_suite_for_the_shipped_model():
    app = open_page("robustness")
    scores = model_states.robustness_scores(shipped())
    table = app.dataframe[0].value
    assert table["suite"].tolist() == list(robustness.labels().values())
    column = table[shipped().name].tolist()
    assert column == pytest.approx([100 * value for value in scores.values()])
    assert len(app.get("plotly_chart")) == 1
    captions = [caption for image in app.get("image") for caption in image.captions]
    assert [c for c in captions if c] == [suite.label for suite in robustness.SUITES.values()]


def test_a_run_without_scores_asks_a_job_and_says_so():
    run = tiny_models.finished_run(tiny_models.contract_mlp(units=8), "unscored")
    app = open_page("robustness", session={session_keys.FOCUS_RUN: run.id})
    assert jobs.read("convert", run.id)["state"] == jobs.QUEUED  # Its LiteRT copy comes first.
    assert "preparing the model" in app.info[0].value
    assert not app.dataframe


def test_ensembles_page_queues_an_ensemble_of_the_chosen_runs():
    run = tiny_models.finished_run(tiny_models.contract_mlp(units=8), "small")
    app = open_page("ensembles")
    members = app.multiselect(key="ensembles_members")
    assert set(members.options) >= {f"small · {run.description}"}
    members.set_value([shipped().id, run.id]).run()
    app.button[0].click().run()
    target = app.session_state[session_keys.ENSEMBLE_JOB]
    job = jobs.read("ensemble", target)
    assert job["state"] == jobs.QUEUED and job["payload"]["members"] == [shipped().id, run.id]
    assert "waiting" in app.info[0].value.lower() or "queued" in app.info[0].value.lower()


def test_ensembles_need_two_runs():
    app = open_page("ensembles")
    assert "needs at least two runs" in app.info[0].value
