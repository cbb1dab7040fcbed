"""What a run produced, read back for pages and jobs: metrics, log, model, evaluation, predictions.

Each reader tolerates a file that is missing or being written (a run still training, a killed
writer) and answers "nothing yet" rather than raising.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from core.runs.atomic_files import json_safe, read_json_object
from core.runs.layout import (
    CHECKPOINT_FILE,
    EVALUATION_FILE,
    LOG_FILE,
    METRICS_FILE,
    MODEL_FILE,
    PREDICTIONS_FILE,
)
from core.runs.registry import RunRecord


def append_metrics(run: RunRecord, records: list[dict[str, Any]]) -> None:
    """Append whole lines in one write, so a crash can only tear the last line."""
    if not records:
        return
    text = "".join(json.dumps(json_safe(record)) + "\n" for record in records)
    with open(run.path / METRICS_FILE, "a", encoding="utf-8") as handle:
        handle.write(text)


def read_metrics(run: RunRecord) -> list[dict[str, Any]]:
    """Every metrics record in order; a torn or corrupt line (a killed writer, bytes that are not
    UTF-8) is skipped, never the whole file."""
    try:
        lines = (run.path / METRICS_FILE).read_bytes().splitlines()
    except OSError:
        return []
    records = []
    for line in lines:
        try:
            record = json.loads(line.decode("utf-8"))
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError.
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
    return read_json_object(run.path / EVALUATION_FILE) or None


def read_predictions(run: RunRecord) -> dict[str, np.ndarray] | None:
    """Stored test-set predictions: `labels`, `probabilities`, `y_true`; None if absent."""
    try:
        with np.load(run.path / PREDICTIONS_FILE, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (OSError, ValueError):
        return None
