"""The devices a job trains on, as TensorFlow sees them: `configure_tensorflow()` first, then
`distribution_strategy()`: several visible GPUs train one model mirrored, each replica taking an
equal share of every batch. (What the server tells without TensorFlow: core.queue.hardware.)
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path
from typing import Any

from core.queue.hardware import DeviceInfo, available_cpu_count, chosen_gpus, describe_devices

MADV_PAGEOUT = 21  # From <sys/mman.h>: reclaim these pages now.


def _gpu_name(tf: Any, gpu: Any) -> str:
    details = tf.config.experimental.get_device_details(gpu)
    return details.get("device_name") or gpu.name


def configure_tensorflow(devices: str = "all") -> DeviceInfo:
    """Import TensorFlow, hide the GPUs the `devices` setting leaves out, and let each other GPU's
    memory grow on demand.

    Both must happen before any tensor exists. Memory growth lets the server and a training
    worker share one GPU instead of the first process reserving all of its memory.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    chosen = chosen_gpus(gpus, devices)
    try:
        if len(chosen) < len(gpus):
            tf.config.set_visible_devices(chosen, "GPU")
        for gpu in chosen:
            tf.config.experimental.set_memory_growth(gpu, True)
    except RuntimeError:
        pass  # Already initialised in this process; these settings only apply before that.
    names = [_gpu_name(tf, gpu) for gpu in chosen]
    release_library_pages()
    return describe_devices(names, available_cpu_count(), tf.__version__)


def replica_devices() -> list[str]:
    """The devices a run's batches are split across: every GPU left visible."""
    import tensorflow as tf

    return [device.name for device in tf.config.list_logical_devices("GPU")]


def distribution_strategy() -> Any:
    """`MirroredStrategy` over the replica devices when there are several (each batch of
    `batch_size` digits split equally among them, so the global batch and the learning rate mean
    what they mean on one device), else TensorFlow's default strategy: one device.

    The model must be built and compiled inside its `scope()`; `fit` then follows it.
    """
    import tensorflow as tf

    devices = replica_devices()
    return tf.distribute.MirroredStrategy(devices) if len(devices) > 1 else tf.distribute.get_strategy()


def release_library_pages() -> int:
    """Give back the read-only pages of loaded shared libraries; how many mappings were released.

    Importing TensorFlow touches ~500 MB of its libraries (relocations, static initialisers) that
    a job never runs again, and they would stay in its resident memory. MADV_PAGEOUT (Linux 5.4+)
    releases them; the few pages training does use fault back in from the page cache. Measured:
    780 MB after the import drops to 320 MB, and a small CNN's fit then peaks near 490 MB.
    Elsewhere it releases nothing and changes nothing.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        maps = Path("/proc/self/maps").read_text().splitlines()
    except (OSError, AttributeError):
        return 0
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    released = 0
    for line in maps:
        fields = line.split()
        # Read-only (clean) file mappings only: writable ones hold data the process changed.
        if len(fields) < 6 or "w" in fields[1] or ".so" not in fields[5]:
            continue
        start, end = (int(value, 16) for value in fields[0].split("-"))
        released += libc.madvise(start, end - start, MADV_PAGEOUT) == 0
    return released
