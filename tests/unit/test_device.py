"""Device detection, with the device list mocked: the GPU path cannot be exercised for real here."""

import sys
import types

import pytest

from core import device


def test_no_gpu_means_cpu_with_core_count():
    info = device.describe_devices([], cpu_count=2, tensorflow_version="2.21.0")
    assert info.kind == "CPU" and info.label == "CPU (2 cores)"


def test_first_gpu_is_named():
    info = device.describe_devices(["NVIDIA H100 80GB HBM3", "NVIDIA H100 80GB HBM3"], 16, "2.21.0")
    assert info.kind == "GPU" and info.label == "GPU: NVIDIA H100 80GB HBM3"


class FakeGpu:
    def __init__(self, name):
        self.name = name


def fake_tensorflow(gpus, growth_calls, details=None):
    experimental = types.SimpleNamespace(
        set_memory_growth=lambda gpu, enabled: growth_calls.append((gpu.name, enabled)),
        get_device_details=lambda gpu: (details or {}).get(gpu.name, {}),
    )
    config = types.SimpleNamespace(
        list_physical_devices=lambda kind: gpus if kind == "GPU" else [],
        experimental=experimental,
    )
    return types.SimpleNamespace(config=config, __version__="9.9.9")


@pytest.mark.parametrize("gpu_count", [0, 1, 2])
def test_configure_turns_on_memory_growth_for_every_gpu(monkeypatch, gpu_count):
    gpus = [FakeGpu(f"/physical_device:GPU:{i}") for i in range(gpu_count)]
    growth_calls = []
    details = {gpu.name: {"device_name": "NVIDIA A100-SXM4-40GB"} for gpu in gpus}
    monkeypatch.setitem(sys.modules, "tensorflow", fake_tensorflow(gpus, growth_calls, details))

    info = device.configure_tensorflow()

    assert growth_calls == [(gpu.name, True) for gpu in gpus]
    assert info.tensorflow_version == "9.9.9"
    if gpu_count:
        assert info.label == "GPU: NVIDIA A100-SXM4-40GB"
    else:
        assert info.kind == "CPU" and info.cpu_count == device.available_cpu_count()


def test_gpu_without_details_falls_back_to_its_device_name(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow", fake_tensorflow([FakeGpu("/physical_device:GPU:0")], []))
    assert device.configure_tensorflow().name == "/physical_device:GPU:0"


def test_probe_answers_from_a_subprocess():
    info = device.probe_device()
    assert info.kind in {"CPU", "GPU"} and info.tensorflow_version.startswith("2.")
    assert info.cpu_count >= 1
