"""Issue 12's acceptance for ensembles, through AppTest: an ensemble of the shipped model and a
second run, made on the Ensembles page (its job really runs), shows its test accuracy there and on
the leaderboard, predicts an uploaded digit on the Predict page, is scored on the robustness
suites, and once a member is deleted stays listed on both pages, marked broken, never a crash."""

from __future__ import annotations

import shutil

import pytest

from core.jobs import model_bodies
from core.queue import model_states
from core.runs import access, atomic_files, compare, layout, registry, run_results
from core.ui import session_keys
from tests import as_read, tiny_models
from tests.app import open_page
from tests.app.test_predict_page import SEVEN, photo_of_test_digit, rerun_until, upload
from tests.fewer_suite_digits import score_suites_on

NAME = "shipped + small mlp"
pytestmark = pytest.mark.slow  # Its ensemble is made by a real job process.


def shipped() -> registry.RunRecord:
    return next(run for run in registry.list_runs(include_shipped=True) if run.shipped)


@pytest.fixture(scope="module")
def made(module_runs_root):
    """The ensemble, made on its page by the owner (the app tests' local server, as in conftest)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            access, "is_local", lambda address, host, proxied=False: access.owner_password() is None
        )
        # Its robustness job scores 30 digits a suite: the page must show what the job stored,
        # whatever the scores are (the full suites: tests/unit/test_robustness.py).
        score_suites_on(patch, 30)
        member = tiny_models.finished_run(tiny_models.contract_mlp(units=16), "small mlp")
        model_bodies.evaluate_job(member.id)  # Tested, so no page queues an evaluation job for it.
        app = open_page("ensembles")
        app.multiselect(key="ensembles_members").set_value([shipped().id, member.id]).run()
        app.text_input(key="ensembles_name").set_value(NAME).run()
        app.button[0].click().run()
        rerun_until(app, lambda app: app.success or app.error, timeout=300)
        assert not app.error, app.error[0].value
        ensemble = registry.find_run(app.session_state[session_keys.FOCUS_RUN])
        yield {"app": app, "member": registry.reload(member), "ensemble": ensemble}


def test_the_ensemble_page_makes_it_and_shows_its_test_accuracy(made):
    ensemble = made["ensemble"]
    accuracy = 100 * run_results.read_evaluation(ensemble)["accuracy"]
    assert accuracy > 95 and ensemble.description == "ensemble of 2 runs"
    assert as_read(made["app"].success[0].value) == f"{NAME}: {accuracy:.2f}% test accuracy."
    table = open_page("ensembles").dataframe[0].value.set_index("name")
    assert table.loc[NAME, "test accuracy (%)"] == round(accuracy, 2)
    assert table.loc[NAME, "status"] == "finished"
    assert table.loc[NAME, "members"] == ", ".join(compare.ensemble_info(ensemble)["labels"])


def test_the_leaderboard_lists_it_beside_single_runs_with_its_test_accuracy(made):
    table = open_page("compare").dataframe[0].value.set_index("name")
    row = table.loc[NAME]
    accuracy = run_results.read_evaluation(made["ensemble"])["accuracy"]
    assert row["test accuracy (%)"] == round(100 * accuracy, 2) and row["model"] == "ensemble of 2 runs"
    assert row["status"] == "finished" and row["parameters"] > 207_178
    assert {shipped().name, "small mlp"} <= set(table.index)


def test_the_predict_page_answers_with_the_ensemble(made):
    app = open_page("predict")
    app.selectbox(key="predict_model").set_value(made["ensemble"].id).run()
    assert as_read(app.caption[0].value).startswith(f"Model: {NAME} · ensemble of 2 runs")
    upload(app, "seven.jpg", photo_of_test_digit(SEVEN), "image/jpeg")
    assert not app.error
    assert ">7</div>" in app.markdown[0].value
    assert float(app.metric[0].value.rstrip("%")) > 50
    assert app.session_state[session_keys.HANDOVER_MODEL] == made["ensemble"].id


def test_the_ensemble_job_has_it_scored_on_the_robustness_suites(made):
    ensemble = made["ensemble"]
    assert model_states.state("robustness", ensemble) in (model_states.RUNNING, model_states.READY)
    app = open_page("robustness", session={session_keys.FOCUS_RUN: ensemble.id})
    rerun_until(app, lambda app: app.dataframe or app.error, timeout=300)
    assert not app.error, app.error[0].value
    column = app.dataframe[0].value[NAME].tolist()
    assert column == pytest.approx([100 * v for v in model_states.robustness_scores(ensemble).values()])


def test_a_deleted_member_marks_it_broken_on_both_pages(made):
    """A copy of the ensemble whose second member is a copy of the small run, deleted on the
    compare page: both pages still list the ensemble, saying which member went, and nothing
    that needs its model offers it."""
    root = layout.runs_dir()
    shutil.copytree(made["member"].path, root / "doomed-mlp")
    doomed = registry.rename_run(registry.open_run(root / "doomed-mlp"), "doomed mlp")
    shutil.copytree(made["ensemble"].path, root / "broken-pair")
    meta = atomic_files.read_json_object(root / "broken-pair" / layout.META_FILE)
    label = f"doomed mlp ({doomed.description})"
    record = {**meta[layout.ENSEMBLE_KEY], "members": [shipped().id, doomed.id]}
    record["labels"] = [record["labels"][0], label]
    atomic_files.write_json(
        root / "broken-pair" / layout.META_FILE,
        {**meta, "name": "broken pair", layout.ENSEMBLE_KEY: record},
    )

    compare = open_page("compare")
    compare.selectbox(key="compare_manage").set_value(doomed.id).run()
    compare.button(key="compare_delete").click().run()
    compare.button(key="compare_confirm_delete").click().run()
    assert not compare.exception and not (root / "doomed-mlp").exists()

    broken = f"broken: member {label} deleted"
    table = compare.dataframe[0].value.set_index("name")
    assert table.loc["broken pair", "status"] == broken
    assert table.loc["broken pair", "test accuracy (%)"] == table.loc[NAME, "test accuracy (%)"]
    assert not any("broken pair" in label for label in compare.multiselect(key="compare_overlay").options)

    page = open_page("ensembles")
    rows = page.dataframe[0].value.set_index("name")
    assert rows.loc["broken pair", "status"] == broken and rows.loc[NAME, "status"] == "finished"

    models = open_page("predict").selectbox(key="predict_model").options
    assert any(NAME in label for label in models) and not any("broken pair" in label for label in models)

    # Compare's manage section offers it, so it can be deleted.
    compare.selectbox(key="compare_manage").set_value("broken-pair").run()
    compare.button(key="compare_delete").click().run()
    compare.button(key="compare_confirm_delete").click().run()
    assert not compare.exception and not (root / "broken-pair").exists()
    assert "broken pair" not in set(compare.dataframe[0].value["name"])
