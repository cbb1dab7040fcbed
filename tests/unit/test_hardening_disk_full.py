"""Issue 19, finding 6: a full disk's messages say what was lost in the user's words, never the
name of an internal file (a job's record, an upload's token)."""

from __future__ import annotations

import errno
import re
from pathlib import Path

import pytest

from core.jobs import model_bodies
from core.networks.config import ModelConfig
from core.queue import imports as importer
from core.queue import jobs
from core.runs import atomic_files, layout, registry

SHIPPED_MODEL = layout.PROJECT_ROOT / "models" / "fast-cnn" / "model.keras"
# A job record's name (robustness--<id>.json), a token's upload (<hex>.keras), any file name.
INTERNAL_NAME = re.compile(r"--|[0-9a-f]{8,}|\.(json|keras|npz|tflite)\b")


pytestmark = pytest.mark.usefixtures("runs_dir", "jobs_stay_queued")


def disk_is_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def assert_plain(message: str) -> None:
    assert message.startswith("The disk is full: ")
    assert not INTERNAL_NAME.search(message), message


def test_a_job_request_on_a_full_disk_names_the_work_not_its_record(monkeypatch):
    run = registry.create_run(ModelConfig(epochs=1), "scored", status_changes={"state": "finished"})
    monkeypatch.setattr(Path, "write_text", disk_is_full)
    with pytest.raises(atomic_files.DiskFullError) as full:
        jobs.request("robustness", run.id)
    assert str(full.value) == (
        "The disk is full: the request for scoring on the robustness suites could not be saved. "
        "Free some space (delete old runs) and try again."
    )
    assert_plain(str(full.value))
    assert run.id not in str(full.value)


def test_an_upload_on_a_full_disk_is_the_uploaded_model(monkeypatch):
    monkeypatch.setattr(Path, "write_bytes", disk_is_full)
    with pytest.raises(importer.ImportRefused) as refused:
        importer.request_import(SHIPPED_MODEL.read_bytes(), "mine.keras")
    message = str(refused.value)
    assert message.startswith("mine.keras could not be imported. The disk is full: the uploaded model could")
    assert_plain(message.removeprefix("mine.keras could not be imported. "))


def test_run_files_on_a_full_disk_are_named_by_what_they_hold(monkeypatch):
    run = registry.create_run(ModelConfig(epochs=1), "mine")
    monkeypatch.setattr(Path, "write_text", disk_is_full)
    with pytest.raises(atomic_files.DiskFullError) as full:
        registry.update_status(run, {"phase": "x"})
    assert str(full.value).startswith("The disk is full: the run's state could not be saved.")
    with pytest.raises(layout.RegistryError) as renamed:
        registry.rename_run(run, "new")
    assert_plain(str(renamed.value))
    for name in ("predictions.npz", "model.tflite", "checkpoint.keras", "robustness.json", "other.bin"):
        with pytest.raises(atomic_files.DiskFullError) as full:
            with atomic_files.atomic_path(run.path / name):
                disk_is_full()
        assert_plain(str(full.value))


def test_the_robustness_scores_on_a_full_disk(monkeypatch):
    run = registry.create_run(ModelConfig(epochs=1), "scored", status_changes={"state": "finished"})
    monkeypatch.setattr(model_bodies.inference, "lite_is_fresh", lambda path: True)
    monkeypatch.setattr(model_bodies, "robustness_record", lambda path: {"scores": {"clean": 0.99}})
    monkeypatch.setattr(Path, "write_text", disk_is_full)
    with pytest.raises(atomic_files.DiskFullError) as full:
        model_bodies.robustness_job(run.id)
    assert str(full.value).startswith("The disk is full: the robustness scores could not be saved.")
