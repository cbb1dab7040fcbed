"""Whole-file JSON and binary writes that readers in other processes can never see half done.

Pages, the scheduler and job processes read the same files while others rewrite them, without
locks: every writer here replaces a file by renaming a finished temporary copy over it.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def json_safe(value: Any) -> Any:
    """NaN and infinity become null: they are not JSON, and browsers reject them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return value


@contextmanager
def atomic_path(path: Path, suffix: str = "") -> Iterator[Path]:
    """A temporary path beside `path` that replaces it only if the block completes.

    Same folder, so `os.replace` is a rename on one filesystem: readers see the old file or the
    new one, never a half-written one. `suffix` keeps extensions that writers insist on (Keras
    refuses to save a model to a name that does not end in ".keras").
    """
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=path.parent)
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
    text = json.dumps(json_safe(data), indent=2)
    with atomic_path(path) as temp:
        temp.write_text(text + "\n", encoding="utf-8")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def read_json_object(path: Path) -> dict[str, Any]:
    """A JSON object file, or {} when it is missing, unreadable or not an object."""
    try:
        data = read_json(path)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
