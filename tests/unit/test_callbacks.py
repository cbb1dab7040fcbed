"""The training callbacks, driven by hand: no `fit`, so each takes milliseconds."""

from types import SimpleNamespace

import keras
import numpy as np
import pytest

from core.jobs import callbacks
from core.networks.config import ModelConfig
from core.networks.families.base import DenseLayer
from core.networks.families.mlp import MLP
from core.runs import layout, registry, run_results

TINY = ModelConfig(network=MLP(hidden_layers=(DenseLayer(16),)), batch_size=64, epochs=2)
PARAMS = {"steps": 10, "epochs": 2}


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_RUNS_DIR", str(tmp_path))
    return registry.create_run(TINY, "callbacks")


class StubModel:
    """What the callbacks use of a Keras model; `save` notes what was on disk when it ran."""

    def __init__(self, run):
        self.run = run
        self.optimizer = SimpleNamespace(learning_rate=np.float32(0.01))
        self.seen_at_save: list[list[dict]] = []

    def save(self, path):
        self.seen_at_save.append(run_results.read_metrics(self.run))
        path.write_bytes(b"weights")


def test_stop_on_request_raises_between_validation_batches(run):
    stop = callbacks.StopOnRequest(run.path / layout.STOP_FILE)
    stop.on_test_batch_end(0)
    stop.on_train_batch_end(0)
    registry.request_stop(registry.reload(run))
    with pytest.raises(callbacks.StopRequested):
        stop.on_test_batch_end(1)


@pytest.mark.parametrize("loss", [float("nan"), float("inf")])
def test_divergence_guard_raises_on_a_non_finite_loss(loss):
    guard = callbacks.DivergenceGuard()
    guard.on_epoch_begin(2)
    guard.on_train_batch_end(0, {"loss": 0.5})
    guard.on_train_batch_end(1, {})
    with pytest.raises(callbacks.TrainingDiverged, match="in epoch 3"):
        guard.on_train_batch_end(2, {"loss": loss})


def test_batch_points_carry_interval_means_not_epoch_running_means(run):
    stream = callbacks.MetricsStream(run, callbacks.TrainingProgress())
    batch_losses = [4.0, 2.0, 3.0, 1.0, 5.0]
    for epoch in range(2):
        stream.on_epoch_begin(epoch)
        means = []
        for n in range(1, len(batch_losses) + 1):  # Keras' logs: the running mean so far.
            running = float(np.mean(batch_losses[:n]))
            means.append(stream.interval_means(n, {"loss": running, "accuracy": 0.5})["loss"])
        assert means[0] == pytest.approx(4.0)
        assert means[1:] == pytest.approx(batch_losses[1:])
    # Points every two batches: each is the mean of the two batches since the last one.
    stream.on_epoch_begin(0)
    assert stream.interval_means(2, {"loss": 3.0, "accuracy": None})["loss"] == pytest.approx(3.0)
    assert stream.interval_means(4, {"loss": 2.5, "accuracy": None}) == {
        "loss": pytest.approx(2.0),
        "accuracy": None,
    }


def test_run_monitor_records_an_epoch_in_order(run):
    """Metrics are on disk before the checkpoint is saved; status counts the epoch after both.

    Driven through the outer `CallbackList` that `fit` builds around its `callbacks` argument, so
    the model and params reach the monitor's own callbacks as they do in training."""
    monitor = callbacks.RunMonitor(run, batch_size=64)
    model = StubModel(run)
    fit_list = keras.callbacks.CallbackList([monitor], add_history=True, model=model, **PARAMS)
    fit_list.on_train_begin()
    fit_list.on_epoch_begin(0)
    assert registry.reload(run).progress["epochs_completed"] == 0
    for batch in range(PARAMS["steps"]):
        fit_list.on_train_batch_end(batch, {"loss": 1.0, "accuracy": 0.5})
    fit_list.on_test_begin()
    assert registry.reload(run).status["phase"] == "validating"
    fit_list.on_test_batch_end(0)
    fit_list.on_epoch_end(0, {"loss": 1.0, "accuracy": 0.5, "val_loss": float("nan"), "val_accuracy": 0.6})

    [at_save] = model.seen_at_save
    assert [record["kind"] for record in at_save][-1] == "epoch"
    assert at_save == run_results.read_metrics(run)
    first, epoch = at_save[0], at_save[-1]
    assert first["kind"] == "batch" and first["step"] == 1 and first["epoch"] == pytest.approx(0.1)
    assert first["loss"] == pytest.approx(1.0) and first["learning_rate"] == pytest.approx(0.01)
    assert epoch["epoch"] == 1 and epoch["step"] == 10 and epoch["val_loss"] is None
    assert (run.path / layout.CHECKPOINT_FILE).read_bytes() == b"weights"

    status = registry.reload(run).status
    assert status["phase"] == "training"
    assert status["progress"]["epochs_completed"] == 1 and status["progress"]["batch"] == 10
    assert status["progress"]["eta_seconds"] is not None
    assert monitor.progress.epochs_completed == 1 and monitor.progress.has_trained


def test_nothing_counts_as_trained_when_stop_comes_before_the_first_batch(run):
    monitor = callbacks.RunMonitor(run, batch_size=64)
    monitor.set_model(StubModel(run))
    monitor.set_params(PARAMS)
    monitor.on_train_begin()
    monitor.on_epoch_begin(0)
    registry.request_stop(registry.reload(run))
    with pytest.raises(callbacks.StopRequested):
        monitor.on_train_batch_end(0, {"loss": 1.0, "accuracy": 0.5})
    assert not monitor.progress.has_trained
    assert run_results.read_metrics(run) == []
