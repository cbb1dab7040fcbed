"""Issue 19, finding 1: a .keras whose directory lies about a member's size is refused by what the
member really inflates to, in bounded memory, before Keras sees it; the import job runs under a
resident-memory cap, and a job stopped for memory is not started again."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path

import pytest

from core.queue import imports as importer
from core.queue import jobs, scheduler
from core.runs import layout, registry
from tests.forged_archives import deflated, forged_keras, zip_of

SHIPPED_MODEL = layout.PROJECT_ROOT / "models" / "fast-cnn" / "model.keras"


pytestmark = pytest.mark.usefixtures("runs_dir", "job_processes")


def declared_sizes(data: bytes) -> dict[str, int]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {member.filename: member.file_size for member in archive.infolist()}


def test_the_forged_zip_of_the_issue_is_refused_in_the_server_in_bounded_memory():
    """1.5 GB of zeros declared as 900,000 bytes, in both headers: the check inflates at most its
    budget (150 MB here), slice by slice, and says why it refuses."""
    forged = forged_keras(SHIPPED_MODEL.read_bytes(), weights_megabytes=1500, declared=900_000)
    assert len(forged) < 2_000_000 and declared_sizes(forged)["model.weights.h5"] == 900_000
    code = (
        "import resource, sys; from pathlib import Path; from core.queue import imports as importer\n"
        "data = Path(sys.argv[1]).read_bytes(); before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n    importer.check_archive(data, 'forged.keras')\nexcept importer.ImportRefused as error:\n"
        "    print(error)\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)\n"
    )
    upload = layout.runs_dir().parent / "forged.keras"
    upload.write_bytes(forged)
    output = subprocess.run(
        [sys.executable, "-c", code, str(upload)], cwd=layout.PROJECT_ROOT, capture_output=True, text=True
    ).stdout.splitlines()
    assert output[0].startswith("forged.keras is refused: one of its parts unpacks to over 100 times")
    assert int(output[1]) < 20  # MB the check added to the process's peak.
    with pytest.raises(importer.ImportRefused, match="unpacks to over 100 times its packed size"):
        importer.request_import(forged, "forged.keras")
    assert jobs.all_jobs() == []


def test_a_member_larger_than_declared_within_the_ratio_is_refused_as_forged():
    """Random bytes do not compress: the ratio bound passes, the real size gives the lie away."""
    good = SHIPPED_MODEL.read_bytes()
    with zipfile.ZipFile(io.BytesIO(good)) as archive:
        members = [(name, archive.read(name)) for name in archive.namelist()]
    noise = os.urandom(3_000_000)
    parts = [(name, deflated(content), zlib.crc32(content), len(content)) for name, content in members]
    parts[-1] = ("model.weights.h5", deflated(noise), zlib.crc32(noise), 900_000)
    with pytest.raises(importer.ImportRefused, match="does not unpack to the size the archive declares"):
        importer.check_archive(zip_of(parts), "forged.keras")


def test_a_member_whose_data_was_changed_is_damaged():
    good = SHIPPED_MODEL.read_bytes()
    with zipfile.ZipFile(io.BytesIO(good)) as archive:
        members = [(name, archive.read(name)) for name in archive.namelist()]
    parts = [(name, deflated(content), zlib.crc32(content), len(content)) for name, content in members]
    name, _, crc, size = parts[-1]
    parts[-1] = (name, deflated(os.urandom(size)), crc, size)  # Same size, other bytes: the CRC differs.
    with pytest.raises(importer.ImportRefused, match="not a Keras model file, or it is damaged"):
        importer.check_archive(zip_of(parts), "changed.keras")
    truncated = parts[:-1] + [(name, deflated(os.urandom(size))[:-20], crc, size)]
    with pytest.raises(importer.ImportRefused, match="not a Keras model file, or it is damaged"):
        importer.check_archive(zip_of(truncated), "truncated.keras")


def test_honest_archives_still_pass():
    assert importer.check_archive(SHIPPED_MODEL.read_bytes(), "fast-cnn.keras")["class_name"]
    stored = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(SHIPPED_MODEL.read_bytes())) as source,
        zipfile.ZipFile(stored, "w") as copy,
    ):
        for name in source.namelist():
            copy.writestr(name, source.read(name))  # ZIP_STORED: no compression.
    assert importer.check_archive(stored.getvalue(), "stored.keras")["class_name"]


def peak_resident_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    return next(
        (int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmHWM:")), 0.0
    )


def wait_for_end(kind: str, target: str, seconds: float = 120) -> tuple[dict, float]:
    """The ended job, and the highest peak resident memory its process was seen at."""
    deadline, peak = time.monotonic() + seconds, 0.0
    while time.monotonic() < deadline:
        scheduler.tick()
        job = jobs.read(kind, target)
        if job["state"] in (jobs.DONE, jobs.FAILED):
            return job, peak
        if job.get("pid"):
            peak = max(peak, peak_resident_mb(job["pid"]))
        time.sleep(0.1)
    raise AssertionError(f"{kind} job {target} did not end: {jobs.read(kind, target)}")


@pytest.mark.slow
def test_a_normal_import_passes_under_the_import_jobs_memory_cap(monkeypatch):
    monkeypatch.setenv("MNIST_DATA_DIR", str(layout.PROJECT_ROOT / ".cache" / "mnist"))
    assert jobs.resident_limit_mb("import") == jobs.IMPORT_RESIDENT_MB == 700
    target = importer.request_import(SHIPPED_MODEL.read_bytes(), "fast-cnn.keras")
    job, peak_mb = wait_for_end("import", target)
    assert job["state"] == jobs.DONE and job["result"]["test_accuracy"] > 0.98
    assert peak_mb > 500  # TensorFlow was loaded (VmHWM, its libraries included), under the cap.


@pytest.mark.slow
def test_an_import_past_its_memory_cap_fails_with_a_message_and_is_not_started_again(monkeypatch):
    """A cap below TensorFlow's own footprint stands in for a model that needs too much memory."""
    monkeypatch.setenv("MNIST_IMPORT_RESIDENT_MB", "250")
    target = importer.request_import(SHIPPED_MODEL.read_bytes(), "fast-cnn.keras")
    job, _ = wait_for_end("import", target)
    assert job["state"] == jobs.FAILED and job["attempts"] == 1 and job["killed"] == 0
    assert job["error"] == (
        "The job needed more than 250 MB of memory, the most this server allows it, so it was stopped."
    )
    jobs.reap_dead(jobs.all_jobs())
    scheduler.tick()
    assert jobs.read("import", target)["state"] == jobs.FAILED and not registry.list_runs(
        include_shipped=False
    )


def test_a_malformed_cap_falls_back_to_the_kinds_own(monkeypatch):
    monkeypatch.setenv("MNIST_IMPORT_RESIDENT_MB", "lots")
    assert jobs.resident_limit_mb("import") == jobs.IMPORT_RESIDENT_MB
    assert jobs.resident_limit_mb("evaluate") == 0 and jobs.watch_resident_memory("evaluate", "x") is None
    assert 0 < jobs.resident_bytes() < 100 * 1024**3
    assert Path("/proc/self/status").exists()
