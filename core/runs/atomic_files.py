"""Whole-file JSON and binary writes that readers in other processes can never see half done.

Pages, the scheduler and job processes read the same files while others rewrite them, without
locks: every writer here replaces a file by renaming a finished temporary copy over it. A write
that finds the disk full removes its temporary copy and raises DiskFullError, whose message is
meant for the user: it says what was lost in the user's words (`what`), never a file's name.
"""

from __future__ import annotations

import errno
import json
import math
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Out of space, or out of the user's quota: the same remedy.
FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
# What a file holds, by its kind, for a writer that does not say (`what`): users never see names.
WORDS_BY_SUFFIX = {
    ".keras": "a model",
    ".tflite": "the model's copy for fast predictions",
    ".npz": "the model's results",
    ".json": "a record of the dashboard's",
}


def plain_words(path: Path) -> str:
    """What the file at `path` holds, in words for the user, from its kind alone."""
    return WORDS_BY_SUFFIX.get(path.suffix, "a file of the dashboard's")


class DiskFullError(OSError):
    """A write failed because the disk is full; str() is the message for the user, with no path."""

    def __init__(self, what: str) -> None:
        super().__init__(
            errno.ENOSPC,
            f"The disk is full: {what} could not be saved. Free some space (delete old runs) and try again.",
        )

    def __str__(self) -> str:
        return self.strerror


def is_disk_full(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno in FULL_ERRNOS


@contextmanager
def disk_full_as(what: str) -> Iterator[None]:
    """Turn an out-of-space OSError inside the block into DiskFullError about `what`; the
    outermost block names what the user was saving (the new run, not its config.json)."""
    try:
        yield
    except OSError as error:
        if error.errno in FULL_ERRNOS:
            raise DiskFullError(what) from None
        raise


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
def atomic_path(path: Path, suffix: str = "", what: str | None = None) -> Iterator[Path]:
    """A temporary path beside `path` that replaces it only if the block completes.

    Same folder, so `os.replace` is a rename on one filesystem: readers see the old file or the
    new one, never a half-written one. `suffix` keeps extensions that writers insist on (Keras
    refuses to save a model to a name that does not end in ".keras"). A full disk, met by the
    block or here, raises DiskFullError saying `what` was lost (else `plain_words(path)`), with
    the temporary copy removed.
    """
    with disk_full_as(what or plain_words(path)):
        handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=path.parent)
        os.close(handle)
        try:
            yield Path(temp_name)
            os.chmod(temp_name, 0o644)  # mkstemp's 0600 would hide the file from other users.
            os.replace(temp_name, path)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise


def write_json(path: Path, data: Any, what: str | None = None) -> None:
    """Write JSON atomically; `what` it holds, in the user's words, for a full disk's message."""
    text = json.dumps(json_safe(data), indent=2)
    with atomic_path(path, what=what) as temp:
        temp.write_text(text + "\n", encoding="utf-8")


def overwrite_in_place(path: Path, data: bytes) -> None:
    """Rewrite an existing file's content without a new copy: the last resort on a full disk, for
    a small record no longer than the file. Not atomic, so only for writers under a lock whose
    readers treat a damaged file as missing."""
    with open(path, "r+b") as handle:
        handle.write(data)
        handle.truncate()


def read_json(path: Path) -> Any:
    """The file's JSON; ValueError for text that is not UTF-8 JSON or nests too deep to parse."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise ValueError(f"{path.name} is nested too deeply") from None


def read_json_object(path: Path) -> dict[str, Any]:
    """A JSON object file, or {} when it is missing, unreadable or not an object."""
    try:
        data = read_json(path)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
