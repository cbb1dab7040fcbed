"""The compare pages through AppTest: leaderboard and overlay, manage (rename, notes, delete),
run detail, what the model looks at (incl. a digit handed over from the predict page), export
and import. Two tiny real runs are trained once for the module."""

from __future__ import annotations

import json
import re
import shutil
import time

import numpy as np
import pytest

from core.data.mnist import load_mnist
from core.networks import architecture
from core.queue import model_states
from core.runs import atomic_files, layout, registry, run_results
from tests import as_read, tiny_models
from tests.app import open_page

pytestmark = pytest.mark.slow  # Two tiny runs trained by the worker's loop (once per session).


def copy_run(
    run: registry.RunRecord, new_id: str, name: str, evaluated: bool = True, state: str = "finished"
) -> registry.RunRecord:
    target = run.path.parent / new_id
    shutil.copytree(run.path, target)
    if not evaluated:
        for name_ in (layout.EVALUATION_FILE, layout.PREDICTIONS_FILE):
            (target / name_).unlink()
    copy = registry.rename_run(registry.open_run(target), name)
    registry.update_status(copy, {"state": state})
    return registry.reload(copy)


@pytest.fixture(scope="module")
def runs(module_runs_root, tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        cnn = tiny_models.tiny_run("fast-cnn", "tiny cnn", epochs=1)
        mlp = tiny_models.tiny_run("seed-mlp", "tiny mlp", epochs=2)
        # A shipped model (read-only, no status.json), in place of the project's own.
        shipped_root = tmp_path_factory.mktemp("models")
        shutil.copytree(cnn.path, shipped_root / "shipped-cnn")
        (shipped_root / "shipped-cnn" / layout.STATUS_FILE).unlink()
        atomic_files.write_json(
            shipped_root / "shipped-cnn" / layout.META_FILE, {"name": "first-launch model"}
        )
        patch.setattr(registry, "SHIPPED_MODELS_DIR", shipped_root)
        yield {"cnn": cnn, "mlp": mlp}


def test_leaderboard_lists_every_run_and_overlays_two(runs):
    app = open_page("compare")
    table = app.dataframe[0].value
    assert {"tiny cnn", "tiny mlp", "first-launch model"} <= set(table["name"])
    row = table.set_index("name").loc["tiny cnn"]
    assert row["model"] == "CNN 16c5-32c3 / 128" and row["epochs"] == "1/1" and row["status"] == "finished"
    assert row["test accuracy (%)"] > 50 and row["parameters"] > 0 and row["device"]
    assert table.set_index("name").loc["first-launch model", "status"] == "shipped"
    overlay = app.multiselect(key="compare_overlay")
    overlay.set_value([runs["cnn"].id, runs["mlp"].id]).run()
    assert not app.exception
    curves = app.get("plotly_chart")
    assert len(curves) == 1
    names = {trace.get("name", "") for trace in json.loads(curves[0].proto.spec)["data"]}
    assert any("tiny cnn" in n for n in names) and any("tiny mlp" in n for n in names)


def test_a_link_chooses_the_overlaid_runs_and_then_the_user_does(runs):
    app = open_page("compare", query={"compare_overlay": [runs["mlp"].id, "no-such-run"]})
    assert app.multiselect(key="compare_overlay").value == [runs["mlp"].id]
    assert app.query_params["compare_overlay"] == runs["mlp"].id
    app.multiselect(key="compare_overlay").set_value([runs["cnn"].id, runs["mlp"].id]).run()
    assert app.multiselect(key="compare_overlay").value == [runs["cnn"].id, runs["mlp"].id]
    assert app.query_params["compare_overlay"] == [runs["cnn"].id, runs["mlp"].id]


def test_rename_and_notes_are_kept_in_the_run_folder(runs):
    app = open_page("compare")
    app.selectbox(key="compare_manage").set_value(runs["mlp"].id).run()
    app.text_input[0].input("seed mlp, renamed")
    app.text_area[0].input("fewer epochs than the seed")
    app.form_submit_button[0].click().run()
    assert not app.exception
    run = registry.reload(runs["mlp"])
    assert (run.name, run.notes) == ("seed mlp, renamed", "fewer epochs than the seed")
    registry.rename_run(run, "tiny mlp")


def test_delete_asks_first_and_the_shipped_model_cannot_be_deleted(runs):
    doomed = copy_run(runs["mlp"], "20990101-000000-dead00", "doomed")
    app = open_page("compare")
    app.selectbox(key="compare_manage").set_value(doomed.id).run()
    app.button(key="compare_delete").click().run()
    assert doomed.path.exists()  # Only the dialog so far.
    app.button(key="compare_confirm_delete").click().run()
    assert not app.exception
    assert not doomed.path.exists()
    assert "doomed" not in set(app.dataframe[0].value["name"])
    app.selectbox(key="compare_manage").set_value("shipped-cnn").run()
    assert app.button(key="compare_delete").disabled
    assert any("shipped model" in caption.value for caption in app.caption)


def test_run_detail_shows_confusion_pairs_and_mistakes(runs):
    app = open_page("run_detail", {"focus_run": runs["cnn"].id})
    assert app.selectbox(key="detail_run").value == runs["cnn"].id
    evaluation = run_results.read_evaluation(runs["cnn"])
    assert app.metric[0].value == f"{100 * evaluation['accuracy']:.2f}%"
    assert len(app.get("plotly_chart")) == 1
    per_class, pairs = app.dataframe[0].value, app.dataframe[1].value
    assert len(per_class) == 10 and list(pairs.columns) == ["true", "predicted", "count", "% of true digit"]
    gallery = app.get("html")[0].proto.body
    assert gallery.count('class="digit-label"') == 60 and "→" in gallery
    app.toggle(key="detail_normalised").set_value(True).run()
    app.selectbox(key="detail_true").set_value(9).run()
    assert not app.exception
    y_true, labels = load_mnist().y_test, run_results.read_predictions(runs["cnn"])["labels"]
    nines = int(((y_true == 9) & (labels != 9)).sum())
    assert f"{nines:,} mistakes match" in app.caption[-1].value
    assert all(label.startswith("9→") for label in _labels(app.get("html")[0].proto.body))


def _labels(html: str) -> list[str]:
    import re

    return re.findall(r'class="digit-label"[^>]*>([^<]*)<', html)


@pytest.mark.slow  # A job process.
def test_run_detail_evaluates_a_run_without_evaluation_in_the_background(runs):
    stopped = copy_run(
        runs["cnn"], "20990101-000000-0e0a1a", "stopped early", evaluated=False, state="stopped"
    )
    app = open_page("run_detail", {"focus_run": stopped.id})
    assert "evaluating on the 10,000 test digits" in app.info[0].value
    deadline = time.monotonic() + 120
    while model_states.state("evaluate", registry.reload(stopped)) != model_states.READY:
        assert time.monotonic() < deadline, "background evaluation did not finish"
        time.sleep(0.5)
    app.run()
    assert not app.info and app.metric[0].label == "Test accuracy"


def test_insight_on_a_test_digit_and_on_a_handed_over_drawing(runs):
    app = open_page("insight", {"focus_run": runs["mlp"].id})
    assert len(app.get("imagelist")) >= 3 or len(app.image) >= 3
    assert "the true digit is **7**" in app.markdown[0].value
    assert not app.get("segmented_control")  # Nothing drawn yet: no choice to offer.
    inside, weights = (element.proto.body for element in app.get("html"))
    # Every layer of the MLP but flatten and dropout, which add no picture.
    layers = architecture.network(runs["mlp"].config).layers
    assert re.findall(r"<b>(\w+)</b>", inside) == [
        layer.name for layer in layers if layer.type not in ("InputLayer", "Flatten", "Dropout")
    ]
    assert weights.count('class="weight-number"') == 64
    app.radio(key="insight_method").set_value("occlusion").run()
    assert not app.exception
    drawn = load_mnist().x_test[1].astype(np.float32)  # A 2.
    app = open_page("insight", {"handover_digit": drawn, "handover_model": runs["cnn"].id})
    assert app.segmented_control(key="insight_source").value == "The digit drawn on the predict page"
    assert app.selectbox(key="insight_run").value == runs["cnn"].id
    assert "true digit" not in app.markdown[0].value
    assert "16 filters of 5x5 pixels" in app.caption[-1].value


def test_export_buttons_and_import_of_a_good_and_a_bad_file(runs, tmp_path):
    app = open_page("model_io", {"focus_run": runs["cnn"].id})
    labels = [button.proto.label for button in app.get("download_button")]
    assert labels == ["Model (.keras)", "Config (JSON)", "Metrics history (CSV)", "Training script (.py)"]
    assert "def build_model" in app.code[0].value
    app.file_uploader(key="io_upload").set_value(
        ("notes.keras", b"not a model", "application/octet-stream")
    ).run()
    app.button(key="io_import").click().run()
    assert "not a Keras model file" in app.error[0].value
    model_file = tmp_path / "logits.keras"
    tiny_models.vector_unit_scale_logits().save(model_file)
    app.file_uploader(key="io_upload").set_value(
        ("logits.keras", model_file.read_bytes(), "application/octet-stream")
    ).run()
    app.text_input(key="io_name").input("uploaded vector net").run()
    app.button(key="io_import").click().run()
    assert not app.exception and not app.error
    assert "checking and converting the uploaded model" in app.info[0].value
    deadline = time.monotonic() + 120
    while not app.success:
        assert time.monotonic() < deadline and not app.error, "the import job did not succeed"
        time.sleep(0.5)
        app.run()
    assert "pixels as [0, 1]" in as_read(app.success[0].value)
    imported = next(run for run in registry.list_runs() if run.name == "uploaded vector net")
    assert model_states.state("evaluate", imported) == model_states.READY
    assert run_results.read_evaluation(imported)["accuracy"] > 0.8
    assert (
        f"{100 * run_results.read_evaluation(imported)['accuracy']:.2f}% on the 10,000 test digits"
        in as_read(app.success[0].value)
    )


def test_the_page_reruns_cleanly_after_its_buttons_were_used(runs):
    app = open_page("compare")
    app.button(key="compare_delete").click().run()
    app.button(key="compare_cancel_delete").click().run()
    app.run()
    assert not app.exception
