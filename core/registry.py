"""The runs folder: one directory per training run, shared by the worker and every page.

Each run lives in `<runs>/<run-id>/` (see docs/ARCHITECTURE.md for the files). Several processes
read and write these folders at once (Streamlit sessions, the scheduler, training workers, the
CLI), so every JSON file is replaced atomically, and status and meta updates are
read-modify-write steps under a per-run `flock`. Readers never lock: they only ever see a whole
file. Models shipped with the project (`<project>/models/<id>/`) use the same layout and are listed
read-only.

Nothing here imports TensorFlow, so pages can use it freely.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import secrets
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from core.config import ModelConfig

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_MODELS_DIR = PROJECT_ROOT / "models"

CONFIG_FILE = "config.json"
STATUS_FILE = "status.json"
METRICS_FILE = "metrics.jsonl"
META_FILE = "meta.json"
LOG_FILE = "worker.log"
CHECKPOINT_FILE = "checkpoint.keras"
MODEL_FILE = "model.keras"
LITE_MODEL_FILE = "model.tflite"  # What the server predicts with, converted from the Keras file.
FIRST_LAYER_FILE = "first_layer.npz"
LITE_INFO_FILE = "lite.json"  # Which Keras file the LiteRT files were converted from.
EVALUATION_FILE = "evaluation.json"
PREDICTIONS_FILE = "predictions.npz"
STOP_FILE = "stop"
LOCK_FILE = ".lock"

STATES = ("queued", "running", "stopping", "stopped", "finished", "failed")
LIVE_STATES = ("running", "stopping")
ACTIVE_STATES = ("queued", *LIVE_STATES)
BROKEN = "broken"

# A run the scheduler has claimed but whose worker pid is not recorded yet is given this long
# before it counts as dead; spawning takes milliseconds, so this only matters after a crash.
CLAIM_GRACE_SECONDS = 60.0


class RegistryError(RuntimeError):
    """An operation the run's state does not allow; the message is meant for the user."""


@dataclass(frozen=True)
class RunRecord:
    """A snapshot of one run folder, as read from disk; `reload` reads it again.

    `status` is status.json (its fields are those of `initial_status`), `meta` is meta.json
    (name, notes), `shipped` marks a read-only model from `<project>/models`, and `broken` says
    why a folder could not be read (then `config` may be None and `status` empty).
    """

    id: str
    path: Path
    config: ModelConfig | None
    status: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    shipped: bool = False
    broken: str | None = None

    @property
    def state(self) -> str:
        """One of STATES, or "broken" for a folder that cannot be read."""
        return BROKEN if self.broken else self.status.get("state", BROKEN)

    @property
    def name(self) -> str:
        return self.meta.get("name") or self.id

    @property
    def description(self) -> str:
        """The architecture in one line; an imported model carries its own description."""
        imported = self.meta.get("imported")
        if isinstance(imported, dict):
            return f"imported: {imported.get('architecture', 'Keras model')}"
        return self.config.describe() if self.config else f"unreadable run ({self.broken})"

    @property
    def notes(self) -> str:
        return self.meta.get("notes", "")

    @property
    def read_only(self) -> bool:
        return self.shipped

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def is_live(self) -> bool:
        """A worker process should be training it right now."""
        return self.state in LIVE_STATES

    @property
    def created(self) -> str:
        return self.status.get("created") or ""

    @property
    def progress(self) -> dict[str, Any]:
        return self.status.get("progress") or {}

    @property
    def stop_requested(self) -> bool:
        return (self.path / STOP_FILE).exists()


def runs_dir() -> Path:
    """Where runs live: `$MNIST_RUNS_DIR`, else `<project>/runs`. Created on first use."""
    path = Path(os.environ.get("MNIST_RUNS_DIR") or PROJECT_ROOT / "runs")
    path.mkdir(parents=True, exist_ok=True)
    return path


def now_iso() -> str:
    """UTC time with microseconds: sorts as text and parses with `datetime.fromisoformat`."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _json_safe(value: Any) -> Any:
    """NaN and infinity become null: they are not JSON, and browsers reject them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    return value


@contextmanager
def atomic_path(path: Path, suffix: str = "") -> Iterator[Path]:
    """A temporary path beside `path` that replaces it only if the block completes.

    Same folder, so `os.replace` is a rename on one filesystem: readers see the old file or the
    new one, never a half-written one. `suffix` keeps extensions that writers insist on (Keras
    refuses to save a model to a name that does not end in ".keras").
    """
    handle, temp_name = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=path.parent
    )
    os.close(handle)
    try:
        yield Path(temp_name)
        os.chmod(temp_name, 0o644)  # mkstemp's 0600 would hide the file from other users.
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically."""
    text = json.dumps(_json_safe(data), indent=2)
    with atomic_path(path) as temp:
        temp.write_text(text + "\n", encoding="utf-8")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@contextmanager
def run_lock(path: Path) -> Iterator[None]:
    """Serialise read-modify-write updates of one run's status and meta across processes."""
    with open(path / LOCK_FILE, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _new_run_id() -> str:
    """UTC time first so ids sort by creation; random hex so concurrent creators never clash."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def initial_status(config: ModelConfig) -> dict[str, Any]:
    """The status of a run nobody has started: every field the worker later fills is present."""
    return {
        "state": "queued",
        "created": now_iso(),
        "started": None,
        "ended": None,
        "launcher": "scheduler",
        "pid": None,
        "pid_start": None,
        "host": None,
        "claimed": None,
        "device": None,
        "device_info": None,
        "error": None,
        "stop_reason": None,
        "phase": "queued",
        "progress": {
            "epoch": 0,
            "epochs": config.epochs,
            "epochs_completed": 0,
            "batch": 0,
            "batches_per_epoch": None,
            "samples_per_sec": None,
            "eta_seconds": None,
        },
        "versions": None,
        "git_commit": None,
        "seed": config.seed,
        "validation": None,
        "training_samples": None,
        "test_accuracy": None,
        "test_loss": None,
        "early_stopped": False,
    }


def process_start_ticks(pid: int) -> int | None:
    """When `pid` started (clock ticks since boot), or None if no such process.

    Recorded with the pid so a later check can tell our worker from an unrelated process that
    was given the same pid after the worker died.
    """
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may contain spaces and parentheses, so count fields after the last ')'.
    fields_after_name = text[text.rindex(")") + 2 :].split()
    if fields_after_name[0] in ("Z", "X"):
        return None  # A zombie has finished; only its exit status is waiting to be read.
    return int(fields_after_name[19])


def process_is_alive(pid: int, start_ticks: int | None) -> bool:
    if not Path("/proc").is_dir():  # Not Linux: whether the pid exists is all one can check.
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass  # It exists, under another user.
        return True
    actual = process_start_ticks(pid)
    return actual is not None and (start_ticks is None or actual == start_ticks)


def process_identity(pid: int | None = None) -> dict[str, Any]:
    """The status fields that let `reconcile` recognise this process later."""
    pid = os.getpid() if pid is None else pid
    return {"pid": pid, "pid_start": process_start_ticks(pid), "host": socket.gethostname()}


def create_run(
    config: ModelConfig, name: str | None = None, *, start_now: bool = False
) -> RunRecord:
    """A new run folder, queued for the scheduler.

    `start_now=True` is for a process that trains the run itself (the CLI): the run starts as
    running with the caller's pid, so the scheduler never picks it and waits for it instead.
    The folder is filled under a hidden name and renamed into place, so nobody ever lists a
    run without its files.
    """
    root = runs_dir()
    status = initial_status(config)
    if start_now:
        status.update(state="running", launcher="cli", phase="starting", **process_identity())
    staging = Path(tempfile.mkdtemp(prefix=".creating-", dir=root))
    staging.chmod(0o755)
    write_json(staging / CONFIG_FILE, config.to_dict())
    write_json(staging / META_FILE, {"name": name or "", "notes": ""})
    write_json(staging / STATUS_FILE, status)
    (staging / METRICS_FILE).touch()
    while True:
        run_id = _new_run_id()
        try:
            # Fails when the target exists, because a run folder is never empty.
            os.rename(staging, root / run_id)
            break
        except OSError:
            if (root / run_id).exists():
                continue
            raise
    return open_run(root / run_id)


def open_run(path: Path, *, shipped: bool = False) -> RunRecord:
    """Read a run folder anywhere on disk; a damaged one comes back marked broken."""
    path = Path(path)
    meta = _read_optional_json(path / META_FILE)

    def broken(config: ModelConfig | None, reason: str) -> RunRecord:
        return RunRecord(path.name, path, config, meta=meta, shipped=shipped, broken=reason)

    try:
        config = ModelConfig.from_dict(read_json(path / CONFIG_FILE))
    except FileNotFoundError:
        return broken(None, "config.json is missing")
    except (ValueError, TypeError, OSError) as error:  # ConfigError is a ValueError.
        return broken(None, f"config.json is unreadable ({error})")
    try:
        status = read_json(path / STATUS_FILE)
    except FileNotFoundError:
        if not shipped:
            return broken(config, "status.json is missing")
        status = _shipped_status(path, config)
    except (ValueError, OSError) as error:
        return broken(config, f"status.json is unreadable ({error})")
    if not isinstance(status, dict) or status.get("state") not in STATES:
        return broken(config, "status.json has no valid state")
    return RunRecord(path.name, path, config, status, meta, shipped=shipped)


def _shipped_status(path: Path, config: ModelConfig) -> dict[str, Any]:
    """A shipped model without status.json: finished, with its stored test results."""
    evaluation = _read_optional_json(path / EVALUATION_FILE)
    return {
        **initial_status(config),
        "state": "finished",
        "phase": "done",
        "launcher": "shipped",
        "created": "",
        "test_accuracy": evaluation.get("accuracy"),
        "test_loss": evaluation.get("loss"),
    }


def _read_optional_json(path: Path) -> dict[str, Any]:
    try:
        data = read_json(path)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _run_folders(root: Path) -> list[Path]:
    # Hidden names are folders being created or deleted, and the scheduler's lock file.
    if not root.is_dir():
        return []
    return [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]


def list_runs(include_shipped: bool = True) -> list[RunRecord]:
    """Every run, newest first, then the shipped models. Never raises for a damaged folder."""
    runs = [open_run(path) for path in _run_folders(runs_dir())]
    runs.sort(key=lambda run: (run.created, run.id), reverse=True)
    if include_shipped:
        shipped = [open_run(path, shipped=True) for path in _run_folders(SHIPPED_MODELS_DIR)]
        runs += sorted(shipped, key=lambda run: run.id)
    return runs


def reload(run: RunRecord) -> RunRecord:
    return open_run(run.path, shipped=run.shipped)


def _writable(run: RunRecord) -> None:
    if run.shipped:
        raise RegistryError(f"{run.name} is a shipped model and cannot be changed or deleted")
    if not run.path.is_dir():
        raise RegistryError(f"{run.name} no longer exists: it was deleted, perhaps in another session")


def update_status(
    run: RunRecord, changes: Mapping[str, Any], only_if: tuple[str, ...] | None = None
) -> dict[str, Any] | None:
    """Merge `changes` into status.json; a `progress` dict is merged key by key.

    With `only_if`, the update happens only while the state is one of those (compare-and-set),
    and None is returned otherwise, so two processes can never both make the same transition.
    """
    _writable(run)
    with run_lock(run.path):
        status = read_json(run.path / STATUS_FILE)
        if only_if is not None and status.get("state") not in only_if:
            return None
        changes = dict(changes)
        if "progress" in changes:
            changes["progress"] = {**(status.get("progress") or {}), **changes["progress"]}
        status.update(changes)
        write_json(run.path / STATUS_FILE, status)
        return status


def _update_meta(run: RunRecord, **changes: str) -> RunRecord:
    _writable(run)
    with run_lock(run.path):
        meta = {**_read_optional_json(run.path / META_FILE), **changes}
        write_json(run.path / META_FILE, meta)
    return reload(run)


def rename_run(run: RunRecord, name: str) -> RunRecord:
    return _update_meta(run, name=name.strip())


def set_notes(run: RunRecord, notes: str) -> RunRecord:
    return _update_meta(run, notes=notes)


def request_stop(run: RunRecord) -> RunRecord:
    """Ask the run to stop: a queued run is cancelled at once, a live one within seconds.

    The `stop` file is the signal the worker's callback watches between batches; the state
    change to "stopping" is only for the pages.
    """
    _writable(run)
    if run.broken:
        raise RegistryError(f"{run.id} cannot be read ({run.broken}), so it cannot be stopped")
    current = reload(run)
    if not current.is_active:
        return current  # Already over: nothing to stop.
    (run.path / STOP_FILE).touch()
    cancelled = {
        "state": "stopped", "stop_reason": "cancelled", "phase": "cancelled", "ended": now_iso()
    }
    if update_status(run, cancelled, only_if=("queued",)) is None:
        update_status(run, {"state": "stopping"}, only_if=("running",))
    return reload(run)


def delete_run(run: RunRecord) -> None:
    """Delete a run folder. Shipped models and runs still training are refused."""
    _writable(run)
    run = reconcile(reload(run))
    if not run.broken:
        cancelled = {"state": "stopped", "stop_reason": "cancelled", "ended": now_iso()}
        update_status(run, cancelled, only_if=("queued",))
        if reload(run).is_live:
            raise RegistryError(f"{run.name} is still training; stop it before deleting it")
    # Renaming first makes the run vanish from listings at once, even if removal takes a while.
    doomed = run.path.with_name(f".deleting-{run.id}-{secrets.token_hex(3)}")
    os.rename(run.path, doomed)
    shutil.rmtree(doomed, ignore_errors=True)


def _death_reason(run: RunRecord) -> str:
    progress = run.progress
    phase = run.status.get("phase")
    if phase == "evaluating":
        where = "while evaluating the trained model"
    elif phase in ("queued", "starting", "loading", "compiling") or not progress.get("epoch"):
        where = "before training started"
    else:
        where = f"during epoch {progress['epoch']}"
    if (run.path / MODEL_FILE).exists():
        kept = "the saved model is kept"
    elif (run.path / CHECKPOINT_FILE).exists():
        kept = "the last completed epoch's weights are kept"
    else:
        kept = "no epoch had completed, so no weights were kept"
    return f"worker process died (killed or out of memory) {where}; {kept}"


def age_seconds(timestamp: Any) -> float:
    """Seconds since an ISO timestamp written by `now_iso`; infinite for none or a bad one."""
    try:
        return time.time() - datetime.fromisoformat(timestamp).timestamp()
    except (TypeError, ValueError):
        return math.inf


def _worker_is_alive(status: Mapping[str, Any]) -> bool:
    if status.get("host") not in (None, socket.gethostname()):
        return True  # Another machine's process: nothing here can tell, so trust the status.
    pid = status.get("pid")
    if pid is None:
        return age_seconds(status.get("claimed")) < CLAIM_GRACE_SECONDS
    return process_is_alive(pid, status.get("pid_start"))


def reconcile(run: RunRecord) -> RunRecord:
    """Mark a run failed if it claims to be training but its worker process is gone.

    A worker killed by SIGKILL or the out-of-memory killer cannot report its own death; this
    notices a vanished pid, a zombie, or a pid now used by a different process.
    """
    if run.shipped or run.broken or not run.is_live or _worker_is_alive(run.status):
        return run
    failed = {"state": "failed", "error": _death_reason(run), "ended": now_iso()}
    with run_lock(run.path):
        current = open_run(run.path)
        if current.is_live and not _worker_is_alive(current.status):
            write_json(run.path / STATUS_FILE, {**current.status, **failed})
    return reload(run)


def reconcile_all(include_shipped: bool = False) -> list[RunRecord]:
    """`list_runs` with every run whose worker died marked failed: what pages should show."""
    return [reconcile(run) for run in list_runs(include_shipped=include_shipped)]


def append_metrics(run: RunRecord, records: list[dict[str, Any]]) -> None:
    """Append whole lines in one write, so a crash can only tear the last line."""
    if not records:
        return
    text = "".join(json.dumps(_json_safe(record)) + "\n" for record in records)
    with open(run.path / METRICS_FILE, "a", encoding="utf-8") as handle:
        handle.write(text)


def read_metrics(run: RunRecord) -> list[dict[str, Any]]:
    """Every metrics record in order; a torn or corrupt line (a killed writer) is skipped."""
    try:
        lines = (run.path / METRICS_FILE).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def read_log(run: RunRecord, max_chars: int = 20_000) -> str:
    """The end of the worker's log (where a failed run's traceback is), or "" if there is none."""
    try:
        with open(run.path / LOG_FILE, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(handle.tell() - max_chars, 0))
            return handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def usable_model_path(run: RunRecord) -> Path | None:
    """The final model, else the last completed epoch's checkpoint, else None."""
    for name in (MODEL_FILE, CHECKPOINT_FILE):
        if (run.path / name).is_file():
            return run.path / name
    return None


def read_evaluation(run: RunRecord) -> dict[str, Any] | None:
    """The stored test-set evaluation, or None if the run has none (yet)."""
    data = _read_optional_json(run.path / EVALUATION_FILE)
    return data or None


def read_predictions(run: RunRecord) -> dict[str, np.ndarray] | None:
    """Stored test-set predictions: `labels`, `probabilities`, `y_true`; None if absent."""
    try:
        with np.load(run.path / PREDICTIONS_FILE, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (OSError, ValueError):
        return None
