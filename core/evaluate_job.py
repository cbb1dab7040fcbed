"""Evaluate runs that have a model but no stored evaluation, in a background process.

    python -m core.evaluate_job <run_dir> [<run_dir> ...]

A run stopped early, a failed run that kept a checkpoint, or an imported model has weights but
no evaluation.json / predictions.npz. Pages never evaluate inside a script run: they call
`request_evaluation(runs)`, which claims each run with a marker file (`.evaluating`, created with
O_EXCL under the run's lock, so two sessions never launch the same evaluation twice) and starts
one process for all of them, one after another (two evaluations at once would only fight over
the CPU). The process uses `evaluate.evaluate_and_store`, the same function as the worker.

Nothing here imports TensorFlow at module level: pages import `request_evaluation` freely.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from core import registry
from core.registry import RunRecord

logger = logging.getLogger(__name__)

MARKER_FILE = ".evaluating"
FAILED_FILE = "evaluation_failed.json"
LOG_FILE = ".evaluations.log"  # In the runs folder; hidden, so never listed as a run.

READY, RUNNING, NEEDED, FAILED, UNAVAILABLE = "ready", "running", "needed", "failed", "unavailable"


def has_evaluation(run: RunRecord) -> bool:
    return (run.path / registry.EVALUATION_FILE).is_file() and (
        run.path / registry.PREDICTIONS_FILE
    ).is_file()


def _model_stamp(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def failure(run: RunRecord) -> str | None:
    """Why the last background evaluation of this run's current model failed, if it did."""
    try:
        data = registry.read_json(run.path / FAILED_FILE)
    except (OSError, ValueError):
        return None
    model = registry.usable_model_path(run)
    if not isinstance(data, dict) or model is None or data.get("model_stamp") != _model_stamp(model):
        return None  # A newer model file deserves a new try.
    return str(data.get("error") or "unknown error")


def _read_marker(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        data = {}
    return data if isinstance(data, dict) else {}


def _marker_alive(marker: dict[str, Any], path: Path) -> bool:
    pid = marker.get("pid")
    if pid is None:
        try:
            age = time.time() - path.stat().st_mtime
        except OSError:
            return False
        return age < registry.CLAIM_GRACE_SECONDS
    return registry.process_is_alive(int(pid), marker.get("pid_start"))


def is_evaluating(run: RunRecord) -> bool:
    marker = _read_marker(run.path / MARKER_FILE)
    return marker is not None and _marker_alive(marker, run.path / MARKER_FILE)


def evaluation_state(run: RunRecord) -> str:
    """ready, running (a background job has it), needed, failed, or unavailable.

    Unavailable: broken, still training, no weights, or a shipped (read-only) model without
    a stored evaluation.
    """
    if has_evaluation(run):
        return READY
    if run.broken or run.is_active or registry.usable_model_path(run) is None or run.shipped:
        return UNAVAILABLE
    if is_evaluating(run):
        return RUNNING
    return FAILED if failure(run) else NEEDED


def _claim(run: RunRecord) -> bool:
    """Create the run's marker unless a live job holds it; True if this caller now owns it."""
    marker_path = run.path / MARKER_FILE
    with registry.run_lock(run.path):
        marker = _read_marker(marker_path)
        if marker is not None:
            if _marker_alive(marker, marker_path):
                return False
            marker_path.unlink(missing_ok=True)  # Its job died: take over.
        try:
            handle = os.open(marker_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        os.close(handle)
        return True


def _write_marker(run: RunRecord, pid: int) -> None:
    data = {"pid": pid, "pid_start": registry.process_start_ticks(pid), "claimed": registry.now_iso()}
    registry.write_json(run.path / MARKER_FILE, data)


def command(paths: list[Path]) -> list[str]:
    return [sys.executable, "-m", "core.evaluate_job", *map(str, paths)]


def request_evaluation(runs: list[RunRecord]) -> list[str]:
    """Start one background job for the runs that need an evaluation; their ids.

    Runs already being evaluated, already evaluated, or whose last try failed are left alone,
    so calling this on every page view is cheap and never launches a job twice.
    """
    claimed = [run for run in runs if evaluation_state(run) == NEEDED and _claim(run)]
    if not claimed:
        return []
    env = {"TF_CPP_MIN_LOG_LEVEL": "2", **os.environ}
    try:
        with open(registry.runs_dir() / LOG_FILE, "ab") as log:
            child = subprocess.Popen(
                command([run.path for run in claimed]),
                cwd=registry.PROJECT_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # A Ctrl-C to the server leaves it to finish.
            )
    except OSError as error:
        for run in claimed:
            _record_failure(run, f"could not start the evaluation: {error}")
            (run.path / MARKER_FILE).unlink(missing_ok=True)
        return []
    for run in claimed:
        _write_marker(run, child.pid)
    # Collect its exit status, so it never lingers as a zombie of the server process.
    threading.Thread(target=child.wait, name="evaluate-job-reaper", daemon=True).start()
    return [run.id for run in claimed]


def _record_failure(run: RunRecord, error: str) -> None:
    model = registry.usable_model_path(run)
    stamp = _model_stamp(model) if model else 0
    registry.write_json(run.path / FAILED_FILE, {"error": error, "model_stamp": stamp, "at": registry.now_iso()})


def evaluate_run(run: RunRecord, data=None) -> dict[str, Any]:
    """Load the run's usable model (safe mode), evaluate it on the test set and store the result.

    Also records the test accuracy and loss in status.json (for tables that only read status),
    unless the run has started training again meanwhile.
    """
    from core.data import load_mnist
    from core.device import configure_tensorflow
    from core.evaluate import evaluate_and_store

    configure_tensorflow()
    import keras

    path = registry.usable_model_path(run)
    if path is None:
        raise FileNotFoundError(f"{run.id} has no model file to evaluate")
    model = keras.saving.load_model(path, safe_mode=True, compile=False)
    data = data or load_mnist()
    evaluation = evaluate_and_store(
        run.path, model, data.x_test, data.y_test, model_file=path.name, evaluated_by="background"
    )
    if not run.shipped:
        scores = {"test_accuracy": evaluation["accuracy"], "test_loss": evaluation["loss"]}
        registry.update_status(run, scores, only_if=("finished", "stopped", "failed"))
    (run.path / FAILED_FILE).unlink(missing_ok=True)
    return evaluation


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m core.evaluate_job <run_dir> [<run_dir> ...]", file=sys.stderr)
        return 2
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(asctime)s %(message)s")
    failures = 0
    for arg in args:
        run = registry.open_run(Path(arg))
        try:
            evaluation = evaluate_run(run)
            logger.info("%s: test accuracy %.2f%%", run.id, 100 * evaluation["accuracy"])
        except Exception as error:  # One bad model must not stop the others.
            failures += 1
            logger.exception("evaluating %s failed", run.id)
            if run.path.is_dir():
                _record_failure(run, f"{type(error).__name__}: {str(error).strip()[:300]}")
        finally:
            (run.path / MARKER_FILE).unlink(missing_ok=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
