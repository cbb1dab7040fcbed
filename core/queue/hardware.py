"""Which devices jobs train on: the GPUs TensorFlow will see (as the run's `devices` setting
chooses), else the CPU, told without importing TensorFlow.

The server must not import TensorFlow, so pages ask `detect_device()`, which reads what the driver
and the installed packages say; job processes configure TensorFlow itself (core.jobs.device).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class DeviceInfo:
    kind: str
    name: str
    cpu_count: int
    tensorflow_version: str
    gpu_count: int = 0

    @property
    def label(self) -> str:
        if self.gpu_count > 1:
            return f"{self.gpu_count} GPUs: {self.name}"
        if self.kind == "GPU":
            return f"GPU: {self.name}"
        return f"CPU ({self.cpu_count} cores)"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def chosen_gpus(gpus: list, devices: str = "all") -> list:
    """The GPUs a run may use by its `devices` setting ("all", "one" or "cpu")."""
    return {"all": gpus, "one": gpus[:1], "cpu": []}[devices]


def describe_devices(
    gpu_names: list[str], cpu_count: int, tensorflow_version: str, devices: str = "all"
) -> DeviceInfo:
    """The devices a run with this `devices` setting trains on: its GPUs if there are any."""
    gpu_names = chosen_gpus(gpu_names, devices)
    if gpu_names:
        return DeviceInfo("GPU", gpu_names[0], cpu_count, tensorflow_version, len(gpu_names))
    return DeviceInfo("CPU", "CPU", cpu_count, tensorflow_version)


def available_cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _nvidia_gpu_names() -> list[str]:
    """The NVIDIA GPUs the driver lists in /proc (Linux), without loading any CUDA library."""
    names = []
    for information in sorted(Path("/proc/driver/nvidia/gpus").glob("*/information")):
        try:
            lines = information.read_text(errors="replace").splitlines()
        except OSError:
            continue
        model = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("Model:")), "")
        names.append(model or "NVIDIA GPU")
    return names


def _tensorflow_has_cuda() -> bool:
    """TensorFlow uses a GPU only with its CUDA libraries (the `and-cuda` extra's nvidia packages)."""
    return (
        importlib.util.find_spec("nvidia") is not None
        and importlib.util.find_spec("nvidia.cudnn") is not None
    )


def detect_device(devices: str = "all") -> DeviceInfo:
    """The devices a run with this `devices` setting will use, told without importing TensorFlow
    (seconds and ~600 MB in the server): GPUs when the driver lists them and TensorFlow's CUDA
    libraries are installed. Each run records what TensorFlow itself chose
    (`configure_tensorflow`) in its status."""
    try:
        version = importlib.metadata.version("tensorflow")
    except importlib.metadata.PackageNotFoundError:
        version = "not installed"
    gpus = _nvidia_gpu_names() if _tensorflow_has_cuda() else []
    return describe_devices(gpus, available_cpu_count(), version, devices)
