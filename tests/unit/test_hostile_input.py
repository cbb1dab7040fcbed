"""Hostile input (issue 10): every payload is refused or shown as broken with a clear message, no
traceback or server path, and nothing else changes: no run, job, upload or temporary file appears,
and no file that was there is altered."""

from __future__ import annotations

import errno
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from core.jobs import runner as job_main
from core.networks.config import ModelConfig
from core.queue import imports as importer
from core.queue import jobs, model_jobs, model_states, scheduler
from core.runs import atomic_files, compare, layout, reconcile, registry, run_results
from core.serving import prediction
from core.serving.inference import ModelLoadError

REAL_TICK = scheduler.tick  # The fixture replaces it, so that requests start no job process.
PROJECT = Path(__file__).resolve().parents[2]
MB = 1_000_000
SHIPPED_MODEL = layout.SHIPPED_MODELS_DIR / "fast-cnn" / layout.MODEL_FILE


pytestmark = pytest.mark.usefixtures("runs_dir", "jobs_stay_queued")


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` (hidden ones too, empty lock files aside) and its content: what
    "nothing changed" compares."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.name.endswith(".lock")
    }


def a_run(name: str = "mine") -> registry.RunRecord:
    return registry.create_run(ModelConfig(epochs=1), name)


# --- Model archives ---------------------------------------------------------------------------


def streamed_zip(members: dict[str, tuple[bytes, int]]) -> bytes:
    """A deflated zip whose members are `chunk` repeated `count` times, built without holding them."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, (chunk, count) in members.items():
            with archive.open(name, "w") as member:
                for _ in range(count):
                    member.write(chunk)
    return buffer.getvalue()


def forged_size(archive: bytes, name: str, declared: int) -> bytes:
    """`archive` with `name`'s uncompressed size in the central directory replaced by `declared`."""
    entry = archive.find(b"PK\x01\x02")
    while archive[entry + 46 : entry + 46 + len(name)] != name.encode():
        entry = archive.find(b"PK\x01\x02", entry + 4)
    return archive[: entry + 24] + declared.to_bytes(4, "little") + archive[entry + 28 :]


def config_only(text: bytes) -> bytes:
    return streamed_zip({"config.json": (text, 1)})


def assert_refused_in_the_server(data: bytes, message: str) -> None:
    before = snapshot(layout.runs_dir())
    with pytest.raises(importer.ImportRefused, match=message) as refused:
        importer.request_import(data, "upload.keras")
    assert str(PROJECT) not in str(refused.value) and str(layout.runs_dir()) not in str(refused.value)
    assert snapshot(layout.runs_dir()) == before
    assert jobs.all_jobs() == []


@pytest.mark.parametrize(
    "make, message",
    [
        # 1 GB of config inflating from 1 MB: refused from the central directory alone.
        (lambda: streamed_zip({"config.json": (b" " * 2**20, 1024)}), "far larger than any digit"),
        # The same bomb claiming 100 bytes: inflated with a budget, whatever the directory says.
        (
            lambda: forged_size(streamed_zip({"config.json": (b" " * 2**20, 64)}), "config.json", 100),
            "unpacks to over 100 times its packed size",
        ),
        # 200 MB+ of weights in total.
        (
            lambda: streamed_zip({"config.json": (b"{}", 1), "model.weights.h5": (os.urandom(2**20), 201)}),
            "far larger than any digit classifier's model file once unpacked",
        ),
        # 50 MB of zeros in 50 KB: no real weights compress 1000:1.
        (
            lambda: streamed_zip({"config.json": (b"{}", 1), "model.weights.h5": (b"\0" * 2**20, 50)}),
            "unpacks to over 100 times its packed size",
        ),
        (
            lambda: streamed_zip({"config.json": (b"{}", 1), **{f"a{i}": (b"", 1) for i in range(200)}}),
            "holds 201 files",
        ),
        (lambda: config_only(b"[" * 100_000), "nested more than 64 levels"),
        (lambda: config_only(b'{"class_name": "Sequential", "config": ' * 65 + b"1" + b"}" * 65), "nested"),
    ],
    ids=["zip-bomb", "forged-size", "archive-size", "ratio", "members", "brackets", "deep-objects"],
)
def test_hostile_archives_are_refused_in_the_server(make, message):
    assert_refused_in_the_server(make(), message)


def test_brackets_inside_strings_do_not_count_as_nesting():
    name = "[" * 1000 + '\\"{' * 1000
    config = json.dumps({"class_name": "Sequential", "config": {"name": name, "layers": []}})
    assert importer.check_archive(config_only(config.encode()), "x.keras")["config"]["name"] == name


def test_the_shipped_model_passes_the_static_checks():
    assert importer.check_archive(SHIPPED_MODEL.read_bytes(), "fast-cnn.keras")["class_name"]


def test_a_garbage_model_file_is_damaged_and_its_path_is_not_shown(tmp_path):
    from core.jobs.convert import load_keras_model

    (tmp_path / "model.keras").write_bytes(os.urandom(5000))
    with pytest.raises(ModelLoadError) as refused:
        load_keras_model(tmp_path / "model.keras")
    assert "model.keras is damaged" in str(refused.value) and str(tmp_path) not in str(refused.value)


def test_job_errors_never_show_server_paths():
    error = OSError(f"Unable to open file (name = '{PROJECT}/runs/x/model.weights.h5', errno = 2)")
    assert (
        job_main.describe_error(error)
        == "OSError: Unable to open file (name = 'model.weights.h5', errno = 2)"
    )
    assert job_main.describe_error(ValueError("scale 1/255 from https://keras.io/api")).endswith(
        "scale 1/255 from https://keras.io/api"
    )


def test_a_job_over_its_memory_cap_fails_with_a_message():
    """The cap is real (an allocation past it fails in the job process) and the failure reads well."""
    code = (
        "from core.jobs import runner\n"
        "runner.limit_memory()\n"
        "try:\n    bytearray(600 * 2**20)\nexcept MemoryError as error:\n"
        "    print(runner.describe_error(error))\n"
    )
    env = {**os.environ, "MNIST_JOB_MEMORY_MB": "300"}
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, env=env, capture_output=True, text=True)
    assert done.stdout.strip() == (
        "The job ran out of memory: it may use at most 300 MB on this server, and this model needs more."
    )


# --- Images -----------------------------------------------------------------------------------


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


PEAK_CHILD = """
import sys
from pathlib import Path
from core.data import uploads
from core.serving import prediction
data = Path(sys.argv[1]).read_bytes()
def peak():
    lines = Path("/proc/self/status").read_text().splitlines()
    return next(int(line.split()[1]) for line in lines if line.startswith("VmHWM"))
before = peak()
try:
    prediction.preprocess_upload(data, 10 * 2**20)
    outcome = "accepted"
except uploads.ImageError as error:
    outcome = str(error)
print((peak() - before) // 1024, outcome, sep="\\t")
"""


@pytest.mark.parametrize(
    "image, outcome",
    [
        (Image.new("RGBA", (7000, 7000)), "This image has too many pixels (7,000 x 7,000)"),
        (Image.new("RGBA", (2828, 2828)), "accepted"),  # The largest RGBA accepted: reduced at once.
    ],
    ids=["7000x7000-rgba", "largest-rgba"],
)
def test_a_big_rgba_png_costs_under_100_mb(tmp_path, image, outcome):
    (tmp_path / "upload.png").write_bytes(png(image))
    done = subprocess.run(
        [sys.executable, "-c", PEAK_CHILD, str(tmp_path / "upload.png")],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=True,
    )
    increase, said = done.stdout.strip().split("\t")
    assert said.startswith(outcome)
    assert int(increase) < 100


def test_a_large_upload_is_reduced_right_after_decoding():
    image = prediction.decode_upload(
        png(Image.new("RGB", (4000, 3000))), 10 * MB, prediction.MAX_UPLOAD_PIXELS
    )
    assert image.size == (1334, 1000)  # 4000 / 3, rounded up: never below the working size.


def test_an_upload_is_decoded_only_while_it_holds_one_of_the_slots(monkeypatch):
    held = []

    def decode(data, max_bytes, max_pixels):
        held.append(prediction._decoding.acquire(blocking=False))  # The other slot is the test's.
        return Image.new("L", (28, 28))

    monkeypatch.setattr(prediction, "decode_upload", decode)
    assert prediction.DECODES_AT_ONCE == 2
    with prediction._decoding:
        prediction.preprocess_upload(b"image", 10 * MB)
    assert held == [False]
    assert prediction._decoding.acquire(blocking=False) and prediction._decoding.acquire(blocking=False)
    prediction._decoding.release()
    prediction._decoding.release()


# --- Corrupt run files --------------------------------------------------------------------------


def test_non_utf8_metrics_lines_are_skipped_not_fatal():
    run = a_run()
    good = b'{"kind": "epoch", "val_accuracy": 0.9, "time": 3.0}\n'
    (run.path / layout.METRICS_FILE).write_bytes(
        good + b"\xff\xfe\x00 not text\n" + b"[" * 100_000 + b"\n" + good
    )
    metrics = run_results.read_metrics(run)
    assert len(metrics) == 2
    assert compare.metrics_summary(metrics)["best_val_accuracy"] == 0.9


@pytest.mark.parametrize(
    "status",
    [
        {"state": "finished", "created": 5},
        {"state": 7},
        {"state": ["finished"]},
        [1, 2, 3],
        "finished",
        {"state": "running", "pid": "12", "progress": {"epoch": 2}},
        {"state": "running", "progress": [1]},
        {"state": "running", "progress": {"epoch": "two"}},
        {"state": "finished", "test_accuracy": "high"},
    ],
    ids=[
        "created-int",
        "state-int",
        "state-list",
        "list",
        "string",
        "pid",
        "progress-list",
        "epoch",
        "accuracy",
    ],
)
def test_a_wrong_typed_status_is_a_broken_run_everywhere(status, monkeypatch):
    healthy, damaged = a_run("healthy"), a_run("damaged")
    (damaged.path / layout.STATUS_FILE).write_text(json.dumps(status))
    jobs.request("evaluate", damaged.id, stamp=1)  # So the scheduler's tick reads every run.
    before = snapshot(layout.runs_dir())
    listed = {run.id: run for run in reconcile.reconcile_all(include_shipped=True)}
    assert listed[damaged.id].state == layout.BROKEN and "status.json" in listed[damaged.id].broken
    assert listed[healthy.id].state == "queued"
    assert damaged.id not in {run.id for run in compare.comparable_runs(list(listed.values()))}
    assert model_states.state("evaluate", listed[damaged.id]) == model_states.UNAVAILABLE
    assert compare.leaderboard_row(listed[damaged.id], {}, {"loss": "x"})["status"] == layout.BROKEN
    started = []
    monkeypatch.setattr(scheduler, "_start_job", lambda job: started.append(job["target"]))
    REAL_TICK()  # The scheduler lists every run, reaps and starts jobs without raising.
    assert started == [damaged.id]
    assert snapshot(layout.runs_dir()) == before


def test_a_deeply_nested_status_is_a_broken_run():
    run = a_run()
    (run.path / layout.STATUS_FILE).write_text("[" * 100_000)
    assert "nested too deeply" in registry.open_run(run.path).broken


def test_a_name_or_notes_of_the_wrong_type_read_as_empty():
    run = a_run()
    (run.path / layout.META_FILE).write_text(json.dumps({"name": 5, "notes": ["x"]}))
    run = registry.reload(run)
    assert run.name == run.id and run.notes == ""


# --- A full disk ----------------------------------------------------------------------------------


@pytest.fixture
def full_disk(monkeypatch):
    """Every file write fails as on a full disk, after writing part of its data, as a real one does."""

    def write(path: Path, data, *args, **kwargs):
        with open(path, "wb" if isinstance(data, bytes) else "w") as handle:
            handle.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(Path, "write_text", write)
    monkeypatch.setattr(Path, "write_bytes", write)


def disk_is_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def no_temporary_files(root: Path) -> bool:
    return not [path for path in root.rglob("*") if ".tmp" in path.name or path.name.startswith(".creating-")]


def test_a_full_disk_leaves_the_old_file_whole(tmp_path, full_disk):
    target = tmp_path / "record.json"
    with open(target, "w") as handle:
        handle.write('{"old": true}')
    with pytest.raises(atomic_files.DiskFullError) as full:
        atomic_files.write_json(target, {"new": True})
    assert str(full.value).startswith("The disk is full: a record of the dashboard's could not be saved.")
    assert full.value.errno == errno.ENOSPC and str(tmp_path) not in str(full.value)
    assert atomic_files.read_json(target) == {"old": True} and no_temporary_files(tmp_path)


def test_a_full_disk_creates_no_run(full_disk):
    before = snapshot(layout.runs_dir())
    with pytest.raises(atomic_files.DiskFullError, match="The disk is full: the new run could not be saved"):
        a_run()
    assert snapshot(layout.runs_dir()) == before and no_temporary_files(layout.runs_dir())


def test_a_full_disk_on_rename_and_notes_is_a_message_for_the_page(monkeypatch):
    run = a_run("before")
    before = snapshot(layout.runs_dir())

    monkeypatch.setattr(Path, "write_text", disk_is_full)
    with pytest.raises(
        layout.RegistryError, match="The disk is full: the run's name and notes could not be saved"
    ):
        registry.rename_run(run, "after")
    with pytest.raises(layout.RegistryError, match="The disk is full"):
        registry.set_notes(run, "notes")
    assert snapshot(layout.runs_dir()) == before and registry.reload(run).name == "before"


def test_a_full_disk_refuses_an_import_and_keeps_nothing(full_disk):
    before = snapshot(layout.runs_dir())
    with pytest.raises(importer.ImportRefused, match="upload.keras could not be imported. The disk is full"):
        importer.request_import(SHIPPED_MODEL.read_bytes(), "upload.keras")
    assert snapshot(layout.runs_dir()) == before and jobs.all_jobs() == []


def test_a_full_disk_on_an_evaluation_request_is_a_message(monkeypatch):
    run = registry.create_run(
        ModelConfig(epochs=1),
        "finished",
        status_changes={"state": "finished"},
        add_files=lambda folder: (folder / layout.MODEL_FILE).write_bytes(SHIPPED_MODEL.read_bytes()),
    )
    before = snapshot(layout.runs_dir())
    monkeypatch.setattr(Path, "write_text", disk_is_full)
    with pytest.raises(atomic_files.DiskFullError, match="The disk is full"):
        model_jobs.request("evaluate", run)
    assert snapshot(layout.runs_dir()) == before


def test_a_job_failing_on_a_full_disk_is_recorded_and_not_started_again(monkeypatch):
    """The body fails for a full disk, and so does the atomic write of its failure: the record is
    rewritten in place, so the scheduler never takes the job for killed and starts it again."""
    run = a_run()
    stamp = 12345
    jobs.request("evaluate", run.id, stamp=stamp)
    job = jobs.read("evaluate", run.id)
    atomic_files.write_json(
        jobs.job_path("evaluate", run.id), {**job, "state": jobs.RUNNING, "pid": os.getpid()}
    )

    def body(target):
        raise OSError(errno.ENOSPC, "No space left on device", "/somewhere/predictions.npz")

    with monkeypatch.context() as patched:
        patched.setattr(job_main, "body", lambda kind: body)
        patched.setattr(Path, "write_text", disk_is_full)
        assert job_main.run_job("evaluate", run.id) == 1
    failed = jobs.read("evaluate", run.id)
    assert failed["state"] == jobs.FAILED and failed["stamp"] == stamp
    assert failed["error"].startswith("The disk is full: the job's results could not be saved.")
    assert "/somewhere" not in failed["error"]
    assert jobs.request("evaluate", run.id, stamp=stamp)["state"] == jobs.FAILED  # Not queued again.
    jobs.reap_dead(jobs.all_jobs())
    assert jobs.read("evaluate", run.id)["state"] == jobs.FAILED
    assert no_temporary_files(layout.runs_dir())
