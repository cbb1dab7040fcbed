"""Device detection, with the device list mocked: the GPU path cannot be exercised for real here."""

import subprocess
import sys
import types

import pytest

from core.jobs import device
from core.queue import hardware


def test_no_gpu_means_cpu_with_core_count():
    info = hardware.describe_devices([], cpu_count=2, tensorflow_version="2.21.0")
    assert info.kind == "CPU" and info.label == "CPU (2 cores)"


def test_gpus_are_named_and_counted():
    info = hardware.describe_devices(["NVIDIA H100 80GB HBM3", "NVIDIA H100 80GB HBM3"], 16, "2.21.0")
    assert info.kind == "GPU" and info.label == "2 GPUs: NVIDIA H100 80GB HBM3"
    assert (
        hardware.describe_devices(["NVIDIA H100 80GB HBM3"], 16, "2.21.0").label
        == "GPU: NVIDIA H100 80GB HBM3"
    )


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
        assert info.label == ("GPU: " if gpu_count == 1 else "2 GPUs: ") + "NVIDIA A100-SXM4-40GB"
    else:
        assert info.kind == "CPU" and info.cpu_count == hardware.available_cpu_count()


def test_gpu_without_details_falls_back_to_its_device_name(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow", fake_tensorflow([FakeGpu("/physical_device:GPU:0")], []))
    assert device.configure_tensorflow().name == "/physical_device:GPU:0"


def test_detection_reads_the_installed_tensorflow_without_importing_it():
    info = hardware.detect_device()
    assert "tensorflow" not in sys.modules or info  # Imported by other tests; checked below.
    assert info.tensorflow_version.startswith("2.") and info.cpu_count == hardware.available_cpu_count()
    assert info.kind == "CPU"  # No NVIDIA driver here.


def test_detection_names_the_drivers_gpus_when_cuda_libraries_are_installed(monkeypatch, tmp_path):
    for index, model in enumerate(["NVIDIA H200", "NVIDIA H200"]):
        (tmp_path / f"0000:0{index}:00.0").mkdir()
        (tmp_path / f"0000:0{index}:00.0" / "information").write_text(f"Model: \t\t {model}\nIRQ: 1\n")
    real_path = hardware.Path
    monkeypatch.setattr(
        hardware, "Path", lambda p: tmp_path if p == "/proc/driver/nvidia/gpus" else real_path(p)
    )
    monkeypatch.setattr(hardware, "_tensorflow_has_cuda", lambda: True)
    assert hardware.detect_device().label == "2 GPUs: NVIDIA H200"
    monkeypatch.setattr(hardware, "_tensorflow_has_cuda", lambda: False)  # A CPU-only TensorFlow.
    assert hardware.detect_device().kind == "CPU"


def test_detection_does_not_import_tensorflow():
    code = (
        "import sys; from core.queue import hardware; hardware.detect_device();"
        " print('tensorflow' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=device.Path(__file__).parents[2], capture_output=True, text=True
    )
    assert result.stdout.strip() == "False", result.stderr


RESIDENT_LIBRARY = """
import ctypes, re, shutil, sys
import numpy.core._multiarray_umath as source
from core.jobs import device

copy = shutil.copy(source.__file__, sys.argv[1])  # A file no other process maps.
ctypes.CDLL(copy)

def resident_kb():
    total, ours = 0, False
    for line in open("/proc/self/smaps"):
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            ours = line.rstrip().endswith(copy) and line.split()[1] in ("r--p", "r-xp")
        elif ours and line.startswith("Rss:"):
            total += int(line.split()[1])
    return total

for line in open("/proc/self/maps"):  # Touch every read-only page, as a loader's relocations do.
    fields = line.split()
    if fields[-1] == copy and fields[1].startswith("r") and "w" not in fields[1]:
        start, end = (int(v, 16) for v in fields[0].split("-"))
        ctypes.string_at(start, end - start)
before = resident_kb()
released = device.release_library_pages()
print(before, resident_kb(), released)
"""


def test_a_job_gives_back_the_library_pages_it_does_not_use(tmp_path):
    """Pages of a library only this process maps leave its resident set (shared ones stay)."""
    result = subprocess.run(
        [sys.executable, "-c", RESIDENT_LIBRARY, str(tmp_path / "library.so")],
        cwd=device.Path(__file__).parents[2],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    before, after, released = map(int, result.stdout.split())
    assert before > 1000 and released > 0
    assert after < before / 4
