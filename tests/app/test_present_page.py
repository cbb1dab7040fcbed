"""The present page through AppTest: its model pickers in the page, a second model answering the
same drawing beside the first, and a short preset trained live under the stage.

AppTest cannot draw on the canvas (the component returns its empty default), so a stand-in for the
component returns what the browser's canvas sends for a drawn 7: MNIST test digit 0, enlarged,
white ink on black, RGBA. Everything from there on (preprocessing, both models, the look inside)
is the app's own.
"""

from __future__ import annotations

import json
import re
import sys
import types
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from core.data.mnist import load_mnist
from core.networks import architecture
from core.networks.config import PRESETS
from core.queue import jobs, scheduler
from core.runs import access, processes, registry, run_results
from core.serving import inference
from core.ui import session_keys, stage
from tests import as_read, tiny_models
from tests.app import open_page

SEVEN = 0  # MNIST test digit #0: a clear 7.


@pytest.fixture(scope="module")
def tiny_mlp(module_runs_root):
    """A second model beside the shipped CNN: a small MLP trained by the worker's loop."""
    yield tiny_models.tiny_run("seed-mlp", "tiny mlp", epochs=1)
    scheduler.stop_scheduler()


@pytest.fixture
def drawn_seven(monkeypatch):
    """The canvas component, as if a 7 had been drawn on it."""

    def st_canvas(width: int, height: int, **_) -> types.SimpleNamespace:
        ink = np.asarray(Image.fromarray(load_mnist().x_test[SEVEN]).resize((width, height)))
        return types.SimpleNamespace(image_data=np.dstack([ink, ink, ink, np.full_like(ink, 255)]))

    monkeypatch.setitem(sys.modules, "streamlit_drawable_canvas", types.SimpleNamespace(st_canvas=st_canvas))


def html_with(app, start: str) -> list[str]:
    return [element.value for element in app.html if start in element.value]


def answers(app) -> list[tuple[str, str]]:
    """(model, digit) of each answer on the stage, "?" for a model still waiting for a digit."""
    [stage_answers] = html_with(app, '<div class="stage-answers">')
    return re.findall(r'<div class="model">([^<]*)</div><div class="digit[^"]*">(.)</div>', stage_answers)


def test_the_model_pickers_are_in_the_page_not_the_narrow_sidebar(tiny_mlp):
    app = open_page("present")
    assert not app.sidebar.selectbox
    main = list(app.main.selectbox)
    assert app.selectbox(key="present_model") in main and app.selectbox(key="present_second") in main


def test_a_second_model_answers_the_same_drawing_beside_the_first(tiny_mlp, drawn_seven):
    app = open_page("present")
    assert [digit for _, digit in answers(app)] == ["7"]
    assert len(html_with(app, '<div class="layer-views"')) == 1

    app.selectbox(key="present_second").set_value(tiny_mlp.id).run()
    assert not app.exception
    (first, first_digit), (second, second_digit) = answers(app)
    assert first.startswith("Fast CNN (shipped)") and second.startswith("tiny mlp · MLP")
    assert first_digit == "7" and second_digit.isdigit()
    inside = html_with(app, '<div class="layer-views"')
    assert len(inside) == 2 and inside[0] != inside[1]  # A look inside each model.
    assert [m.value for m in app.markdown if m.value.startswith("**")][1].startswith("**tiny mlp")


def test_a_stroke_asks_each_model_once_for_its_answer_and_its_look_inside(tiny_mlp, drawn_seven, monkeypatch):
    app = open_page("present")
    app.selectbox(key="present_second").set_value(tiny_mlp.id).run()  # Both models loaded.
    calls = Counter()
    run = inference.Classifier._run  # Every interpreter call goes through it.

    def counted(classifier, pixels):
        calls[classifier.path] += 1
        return run(classifier, pixels)

    monkeypatch.setattr(inference.Classifier, "_run", counted)
    app.run()  # The canvas sends the drawing again: a stroke.
    assert not app.exception
    assert len(html_with(app, '<div class="layer-views"')) == 2
    assert len(calls) == 2 and set(calls.values()) == {1}


def test_train_live_offers_only_presets_that_train_in_a_few_minutes(tiny_mlp):
    app = open_page("present")
    offered = app.selectbox(key="present_preset").options
    assert [option.split(", about ")[0] for option in offered] == [
        "Fast CNN: 5 epochs",
        "Keras mnist_mlp (seed): 20 epochs",
    ]
    for preset in stage.LIVE_PRESETS:
        config = PRESETS[preset].config
        assert config.epochs * architecture.epoch_seconds(config) <= 180  # On this 2-core machine.


def test_train_live_queues_a_run_and_shows_its_progress_and_curves(tiny_mlp, monkeypatch):
    monkeypatch.setattr(scheduler, "tick", lambda: None)  # Queued, never started: nothing trains here.
    app = open_page("present")
    app.selectbox(key="present_preset").set_value("fast-cnn").run()
    app.button(key="present_train").click().run()
    assert not app.exception

    [run] = [run for run in registry.list_runs(include_shipped=False) if run.id != tiny_mlp.id]
    assert run.config == PRESETS["fast-cnn"].config and run.state == "queued"
    assert jobs.read("train", run.id)["state"] == jobs.QUEUED
    assert app.session_state[session_keys.FOCUS_RUN] == run.id  # Runs, compare... open on it.
    assert app.info[0].value.startswith("Queued for training")
    assert app.button(key="present_stop").label == "Cancel"  # It waits in the queue.
    assert app.button(key="present_train").disabled  # The stage shows one live run at a time.

    # What a worker (this process stands in) writes once it trains: its progress and its first
    # batches' metrics.
    progress = {"epoch": 1, "epochs": 5, "epochs_completed": 0, "batch": 120, "batches_per_epoch": 430}
    training = {"state": "running", "phase": "training", "progress": progress, **processes.process_identity()}
    registry.update_status(run, training)
    run_results.append_metrics(
        run,
        [
            {"kind": "batch", "epoch": round(batch / 430, 5), "loss": 1 / batch, "accuracy": 0.9}
            for batch in (40, 80, 120)
        ],
    )
    app.run()
    assert app.progress[0].text.startswith("epoch 1/5 · batch 120/430")
    [curves] = [
        json.loads(chart.proto.spec) for chart in app.get("plotly_chart") if chart.key == "present_curves"
    ]
    train_loss = next(trace for trace in curves["data"] if trace["name"] == "train")
    assert train_loss["x"] == [round(batch / 430, 5) for batch in (40, 80, 120)]
    assert curves["layout"]["font"]["size"] >= stage.MIN_FONT_PX  # Readable from the back too.

    app.button(key="present_stop").click().run()
    assert registry.reload(run).stop_requested and registry.reload(run).state == "stopping"
    jobs.cancel("train", run.id)  # Its queue entry, so no scheduler tick later meets it.


def test_a_visitor_trains_live_within_the_visitor_limits(tiny_mlp, monkeypatch):
    monkeypatch.setattr(scheduler, "tick", lambda: None)
    monkeypatch.setenv(access.PASSWORD_ENV, "a password, so this session is a visitor's")
    app = open_page("present")
    app.button(key="present_train").click().run()
    assert not app.exception
    [run] = [run for run in registry.list_runs(include_shipped=False) if access.started_by(run)]
    assert access.started_by(run) == app.session_state[session_keys.VISITOR] and run.state == "queued"
    assert app.button(key="present_train").disabled  # One run at a time per visitor, as on the train page.
    assert any("You have 1 run(s) waiting or training" in as_read(caption.value) for caption in app.caption)
    app.button(key="present_stop").click().run()
    assert registry.reload(run).state == "stopped"
    assert not app.button(key="present_train").disabled
