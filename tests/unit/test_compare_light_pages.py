"""The leaderboard, run detail and export pages never import TensorFlow: they only read what the
worker stored. A fresh process runs them over a run folder written without TensorFlow."""

import subprocess
import sys
from pathlib import Path

import numpy as np

from core import registry
from core.config import PRESETS
from core.evaluate import evaluate_predictions, predicted_labels

PROJECT_ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys
from streamlit.testing.v1 import AppTest
app = AppTest.from_file("app.py", default_timeout=60)
app.run()
for page in ["pages/compare.py", "pages/run_detail.py", "pages/model_io.py"]:
    app.switch_page(page).run()
    assert not app.exception, (page, app.exception)
    assert not app.error, (page, [e.value for e in app.error])
assert "stored" in app.selectbox(key="io_run").options[0]
print("tensorflow" in sys.modules, "keras" in sys.modules)
"""


def stored_run(monkeypatch, root: Path) -> None:
    monkeypatch.setenv("MNIST_RUNS_DIR", str(root))
    run = registry.create_run(PRESETS["fast-cnn"].config, "stored")
    registry.update_status(run, {"state": "finished"})
    (run.path / registry.MODEL_FILE).write_bytes(b"never loaded by these pages")
    registry.append_metrics(run, [{"kind": "epoch", "epoch": 1, "loss": 0.5, "accuracy": 0.9, "val_loss": 0.4,
                                   "val_accuracy": 0.92, "time": 3.0}])
    rng = np.random.default_rng(0)
    from core.data import load_mnist

    y_true = load_mnist().y_test
    probabilities = rng.dirichlet(np.ones(10), size=len(y_true)).astype(np.float32)
    probabilities[np.arange(len(y_true)), y_true] += 1.0
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    labels = predicted_labels(probabilities)
    registry.write_json(run.path / registry.EVALUATION_FILE, evaluate_predictions(y_true, labels, probabilities))
    np.savez(run.path / registry.PREDICTIONS_FILE, labels=labels,
             probabilities=probabilities.astype(np.float16), y_true=y_true)


def test_compare_detail_and_export_pages_do_not_import_tensorflow(tmp_path, monkeypatch):
    stored_run(monkeypatch, tmp_path / "runs")
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split()[-2:] == ["False", "False"]
