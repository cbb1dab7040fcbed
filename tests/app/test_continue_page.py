"""The runs page continues an ended run with weights, and draws a continued run after its parent."""

import json

import pytest

from core.networks.config import ModelConfig
from core.runs import layout, lineage, registry, run_results
from tests.app import open_page

EPOCH = {"kind": "epoch", "loss": 0.5, "accuracy": 0.9, "val_loss": 0.4, "val_accuracy": 0.9}


pytestmark = pytest.mark.usefixtures("jobs_stay_queued")  # Queued, never started.


def ended_run(name: str, weights: bool) -> registry.RunRecord:
    run = registry.create_run(ModelConfig(epochs=2, train_limit=2000, validation_size=1000), name)
    if weights:
        (run.path / layout.MODEL_FILE).write_bytes(b"weights")
    run_results.append_metrics(run, [{**EPOCH, "epoch": 1}, {**EPOCH, "epoch": 2}])
    registry.update_status(run, {"state": "finished", "phase": "done"})
    return registry.reload(run)


def validation_epochs(app) -> list[float]:
    [curves] = app.get("plotly_chart")
    traces = json.loads(curves.proto.spec)["data"]
    return next(trace["x"] for trace in traces if trace.get("name") == "validation")


def test_continue_queues_a_linked_run_drawn_after_its_parent(runs_dir):
    parent = ended_run("parent", weights=True)
    app = open_page("runs")
    app.selectbox(key="runs_run").set_value(parent.id).run()
    app.number_input(key=f"more_{parent.id}").set_value(3).run()
    app.button(key=f"continue_{parent.id}").click().run()
    assert not app.exception

    [child] = [run for run in registry.list_runs(include_shipped=False) if run.id != parent.id]
    assert child.meta[lineage.PARENT] == parent.id and child.config.epochs == 3
    assert child.state == "queued" and child.name == "parent +3"
    assert app.selectbox(key="runs_run").value == child.id
    run_results.append_metrics(child, [{**EPOCH, "epoch": 1}])
    app.run()
    assert validation_epochs(app) == [1, 2, 3]


def test_a_run_without_weights_offers_no_continuation(runs_dir):
    bare = ended_run("no weights", weights=False)
    app = open_page("runs")
    app.selectbox(key="runs_run").set_value(bare.id).run()
    assert f"continue_{bare.id}" not in [button.key for button in app.button]
