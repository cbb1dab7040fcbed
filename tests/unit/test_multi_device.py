"""Several devices: the `devices` setting, and a real run mirrored on two logical CPU devices.

No GPU is here, so the mirrored run splits the CPU in two (`set_logical_device_configuration`,
which must come before TensorFlow initialises: hence a process of its own) and lets the worker
mirror over those, exactly as it mirrors over several GPUs.
"""

import json
import subprocess
import sys
import types

import keras
import numpy as np
import pytest

from core.data.mnist import load_mnist
from core.jobs import device
from core.networks.config import PRESETS, ConfigError, ModelConfig
from core.queue import hardware
from core.runs import layout, registry

MIRRORED_RUN = """
import sys
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from core.jobs import device, worker
from core.runs import registry
from core.networks.config import PRESETS

# The worker mirrors over the visible GPUs; here, over the two halves of the CPU.
device.replica_devices = lambda: [d.name for d in tf.config.list_logical_devices("CPU")]
config = PRESETS["fast-cnn"].config.with_changes(epochs=1, train_limit=2000, validation_size=1000)
run = worker.train_run(registry.create_run(config, "mirrored", start_now=True))
print(run.id)
"""


@pytest.mark.slow
def test_a_run_mirrored_on_two_devices_trains_and_saves_a_model_that_predicts(runs_dir):
    result = subprocess.run(
        [sys.executable, "-c", MIRRORED_RUN],
        cwd=layout.PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    run = registry.open_run(runs_dir / result.stdout.split()[-1])
    assert run.state == "finished", run.status.get("error")
    assert run.status["replicas"] == 2
    epochs = [json.loads(line) for line in (run.path / layout.METRICS_FILE).read_text().splitlines()]
    assert [p["epoch"] for p in epochs if p["kind"] == "epoch"] == [1]
    # A global batch of 128 digits, split across the replicas: 1,000 digits make 8 steps.
    assert epochs[-1]["step"] == 8

    model = keras.saving.load_model(run.path / layout.MODEL_FILE, safe_mode=True)
    data = load_mnist()
    probabilities = model.predict(data.x_test[:500, :, :, None], verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-4)
    assert (probabilities.argmax(axis=1) == data.y_test[:500]).mean() > 0.3  # Chance is 0.1.
    assert (run.path / layout.LITE_MODEL_FILE).is_file()


def test_the_devices_setting_picks_the_gpus():
    gpus = ["GPU:0", "GPU:1", "GPU:2"]
    assert hardware.chosen_gpus(gpus, "all") == gpus
    assert hardware.chosen_gpus(gpus, "one") == ["GPU:0"]
    assert hardware.chosen_gpus(gpus, "cpu") == []
    assert hardware.describe_devices(["NVIDIA H200"] * 2, 16, "2.21.0").label == "2 GPUs: NVIDIA H200"
    assert hardware.describe_devices(["NVIDIA H200"] * 2, 16, "2.21.0", "one").label == "GPU: NVIDIA H200"
    assert hardware.describe_devices(["NVIDIA H200"] * 2, 16, "2.21.0", "cpu").label == "CPU (16 cores)"


@pytest.mark.parametrize(("devices", "visible"), [("all", None), ("one", ["GPU:0"]), ("cpu", [])])
def test_a_job_hides_the_gpus_its_run_leaves_out(monkeypatch, devices, visible):
    gpus = [types.SimpleNamespace(name=f"GPU:{i}") for i in range(2)]
    calls = {"visible": None, "growth": []}
    experimental = types.SimpleNamespace(
        set_memory_growth=lambda gpu, on: calls["growth"].append(gpu.name),
        get_device_details=lambda gpu: {"device_name": "NVIDIA H200"},
    )
    config = types.SimpleNamespace(
        list_physical_devices=lambda kind: gpus if kind == "GPU" else [],
        set_visible_devices=lambda chosen, kind: calls.update(visible=[gpu.name for gpu in chosen]),
        experimental=experimental,
    )
    monkeypatch.setitem(sys.modules, "tensorflow", types.SimpleNamespace(config=config, __version__="2.21.0"))

    info = device.configure_tensorflow(devices)

    assert calls["visible"] == visible
    assert calls["growth"] == (visible if visible is not None else ["GPU:0", "GPU:1"])
    assert info.gpu_count == len(visible if visible is not None else gpus)


def test_the_setting_validates_and_old_config_files_load_with_every_gpu():
    old = json.loads(json.dumps(PRESETS["fast-cnn"].config.to_dict()))
    del old["devices"]
    assert ModelConfig.from_dict(old).devices == "all"
    assert ModelConfig.from_dict({**old, "devices": "cpu"}).devices == "cpu"
    with pytest.raises(ConfigError, match="devices"):
        ModelConfig(devices="tpu")
