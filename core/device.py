"""Which device trains: a GPU when TensorFlow sees one, else the CPU.

Pages must not import TensorFlow (it costs seconds), so they ask `probe_device()`, which asks a
short-lived subprocess; workers call `configure_tensorflow()` directly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from typing import Any

PROBE_TIMEOUT_S = 120


@dataclass(frozen=True)
class DeviceInfo:
    kind: str
    name: str
    cpu_count: int
    tensorflow_version: str

    @property
    def label(self) -> str:
        if self.kind == "GPU":
            return f"GPU: {self.name}"
        return f"CPU ({self.cpu_count} cores)"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def describe_devices(gpu_names: list[str], cpu_count: int, tensorflow_version: str) -> DeviceInfo:
    """The device Keras places work on: the first GPU if there is any."""
    if gpu_names:
        return DeviceInfo("GPU", gpu_names[0], cpu_count, tensorflow_version)
    return DeviceInfo("CPU", "CPU", cpu_count, tensorflow_version)


def available_cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _gpu_name(tf: Any, gpu: Any) -> str:
    details = tf.config.experimental.get_device_details(gpu)
    return details.get("device_name") or gpu.name


def configure_tensorflow() -> DeviceInfo:
    """Import TensorFlow and let each GPU's memory grow on demand.

    Memory growth must be set before any tensor exists; it lets the server and a training worker
    share one GPU instead of the first process reserving all of its memory.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:
            pass  # Already initialised in this process; the setting only applies before that.
    names = [_gpu_name(tf, gpu) for gpu in gpus]
    return describe_devices(names, available_cpu_count(), tf.__version__)


def probe_device() -> DeviceInfo:
    """Ask a fresh Python process, so the caller never imports TensorFlow."""
    code = "import json; from core.device import configure_tensorflow as c; print(json.dumps(c().to_dict()))"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        # Importing TensorFlow takes seconds of CPU; at low priority it does not slow the first
        # page that the server and the browser are drawing meanwhile.
        preexec_fn=lambda: os.nice(10),
        capture_output=True,
        text=True,
        timeout=PROBE_TIMEOUT_S,
        check=True,
    )
    return DeviceInfo(**json.loads(result.stdout.strip().splitlines()[-1]))
