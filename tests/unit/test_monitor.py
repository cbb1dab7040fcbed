"""The runs page's progress line, run table and live curves."""

from pathlib import Path

from core.networks.config import ModelConfig
from core.runs.registry import RunRecord
from core.ui import charts, monitor


def record(state, progress=None, **status):
    return RunRecord(
        id="20261126-000000-abc123",
        path=Path("/nonexistent"),
        config=ModelConfig(epochs=4),
        status={"state": state, "progress": progress or {}, **status},
        meta={"name": "demo"},
    )


def test_progress_counts_batches_within_epochs():
    run = record(
        "running",
        {
            "epoch": 2,
            "epochs": 4,
            "batch": 50,
            "batches_per_epoch": 100,
            "samples_per_sec": 5321.4,
            "eta_seconds": 125,
        },
    )
    fraction, text = monitor.progress(run)
    assert fraction == 1.5 / 4
    assert text == "epoch 2/4 · batch 50/100 · 5,321 samples/s · 2 min 05 s left"


def test_progress_before_the_worker_reports():
    assert monitor.progress(record("running")) == (0.0, "waiting for the worker to start")
    assert monitor.progress(record("queued")) == (0.0, "queued")


def test_progress_says_what_the_worker_does_before_and_after_its_epochs():
    """From the first second: the scheduler claims a run as "starting", the worker moves on."""
    assert monitor.progress(record("running", phase="starting")) == (0.0, "starting TensorFlow...")
    assert monitor.progress(record("running", phase="loading"))[1] == "loading the 70,000 digits..."
    assert monitor.progress(record("running", phase="compiling"))[1] == "building and compiling the model..."
    done = record("running", {"epochs": 4, "epochs_completed": 4}, phase="evaluating")
    assert monitor.progress(done) == (1.0, "evaluating on the 10,000 test digits...")
    training = record(
        "running", {"epoch": 1, "epochs": 4, "batch": 0, "batches_per_epoch": 100}, phase="training"
    )
    assert monitor.progress(training)[1].startswith("epoch 1/4 · batch 0/100")


def test_runs_table_rows():
    table = monitor.runs_table(
        [record("finished", {"epochs_completed": 4}, test_accuracy=0.98765, device="CPU (2 cores)")]
    )
    row = table.iloc[0]
    assert (row["name"], row["state"], row["epochs"], row["test accuracy"]) == (
        "demo",
        "finished",
        "4/4",
        "98.77%",
    )
    assert row["model"] == "MLP 512-512"


def test_a_run_not_yet_tested_says_so_instead_of_none():
    table = monitor.runs_table([record("running"), record("stopped")])
    assert table["test accuracy"].tolist() == ["after training", "–"]


def test_worker_log_keeps_what_matters_to_a_user():
    log = "\n".join(
        [
            "2026-11-28 10:00:00.123456: I tensorflow/core/util/port.cc:153] oneDNN ops are on.",
            "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
            "E0000 00:00:1764324000.123 4242 cuda_executor.cc:1228] INTERNAL: CUDA Runtime error",
            "2026-11-28 10:00:01.5: E external/local_xla/xla/stream_executor/cuda/cuda_platform.cc:51] "
            "failed call to cuInit: INTERNAL: CUDA error: UNKNOWN ERROR (303)",
            "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow "
            "with the appropriate compiler flags.",
            "2026-11-28 10:00:02,004 INFO training 20261128-abc (MLP 512-512) on CPU (2 cores)",
            "Traceback (most recent call last):",
            "F0000 00:00:1764324000.5 4242 check.cc:10] Check failed: fatal, so it stays",
        ]
    )
    shown, hidden = monitor.user_log(log)
    assert hidden == 5
    assert "cuInit" not in shown and "absl" not in shown and "oneDNN" not in shown
    assert shown.splitlines() == [
        "2026-11-28 10:00:02,004 INFO training 20261128-abc (MLP 512-512) on CPU (2 cores)",
        "Traceback (most recent call last):",
        "F0000 00:00:1764324000.5 4242 check.cc:10] Check failed: fatal, so it stays",
    ]


def test_durations():
    assert monitor.format_duration(None) == "unknown"
    assert monitor.format_duration(9.6) == "10 s"
    assert monitor.format_duration(3725) == "1 h 02 min"


def test_training_curves_split_batches_and_validation():
    points = [
        {"kind": "batch", "epoch": 0.5, "loss": 0.9, "accuracy": 0.7},
        {"kind": "batch", "epoch": 1.0, "loss": 0.5, "accuracy": 0.85},
        {"kind": "epoch", "epoch": 1, "loss": 0.6, "accuracy": 0.8, "val_loss": 0.4, "val_accuracy": 0.9},
    ]
    figure = charts.training_curves({"run a": points, "run b": points[:1]})
    by_name = {(trace.name, trace.xaxis): trace for trace in figure.data}
    assert list(by_name[("run a (train)", "x")].y) == [0.9, 0.5]
    assert list(by_name[("run a (validation)", "x2")].y) == [0.9]
    assert list(by_name[("run b (validation)", "x")].x) == []
    assert len(figure.data) == 8
