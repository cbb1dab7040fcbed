"""The design-and-train page and the live runs page, run headless through AppTest."""

import time
from collections import Counter

import pytest

from core.networks import architecture
from core.queue import scheduler
from core.runs import access, limits, registry
from tests import as_read
from tests.app import open_page, page_file


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_RUNS_DIR", str(tmp_path))
    yield tmp_path
    scheduler.stop_scheduler()


@pytest.fixture
def train_page(runs_dir):
    return open_page("train")


def metric(app, label):
    return next(m.value for m in app.metric if m.label == label)


def test_seed_preset_summary(train_page):
    assert metric(train_page, "Trainable parameters") == "669,706"
    assert metric(train_page, "Training digits") == "55,000"
    table = train_page.dataframe[0].value
    assert table["name"].tolist()[-1] == "probabilities"
    assert table["params"].sum() == 669_706


def test_the_summary_says_the_hold_out_is_taken(train_page):
    train_page.number_input(key="design_train_limit").set_value(12_000).run()
    assert metric(train_page, "Training digits") == "7,000"
    note = "Training digits: 7,000 = 12,000 chosen minus the 5,000 held out to validate on."
    assert any(caption.value.startswith(note + " Trains on CPU") for caption in train_page.caption)


def test_preset_switch_rebuilds_the_form(train_page):
    train_page.selectbox(key="design_preset").set_value("fast-cnn").run()
    assert metric(train_page, "Trainable parameters") == "207,178"
    assert train_page.radio(key="design_architecture").value == "cnn"
    assert train_page.number_input(key="design_epochs").value == 5


def test_editing_a_layer_updates_the_count(train_page):
    train_page.slider(key="design_mlp_hidden_layers_count").set_value(1).run()
    train_page.number_input(key="design_mlp_hidden_layers_units_0").set_value(32).run()
    assert metric(train_page, "Trainable parameters") == f"{784 * 32 + 32 + 32 * 10 + 10:,}"


@pytest.mark.parametrize("visitor", [False, True], ids=["owner", "visitor"])
def test_a_rerun_builds_each_network_once(runs_dir, monkeypatch, visitor):
    """The summary, the estimates and a visitor's limits all read one cached build per config."""
    if visitor:  # Held to limits that ask for every estimate and refuse at the last.
        monkeypatch.setenv(access.PASSWORD_ENV, "a password makes this session a visitor")
        monkeypatch.setattr(limits, "current", lambda: limits.Limits(run_minutes=0.01))
    builds = Counter()
    build = architecture.network

    def counted(config, *args, **kwargs):
        builds[config] += 1
        return build(config, *args, **kwargs)

    monkeypatch.setattr(architecture, "network", counted)
    architecture.layer_specs.cache_clear()
    app = open_page("train")
    assert list(builds.values()) == [1]
    app.number_input(key="design_epochs").set_value(3).run()  # Another config, the same layers.
    [first, second] = builds
    assert builds == {first: 1, second: 1} and second.epochs == 3
    assert app.button[0].disabled == visitor
    layers = architecture.layer_specs(second)
    assert isinstance(layers, tuple) and architecture.layer_specs(second.with_changes()) is layers


def test_impossible_combination_is_explained(train_page):
    train_page.number_input(key="design_train_limit").set_value(1000).run()
    assert not train_page.exception
    assert "validation_size" in as_read(train_page.error[0].value)
    assert not train_page.button


@pytest.mark.slow  # A job process.
def test_start_queues_a_run_and_the_runs_page_shows_it(train_page, runs_dir):
    train_page.number_input(key="design_train_limit").set_value(2000).run()
    train_page.number_input(key="design_validation_size").set_value(1000).run()
    train_page.number_input(key="design_epochs").set_value(1).run()
    train_page.text_input[0].input("tiny from AppTest").run()
    train_page.button[0].click().run()
    assert not train_page.exception

    [run] = registry.list_runs(include_shipped=False)
    assert run.name == "tiny from AppTest" and run.config.train_limit == 2000
    assert train_page.selectbox(key="runs_run").value == run.id
    assert run.state in ("queued", "running", "finished")
    assert any("tiny from AppTest" in row for row in train_page.dataframe[0].value["name"])

    deadline = time.monotonic() + 120
    while registry.reload(run).state not in ("finished", "failed") and time.monotonic() < deadline:
        time.sleep(0.25)
    assert registry.reload(run).state == "finished"
    train_page.switch_page(page_file("runs")).run()
    assert any(m.label == "Test accuracy" for m in train_page.metric)
    assert "finished" in train_page.dataframe[0].value["state"].tolist()
    assert train_page.dataframe[0].value["test accuracy"].str.endswith("%").all()
    assert not any("running" in option for option in train_page.selectbox(key="runs_run").options)
    log = train_page.code[0].value
    assert "test accuracy" in log and "cuInit" not in log and "absl::InitializeLog" not in log
    train_page.switch_page(page_file("run_detail")).run()  # The started run is the one in focus there too.
    assert train_page.selectbox(key="detail_run").value == run.id

    train_page.switch_page(page_file("train")).run()
    recent = train_page.dataframe[1].value
    assert recent["name"].tolist() == ["tiny from AppTest"] and recent["state"].tolist() == ["finished"]
