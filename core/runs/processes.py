"""Is a recorded process still ours and alive? Told from /proc, without signals or TensorFlow.

Runs and jobs record who is working on them (`process_identity`); a process killed by SIGKILL
or the out-of-memory killer cannot report its own death, so others check these records.
"""

from __future__ import annotations

import math
import os
import socket
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

# A run or job claimed but whose process pid is not recorded yet is given this long before it
# counts as dead; spawning takes milliseconds, so this only matters after a crash.
CLAIM_GRACE_SECONDS = 60.0


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
    """The record fields that let `worker_is_alive` recognise this process later."""
    pid = os.getpid() if pid is None else pid
    return {"pid": pid, "pid_start": process_start_ticks(pid), "host": socket.gethostname()}


def age_seconds(timestamp: Any) -> float:
    """Seconds since an ISO timestamp (`layout.now_iso`); infinite for none or a bad one."""
    try:
        return time.time() - datetime.fromisoformat(timestamp).timestamp()
    except (TypeError, ValueError):
        return math.inf


def worker_is_alive(status: Mapping[str, Any]) -> bool:
    """Whether the process a run's status names (`process_identity`, `claimed`) still runs."""
    if status.get("host") not in (None, socket.gethostname()):
        return True  # Another machine's process: nothing here can tell, so trust the status.
    pid = status.get("pid")
    if pid is None:
        return age_seconds(status.get("claimed")) < CLAIM_GRACE_SECONDS
    return process_is_alive(pid, status.get("pid_start"))
