"""The runs folder: atomic files, damaged folders, shipped models, stop and death detection."""

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from core.networks.config import ModelConfig
from core.networks.families.base import DenseLayer
from core.networks.families.mlp import MLP
from core.runs import atomic_files, layout, processes, reconcile, registry, run_results
from core.runs.layout import RegistryError

CONFIG = ModelConfig(
    network=MLP(hidden_layers=(DenseLayer(32),)), epochs=2, train_limit=2000, validation_size=1000
)


pytestmark = pytest.mark.usefixtures("runs_dir")


@pytest.fixture(autouse=True)
def shipped_models(tmp_path, monkeypatch):
    """The shipped models' folder, empty unless a test puts one there: not the project's own."""
    monkeypatch.setattr(registry, "SHIPPED_MODELS_DIR", tmp_path / "models")


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_create_run_writes_a_complete_queued_folder(runs_dir):
    run = registry.create_run(CONFIG, "first try")
    assert run.path.parent == runs_dir
    assert run.state == "queued" and run.name == "first try" and not run.broken
    assert run.config == CONFIG
    files = {p.name for p in run.path.iterdir()}
    assert files >= {"config.json", "status.json", "meta.json", "metrics.jsonl"}
    assert registry.reload(run) == run


def test_run_ids_are_unique_and_time_sortable_under_concurrency():
    ids, barrier = [], threading.Barrier(8)

    def create():
        barrier.wait()
        for _ in range(5):
            ids.append(registry.create_run(CONFIG).id)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(ids)) == 40
    assert all(len(run_id.split("-")) == 3 for run_id in ids)
    listed = registry.list_runs()
    assert [run.created for run in listed] == sorted((run.created for run in listed), reverse=True)


def test_json_write_is_atomic(tmp_path, monkeypatch):
    folder = tmp_path / "records"
    folder.mkdir()
    path = folder / "status.json"
    atomic_files.write_json(path, {"state": "queued"})

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(type(path), "write_text", fail)
    with pytest.raises(OSError):
        atomic_files.write_json(path, {"state": "running"})
    assert json.loads(path.read_text()) == {"state": "queued"}
    assert [p.name for p in folder.iterdir()] == ["status.json"]


def test_non_finite_numbers_are_written_as_null(tmp_path):
    atomic_files.write_json(tmp_path / "x.json", {"loss": float("nan"), "values": [float("inf"), 1.0]})
    assert json.loads((tmp_path / "x.json").read_text()) == {"loss": None, "values": [None, 1.0]}


def test_torn_last_metrics_line_is_ignored():
    run = registry.create_run(CONFIG)
    records = [{"kind": "batch", "epoch": 0.5}, {"kind": "epoch", "epoch": 1}]
    run_results.append_metrics(run, records)
    with open(run.path / layout.METRICS_FILE, "a") as handle:
        handle.write('{"kind": "batch", "epo')
    assert run_results.read_metrics(run) == records


def test_damaged_folders_are_listed_as_broken_without_raising(runs_dir):
    good = registry.create_run(CONFIG)
    (runs_dir / "20200101-000000-aaaaaa").mkdir()
    bad_json = runs_dir / "20200101-000000-bbbbbb"
    bad_json.mkdir()
    (bad_json / "config.json").write_text(json.dumps(CONFIG.to_dict()))
    (bad_json / "status.json").write_text('{"state": "runn')
    (runs_dir / ".creating-half-made").mkdir()  # In creation: not a run yet.

    runs = {run.id: run for run in registry.list_runs()}
    assert set(runs) == {good.id, "20200101-000000-aaaaaa", "20200101-000000-bbbbbb"}
    assert runs["20200101-000000-aaaaaa"].broken == "config.json is missing"
    assert "status.json is unreadable" in runs["20200101-000000-bbbbbb"].broken
    assert runs["20200101-000000-bbbbbb"].state == "broken"
    registry.delete_run(runs["20200101-000000-bbbbbb"])
    assert not bad_json.exists()


def test_shipped_models_are_listed_read_only(tmp_path):
    shipped = tmp_path / "models" / "seed-mlp"
    shipped.mkdir(parents=True)
    (shipped / "config.json").write_text(json.dumps(CONFIG.to_dict()))
    (shipped / "model.keras").write_bytes(b"stand-in")
    run = registry.create_run(CONFIG)

    listed = registry.list_runs()
    assert [r.id for r in listed] == [run.id, "seed-mlp"]
    model = listed[1]
    assert model.shipped and model.read_only and model.state == "finished"
    assert run_results.usable_model_path(model) == shipped / "model.keras"
    assert [r.id for r in registry.list_runs(include_shipped=False)] == [run.id]
    changes = (registry.delete_run, registry.request_stop, lambda r: registry.rename_run(r, "x"))
    for change in changes:
        with pytest.raises(RegistryError, match="shipped"):
            change(model)
    assert shipped.is_dir()


def test_rename_and_notes():
    run = registry.create_run(CONFIG)
    run = registry.rename_run(run, "  wide MLP ")
    run = registry.set_notes(run, "dropout 0.2")
    assert (run.name, run.notes) == ("wide MLP", "dropout 0.2")


def test_usable_model_prefers_final_model_over_checkpoint():
    run = registry.create_run(CONFIG)
    assert run_results.usable_model_path(run) is None
    (run.path / "checkpoint.keras").write_bytes(b"")
    assert run_results.usable_model_path(run).name == "checkpoint.keras"
    (run.path / "model.keras").write_bytes(b"")
    assert run_results.usable_model_path(run).name == "model.keras"


def test_stopping_a_queued_run_cancels_it_at_once():
    run = registry.request_stop(registry.create_run(CONFIG))
    assert run.state == "stopped" and run.status["stop_reason"] == "cancelled"
    assert run.stop_requested


def test_stopping_a_running_run_marks_it_stopping():
    run = registry.create_run(CONFIG, start_now=True)
    run = registry.request_stop(run)
    assert run.state == "stopping" and run.stop_requested


def test_deleting_a_live_run_is_refused():
    run = registry.create_run(CONFIG, start_now=True)  # This test process is its live worker.
    with pytest.raises(RegistryError, match="still training"):
        registry.delete_run(run)
    queued = registry.create_run(CONFIG)
    registry.delete_run(queued)
    assert [r.id for r in registry.list_runs()] == [run.id]


def test_update_status_is_compare_and_set():
    run = registry.create_run(CONFIG)
    assert registry.update_status(run, {"state": "running"}, only_if=("queued",)) is not None
    assert registry.update_status(run, {"state": "running"}, only_if=("queued",)) is None
    registry.update_status(run, {"progress": {"epoch": 2}})
    progress = registry.reload(run).progress
    assert progress["epoch"] == 2 and progress["epochs"] == CONFIG.epochs


def test_reconcile_fails_a_run_whose_worker_died():
    run = registry.create_run(CONFIG)
    worker = processes.process_identity(dead_pid())
    registry.update_status(run, {"state": "running", "phase": "training", "progress": {"epoch": 3}, **worker})
    (run.path / "checkpoint.keras").write_bytes(b"")
    run = reconcile.reconcile(registry.reload(run))
    assert run.state == "failed"
    assert run.status["error"] == (
        "worker process died (killed or out of memory) during epoch 3; "
        "the last completed epoch's weights are kept"
    )


def test_reconcile_detects_a_zombie_and_a_reused_pid():
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    identity = processes.process_identity(zombie.pid)
    while processes.process_start_ticks(zombie.pid) is not None:
        time.sleep(0.01)  # Exits within a moment; never waited for, so it stays a zombie.
    run = registry.create_run(CONFIG)
    registry.update_status(run, {"state": "running", **identity})
    assert reconcile.reconcile(registry.reload(run)).state == "failed"
    zombie.wait()

    reused = registry.create_run(CONFIG, start_now=True)
    registry.update_status(reused, {"pid_start": reused.status["pid_start"] - 1})
    assert reconcile.reconcile(registry.reload(reused)).state == "failed"


def test_reconcile_leaves_a_live_worker_alone():
    run = registry.create_run(CONFIG, start_now=True)
    assert reconcile.reconcile(run).state == "running"
    assert os.getpid() == run.status["pid"]


def test_read_log_returns_the_end_of_the_log():
    run = registry.create_run(CONFIG)
    assert run_results.read_log(run) == ""
    (run.path / layout.LOG_FILE).write_text("start\n" + "x" * 100 + "\nTraceback: boom\n")
    assert run_results.read_log(run, max_chars=16) == "Traceback: boom\n"
