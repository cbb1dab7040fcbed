"""Leaderboard rows: what each column shows for trained, imported, shipped and untested runs."""

from pathlib import Path

from core.networks import architecture
from core.networks.config import PRESETS, ModelConfig
from core.runs import compare
from core.runs.registry import RunRecord

CNN = PRESETS["fast-cnn"].config


def record(run_id, config=CNN, meta=None, shipped=False, **status):
    status = {"state": "finished", "progress": {}, **status}
    return RunRecord(
        run_id, Path("/nonexistent") / run_id, config, status, meta or {"name": run_id}, shipped=shipped
    )


METRICS = [
    {"kind": "batch", "epoch": 0.5, "loss": 1.0, "time": 2.0},
    {"kind": "epoch", "epoch": 1, "val_accuracy": 0.97, "time": 4.5},
    {"kind": "epoch", "epoch": 2, "val_accuracy": 0.985, "time": 9.25},
    {"kind": "epoch", "epoch": 3, "val_accuracy": 0.98, "time": 13.0},
]


def test_metrics_summary():
    assert compare.metrics_summary(METRICS) == {
        "epochs_done": 3,
        "training_seconds": 13.0,
        "best_val_accuracy": 0.985,
    }
    assert compare.metrics_summary([]) == {
        "epochs_done": 0,
        "training_seconds": None,
        "best_val_accuracy": None,
    }


def test_trained_run_row_prefers_the_stored_evaluation():
    run = record("cnn", device="CPU (2 cores)", test_accuracy=0.5, test_loss=9.0)
    row = compare.leaderboard_row(
        run, compare.metrics_summary(METRICS), {"accuracy": 0.99123, "loss": 0.031234}
    )
    assert row == {
        "name": "cnn",
        "model": "CNN 16c5-32c3 / 128",
        "parameters": architecture.parameter_counts(CNN)[0],
        "epochs": "3/5",
        "training time (s)": 13.0,
        "device": "CPU (2 cores)",
        "best val accuracy (%)": 98.5,
        "test accuracy (%)": 99.12,
        "test loss": 0.0312,
        "status": "finished",
        "id": "cnn",
    }


def test_untested_run_uses_status_times_and_blanks():
    run = record(
        "mlp",
        ModelConfig(),
        state="stopped",
        started="2026-01-01T00:00:00+00:00",
        ended="2026-01-01T00:01:30+00:00",
    )
    row = compare.leaderboard_row(run, compare.metrics_summary([]), None)
    assert row["training time (s)"] == 90.0 and row["test accuracy (%)"] is None
    assert (row["epochs"], row["status"], row["model"]) == ("0/20", "stopped", "MLP 512-512")


def test_imported_and_shipped_rows():
    imported = record(
        "up",
        ModelConfig(epochs=1),
        meta={
            "name": "uploaded",
            "imported": {"architecture": "Sequential: Dense 32, Dense 10", "parameters": 25450},
        },
    )
    row = compare.leaderboard_row(imported, compare.metrics_summary([]), {"accuracy": 0.9, "loss": 0.3})
    assert (row["model"], row["parameters"], row["epochs"], row["status"]) == (
        "imported: Sequential: Dense 32, Dense 10",
        25450,
        "",
        "imported",
    )
    assert compare.run_label(imported) == "uploaded · imported: Sequential: Dense 32, Dense 10"
    shipped = record("first", shipped=True)
    assert compare.leaderboard_row(shipped, compare.metrics_summary([]), None)["status"] == "shipped"
    assert compare.run_label(shipped).endswith(" · shipped")


def test_leaderboard_sorts_best_first_untested_last():
    rows = [
        compare.leaderboard_row(record(name), {}, evaluation)
        for name, evaluation in [("b", {"accuracy": 0.9}), ("none", None), ("a", {"accuracy": 0.99})]
    ]
    assert compare.leaderboard(rows)["id"].tolist() == ["a", "b", "none"]
    assert list(compare.leaderboard([]).columns) == compare.LEADERBOARD_COLUMNS


def test_default_overlay_takes_the_best_run_of_each_architecture():
    rows = [
        compare.leaderboard_row(record(name, config), {}, {"accuracy": accuracy})
        for name, config, accuracy in [
            ("cnn-a", CNN, 0.993),
            ("cnn-b", CNN, 0.992),
            ("mlp", ModelConfig(), 0.983),
            ("mlp-untrained", ModelConfig(), 0.5),
        ]
    ]
    table = compare.leaderboard(rows)
    assert compare.best_per_model(table, ["cnn-a", "cnn-b", "mlp", "mlp-untrained"]) == ["cnn-a", "mlp"]
    assert compare.best_per_model(table, ["cnn-b", "mlp-untrained"]) == ["cnn-b", "mlp-untrained"]
    ranked = ["cnn-a", "cnn-b", "mlp", "mlp-untrained"]
    assert compare.overlay_selection(None, table, ranked) == ["cnn-a", "mlp"]
    assert compare.overlay_selection(["mlp-untrained", "gone"], table, ranked) == ["mlp-untrained"]
    assert compare.overlay_selection([], table, ranked) == []  # The user cleared it: it stays clear.
