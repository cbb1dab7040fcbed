"""What a run folder holds and where run folders live: file names, states, the runs folder
itself, the per-run lock, and the checks a status file must pass. It imports nothing of core, so
a module that only needs a run's paths stays shallow.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
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
ROBUSTNESS_FILE = "robustness.json"  # Accuracy on the robustness suites, of the LiteRT model.
ENSEMBLE_KEY = "ensemble"  # In meta.json: an ensemble's record (core/queue/ensembles.py).
STOP_FILE = "stop"
LOCK_FILE = ".lock"

STATES = ("queued", "running", "stopping", "stopped", "finished", "failed")
LIVE_STATES = ("running", "stopping")
ACTIVE_STATES = ("queued", *LIVE_STATES)
BROKEN = "broken"


class RegistryError(RuntimeError):
    """An operation the run's state does not allow; the message is meant for the user."""


def runs_dir() -> Path:
    """Where runs live: `$MNIST_RUNS_DIR`, else `<project>/runs`. Created on first use."""
    path = Path(os.environ.get("MNIST_RUNS_DIR") or PROJECT_ROOT / "runs")
    path.mkdir(parents=True, exist_ok=True)
    return path


def now_iso() -> str:
    """UTC time with microseconds: sorts as text and parses with `datetime.fromisoformat`."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


@contextmanager
def run_lock(path: Path) -> Iterator[None]:
    """Serialise read-modify-write updates of one run's status and meta across processes."""
    with open(path / LOCK_FILE, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


# The status fields that listings, sorting, reconciling and the scheduler read, and the types
# they may hold (None aside): a hand-edited or damaged file must not crash them.
_STATUS_TYPES: dict[str, type | tuple[type, ...]] = {
    "created": str,
    "started": str,
    "ended": str,
    "launcher": str,
    "phase": str,
    "error": str,
    "stop_reason": str,
    "device": str,
    "host": str,
    "claimed": str,
    "pid": int,
    "pid_start": (int, str),
    "progress": dict,
    "test_accuracy": (int, float),
    "test_loss": (int, float),
}


def status_problem(status: Any) -> str | None:
    """What makes a status unusable (no valid state, a field of the wrong type), or None."""
    if not isinstance(status, dict):
        return "is not a JSON object"
    if not isinstance(status.get("state"), str) or status["state"] not in STATES:
        return "has no valid state"
    for key, kinds in _STATUS_TYPES.items():
        value = status.get(key)
        if value is not None and (not isinstance(value, kinds) or isinstance(value, bool)):
            return f"has a wrong value for {key!r}"
    progress = status.get("progress") or {}
    if any(value is not None and not isinstance(value, (int, float)) for value in progress.values()):
        return "has a wrong value in 'progress'"
    return None
