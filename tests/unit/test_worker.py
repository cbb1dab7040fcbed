"""Real training runs through the worker process: streaming, saving, stopping, dying, seeds.

Each run is a tiny MLP on a few thousand digits, so a worker spends most of its time importing
TensorFlow; the two runs that only need to finish are trained side by side.
"""

import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from core.data.mnist import load_mnist
from core.jobs import callbacks, worker
from core.jobs.models import STEPS_PER_EXECUTION, build_model, compile_model
from core.networks.config import ModelConfig
from core.networks.families.base import DenseLayer
from core.networks.families.mlp import MLP
from core.runs import layout, reconcile, registry, run_results
from core.serving import inference
from tests import assert_labels_agree_but_for_near_ties, train_command

TINY = ModelConfig(
    network=MLP(hidden_layers=(DenseLayer(64, dropout=0.1),)),
    batch_size=64,
    epochs=2,
    train_limit=3000,
    validation_size=1000,
    seed=7,
)
LONG = TINY.with_changes(epochs=50)
WORKER_TIMEOUT = 180


pytestmark = pytest.mark.usefixtures("module_runs_root")


@pytest.fixture(scope="module")
def test_digits():
    data = load_mnist()
    return data.x_test[:200, :, :, None], data.y_test[:200]


def start_worker(run: registry.RunRecord) -> subprocess.Popen:
    with open(run.path / layout.LOG_FILE, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "core.jobs", "train", run.id],  # As the scheduler starts it.
            cwd=layout.PROJECT_ROOT,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def wait_for(condition, timeout: float, interval: float = 0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s")


def epoch_points(run):
    return [record for record in run_results.read_metrics(run) if record["kind"] == "epoch"]


def assert_model_predicts(path, digits):
    model = keras.saving.load_model(path, safe_mode=True)
    probabilities = model.predict(digits, verbose=0)
    assert probabilities.shape == (len(digits), 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-4)
    return probabilities


@pytest.fixture(scope="module")
def twin_runs():
    """Two runs of one configuration and seed, trained at the same time."""
    runs = [registry.create_run(TINY, name) for name in ("twin a", "twin b")]
    workers = [start_worker(run) for run in runs]
    for process in workers:
        assert process.wait(timeout=WORKER_TIMEOUT) == 0
    return [registry.reload(run) for run in runs]


@pytest.mark.slow
def test_finished_run_status(twin_runs):
    run = twin_runs[0]
    status = run.status
    assert run.state == "finished" and status["phase"] == "done" and status["error"] is None
    assert status["device"].startswith(("CPU", "GPU"))
    assert set(status["versions"]) == {"tensorflow", "keras", "numpy", "python"}
    assert status["seed"] == TINY.seed and status["pid"] and status["started"] and status["ended"]
    assert status["progress"]["epochs_completed"] == TINY.epochs
    assert status["training_samples"] == TINY.training_samples
    assert 0.5 < status["test_accuracy"] <= 1.0


@pytest.mark.slow
def test_metrics_stream_has_batch_and_epoch_points(twin_runs):
    records = run_results.read_metrics(twin_runs[0])
    batches = [r for r in records if r["kind"] == "batch"]
    epochs = [r for r in records if r["kind"] == "epoch"]
    assert batches and [r["epoch"] for r in epochs] == [1, 2]
    # The first point comes after the first call into the framework, which runs several steps.
    first = STEPS_PER_EXECUTION
    assert batches[0]["step"] == first and batches[0]["epoch"] == pytest.approx(first / 32)
    positions = [r["epoch"] for r in records]
    assert positions == sorted(positions)
    for point in epochs:
        assert set(callbacks.EPOCH_METRICS) | {"learning_rate", "seconds"} <= set(point)
        assert 0 < point["val_accuracy"] <= 1


@pytest.mark.slow
def test_model_evaluation_and_predictions_are_saved(twin_runs, test_digits):
    run = twin_runs[0]
    assert run_results.usable_model_path(run) == run.path / "model.keras"
    assert (run.path / "checkpoint.keras").is_file()
    evaluation = run_results.read_evaluation(run)
    assert evaluation["accuracy"] == run.status["test_accuracy"]
    assert np.sum(evaluation["confusion_matrix"]) == 10000
    assert len(evaluation["per_class"]) == 10
    stored = run_results.read_predictions(run)
    assert stored["probabilities"].shape == (10000, 10) and stored["labels"].shape == (10000,)

    digits, _ = test_digits
    probabilities = assert_model_predicts(run.path / "model.keras", digits)
    assert_labels_agree_but_for_near_ties(probabilities, stored["labels"][: len(digits)])


@pytest.mark.slow
def test_the_worker_leaves_a_lite_model_for_the_server(twin_runs, test_digits):
    run = twin_runs[0]
    assert inference.lite_is_fresh(run.path)
    lite = inference.load_classifier(run.path / layout.LITE_MODEL_FILE).probabilities_batch(
        test_digits[0][:50, ..., 0]
    )
    keras_probabilities = keras.saving.load_model(run.path / "model.keras").predict(
        test_digits[0][:50], verbose=0
    )
    np.testing.assert_allclose(lite, keras_probabilities, atol=1e-4)


@pytest.mark.slow
def test_same_seed_gives_the_same_first_epoch(twin_runs):
    first, second = (epoch_points(run)[0] for run in twin_runs)
    for name in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert first[name] == second[name], name


@pytest.mark.slow
def test_stop_mid_run_ends_within_the_epoch_and_saves_weights(test_digits):
    """Stop is checked between batches: the run ends inside the epoch it was asked in (the
    seconds that takes are measured by bench/stop_latency.py, not asserted on a shared CI box)."""
    run = registry.create_run(LONG, "stopped")
    process = start_worker(run)
    wait_for(lambda: any(r["kind"] == "batch" for r in run_results.read_metrics(run)), WORKER_TIMEOUT)

    epochs_done_when_asked = registry.reload(run).progress["epochs_completed"]
    registry.request_stop(run)
    wait_for(lambda: registry.reload(run).state == "stopped", timeout=60)
    assert process.wait(timeout=60) == 0

    run = registry.reload(run)
    assert run.progress["epochs_completed"] <= epochs_done_when_asked + 1
    assert run.status["stop_reason"] == "stop requested"
    assert run.progress["epochs_completed"] < LONG.epochs
    assert len(epoch_points(run)) == run.progress["epochs_completed"]
    assert_model_predicts(run.path / "model.keras", test_digits[0])
    assert inference.lite_is_fresh(run.path)  # Written after Stop answered, before the job ended.


@pytest.mark.slow
def test_killed_worker_reads_failed_and_keeps_its_checkpoint(test_digits):
    run = registry.create_run(LONG, "killed")
    process = start_worker(run)
    wait_for(lambda: (run.path / "checkpoint.keras").exists(), WORKER_TIMEOUT)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)

    run = reconcile.reconcile(registry.reload(run))
    assert run.state == "failed"
    died = "worker process died (killed or out of memory) during epoch "
    assert run.status["error"].startswith(died)
    assert run.status["error"].endswith("the last completed epoch's weights are kept")
    assert_model_predicts(run.path / "checkpoint.keras", test_digits[0])


def test_stop_during_validation_aborts_it():
    """Stop is honoured between validation batches, not only after validation ends."""
    run = registry.create_run(TINY)
    model = build_model(TINY)
    compile_model(model, TINY, steps_per_epoch=2)
    digits = np.zeros((128, 28, 28, 1), np.uint8)
    labels = np.zeros(128, np.uint8)

    class StopDuringValidation(keras.callbacks.Callback):
        validation_batches = 0

        def on_test_batch_end(self, batch, logs=None):
            self.validation_batches += 1
            (run.path / layout.STOP_FILE).touch()

    stopper = StopDuringValidation()
    monitor = callbacks.RunMonitor(run, batch_size=64)
    with pytest.raises(callbacks.StopRequested):
        model.fit(
            digits,
            labels,
            batch_size=64,
            validation_data=(digits, labels),
            validation_batch_size=16,
            callbacks=[stopper, monitor],
            verbose=0,
        )
    assert stopper.validation_batches == 1  # Of eight.


@pytest.mark.slow
def test_command_line_training_writes_a_listed_run(module_runs_root):
    result = subprocess.run(
        train_command(
            "seed-mlp",
            module_runs_root,
            "--epochs",
            "1",
            "--train-limit",
            "2000",
            "--validation-size",
            "1000",
            "--name",
            "from the shell",
        ),
        cwd=layout.PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=WORKER_TIMEOUT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "epoch 1/1" in result.stdout and "test accuracy" in result.stdout
    run = next(run for run in registry.list_runs() if run.name == "from the shell")
    assert run.state == "finished" and run.status["launcher"] == "cli"
    assert "epoch 1/1" in (run.path / layout.LOG_FILE).read_text()


def test_the_input_pipeline_deals_every_digit_once_per_epoch_in_a_seeded_order():
    """`fit` gets float32 batches gathered from the uint8 digits: each epoch every chosen digit
    once with its own label, in an order of its own, and the same orders for the same seed."""
    images = np.arange(50, dtype=np.uint8).repeat(28 * 28).reshape(50, 28, 28)
    labels = (np.arange(50) % 10).astype(np.uint8)
    index = np.arange(3, 43)

    def epochs(seed):
        dataset = worker.digit_batches(images, index, labels[index], batch_size=16, shuffle_seed=seed)
        return [
            [(x.numpy(), y.numpy()) for x, y in dataset]  # A new pass: the next epoch's order.
            for _ in range(2)
        ]

    first, second = epochs(5)
    for batches in (first, second):
        assert [len(y) for _, y in batches] == [16, 16, 8]
        pixels = np.concatenate([x for x, _ in batches])
        assert pixels.dtype == np.float32 and pixels.shape == (40, 28, 28, 1)
        dealt = pixels[:, 0, 0, 0].astype(int)  # Each digit's pixels hold its position.
        assert sorted(dealt) == list(index)
        np.testing.assert_array_equal(np.concatenate([y for _, y in batches]), labels[dealt])
    order = [np.concatenate([x[:, 0, 0, 0] for x, _ in batches]) for batches in (first, second)]
    assert not np.array_equal(*order)
    again = [np.concatenate([x[:, 0, 0, 0] for x, _ in batches]) for batches in epochs(5)]
    np.testing.assert_array_equal(order[0], again[0])
    np.testing.assert_array_equal(order[1], again[1])
