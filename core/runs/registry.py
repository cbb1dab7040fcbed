"""The runs folder: one directory per training run, shared by the worker and every page.

Each run lives in `<runs>/<run-id>/` (see docs/ARCHITECTURE.md for the files). Several processes
read and write these folders at once (Streamlit sessions, the scheduler, training workers, the
CLI), so every JSON file is replaced atomically (core/atomic_files), and status and meta updates
are read-modify-write steps under a per-run `flock`. Readers never lock: they only ever see a
whole file. Models shipped with the project (`<project>/models/<id>/`) use the same layout and
are listed read-only. What a run produced is read by core/run_results; runs whose worker died are
marked failed by core/reconcile.

Nothing here imports TensorFlow, so pages can use it freely.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.networks.config import ModelConfig
from core.runs.atomic_files import DiskFullError, disk_full_as, read_json, read_json_object, write_json
from core.runs.layout import (
    ACTIVE_STATES,
    BROKEN,
    CONFIG_FILE,
    ENSEMBLE_KEY,
    EVALUATION_FILE,
    LIVE_STATES,
    META_FILE,
    METRICS_FILE,
    SHIPPED_MODELS_DIR,
    STATUS_FILE,
    STOP_FILE,
    RegistryError,
    now_iso,
    run_lock,
    runs_dir,
    status_problem,
)
from core.runs.processes import process_identity, worker_is_alive


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
        name = self.meta.get("name")
        return name if isinstance(name, str) and name else self.id

    @property
    def description(self) -> str:
        """The architecture in one line; an imported model or an ensemble carries its own."""
        imported = self.meta.get("imported")
        if isinstance(imported, dict):
            return f"imported: {imported.get('architecture', 'Keras model')}"
        ensemble = self.meta.get(ENSEMBLE_KEY)
        if isinstance(ensemble, dict) and isinstance(ensemble.get("members"), list):
            return f"ensemble of {len(ensemble['members'])} runs"
        return self.config.describe() if self.config else f"unreadable run ({self.broken})"

    @property
    def notes(self) -> str:
        notes = self.meta.get("notes")
        return notes if isinstance(notes, str) else ""

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


def create_run(
    config: ModelConfig,
    name: str | None = None,
    *,
    start_now: bool = False,
    status_changes: Mapping[str, Any] | None = None,
    meta_changes: Mapping[str, Any] | None = None,
    add_files: Callable[[Path], None] | None = None,
) -> RunRecord:
    """A new run folder, queued for the scheduler; the one way any run folder is made.

    `start_now=True` is for a process that trains the run itself (the CLI): the run starts as
    running with the caller's pid, so the scheduler never picks it and waits for it instead.
    `status_changes` and `meta_changes` are merged into the initial files, and `add_files(folder)`
    writes more (an imported model). The folder is filled under a hidden name and renamed into
    place, so nobody ever lists a run without its files.
    """
    root = runs_dir()
    status = initial_status(config)
    if start_now:
        status.update(state="running", launcher="cli", phase="starting", **process_identity())
    with disk_full_as("the new run"):
        staging = Path(tempfile.mkdtemp(prefix=".creating-", dir=root))
        staging.chmod(0o755)
        try:
            if add_files is not None:
                add_files(staging)
            write_json(staging / CONFIG_FILE, config.to_dict())
            write_json(staging / META_FILE, {"name": name or "", "notes": "", **(meta_changes or {})})
            write_json(staging / STATUS_FILE, _merged_status(status, status_changes or {}))
            (staging / METRICS_FILE).touch()
            run_id = _rename_into_place(staging, root)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return open_run(root / run_id)


def _rename_into_place(staging: Path, root: Path) -> str:
    """Give a filled staging folder a fresh run id; the rename fails when the target exists,
    because a run folder is never empty, so concurrent creators never share a folder."""
    while True:
        run_id = _new_run_id()
        try:
            os.rename(staging, root / run_id)
            return run_id
        except OSError:
            if not (root / run_id).exists():
                raise


def open_run(path: Path, *, shipped: bool = False) -> RunRecord:
    """Read a run folder anywhere on disk; a damaged one comes back marked broken."""
    path = Path(path)
    meta = read_json_object(path / META_FILE)

    def broken(config: ModelConfig | None, reason: str) -> RunRecord:
        return RunRecord(path.name, path, config, meta=meta, shipped=shipped, broken=reason)

    try:
        config = ModelConfig.from_dict(read_json(path / CONFIG_FILE))
    except FileNotFoundError:
        return broken(None, "config.json is missing")
    except Exception as error:  # ConfigError, or whatever a damaged file makes from_dict raise.
        return broken(None, f"config.json is unreadable ({type(error).__name__}: {str(error)[:200]})")
    try:
        status = read_json(path / STATUS_FILE)
    except FileNotFoundError:
        if not shipped:
            return broken(config, "status.json is missing")
        status = _shipped_status(path, config)
    except (ValueError, OSError) as error:
        return broken(config, f"status.json is unreadable ({error})")
    problem = status_problem(status)
    if problem:
        return broken(config, f"status.json {problem}")
    problem = _missing_member(meta)
    if problem:
        return broken(config, problem)
    return RunRecord(path.name, path, config, status, meta, shipped=shipped)


def _run_folder(run_id: str) -> tuple[Path, bool] | None:
    """The folder of run `run_id` in the runs folder or among the shipped models, and whether it
    is shipped; None once deleted, or for an id that would leave those folders."""
    if "/" in run_id or run_id.startswith("."):
        return None
    for root, shipped in ((runs_dir(), False), (SHIPPED_MODELS_DIR, True)):
        if (root / run_id).is_dir():
            return root / run_id, shipped
    return None


def find_run(run_id: str) -> RunRecord | None:
    """A run in the runs folder or a shipped model, by id; None once deleted (or not an id)."""
    found = _run_folder(run_id)
    return open_run(found[0], shipped=found[1]) if found else None


def _missing_member(meta: dict[str, Any]) -> str | None:
    """Why an ensemble's record no longer holds (a member deleted), or None."""
    ensemble = meta.get(ENSEMBLE_KEY)
    if not isinstance(ensemble, dict):
        return None
    members, labels = ensemble.get("members"), ensemble.get("labels")
    if not isinstance(members, list) or not all(isinstance(m, str) and m.isprintable() for m in members):
        return "its ensemble record is damaged"
    if not isinstance(labels, list) or len(labels) != len(members):
        labels = members  # Named by run id when the record has no label for each.
    missing = [
        str(label) for member, label in zip(members, labels, strict=True) if _run_folder(member) is None
    ]
    if missing:
        return f"member{'s' if len(missing) > 1 else ''} {', '.join(missing)} deleted"
    return None


def _shipped_status(path: Path, config: ModelConfig) -> dict[str, Any]:
    """A shipped model without status.json: finished, with its stored test results."""
    evaluation = read_json_object(path / EVALUATION_FILE)
    return {
        **initial_status(config),
        "state": "finished",
        "phase": "done",
        "launcher": "shipped",
        "created": "",
        "test_accuracy": evaluation.get("accuracy"),
        "test_loss": evaluation.get("loss"),
    }


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
        status = _merged_status(status, changes)
        write_json(run.path / STATUS_FILE, status, what="the run's state")
        return status


def _merged_status(status: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """`status` with `changes` applied; a `progress` dict is merged key by key."""
    merged = {**status, **changes}
    if "progress" in changes:
        merged["progress"] = {**(status.get("progress") or {}), **changes["progress"]}
    return merged


def _update_meta(run: RunRecord, **changes: str) -> RunRecord:
    """A full disk is a RegistryError here, the error pages that rename or annotate show."""
    _writable(run)
    try:
        with run_lock(run.path):
            meta = {**read_json_object(run.path / META_FILE), **changes}
            write_json(run.path / META_FILE, meta, what="the run's name and notes")
    except DiskFullError as error:
        raise RegistryError(str(error)) from None
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
    cancelled = {"state": "stopped", "stop_reason": "cancelled", "phase": "cancelled", "ended": now_iso()}
    if update_status(run, cancelled, only_if=("queued",)) is None:
        update_status(run, {"state": "stopping"}, only_if=("running",))
    return reload(run)


def delete_run(run: RunRecord) -> None:
    """Delete a run folder. Shipped models and runs still training are refused."""
    _writable(run)
    run = reload(run)
    if not run.broken:
        cancelled = {"state": "stopped", "stop_reason": "cancelled", "ended": now_iso()}
        update_status(run, cancelled, only_if=("queued",))
        current = reload(run)
        if current.is_live and worker_is_alive(current.status):  # A dead worker's run may go.
            raise RegistryError(f"{run.name} is still training; stop it before deleting it")
    # Renaming first makes the run vanish from listings at once, even if removal takes a while.
    doomed = run.path.with_name(f".deleting-{run.id}-{secrets.token_hex(3)}")
    os.rename(run.path, doomed)
    shutil.rmtree(doomed, ignore_errors=True)
