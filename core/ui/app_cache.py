"""Per-server caches around the core loaders, shared by every session (Streamlit's cache_data and
cache_resource).

Everything here is shared by all sessions and must be treated as read-only by callers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st
from PIL import Image

from core.data import explore, robustness
from core.data.mnist import MnistData, load_mnist
from core.queue import scheduler
from core.queue.hardware import DeviceInfo, detect_device
from core.runs import compare, layout, registry, run_results
from core.serving import saliency
from core.serving.inference import Classifier, ModelLoadError, load_classifier


@st.cache_resource(show_spinner="Loading the 70,000 MNIST digits...")
def mnist() -> MnistData:
    return load_mnist()


@st.cache_resource(show_spinner=False)
def robustness_examples() -> list[tuple[robustness.Suite, Image.Image, np.ndarray]]:
    return robustness.examples()


@st.cache_resource(show_spinner=False)
def start_scheduler() -> None:
    """One scheduler thread per server starts queued runs, whichever session queued them."""
    scheduler.ensure_scheduler_running()


@st.cache_resource(show_spinner=False)
def training_device(devices: str = "all") -> DeviceInfo:
    """The devices a run with this `devices` setting trains on, detected once per server."""
    return detect_device(devices)


@st.cache_data(show_spinner=False)
def ordered_indices(split: str, digits: tuple[int, ...], shuffle: bool, seed: int) -> np.ndarray:
    _, labels = mnist().split(split)
    return explore.filter_and_order(labels, list(digits), shuffle, seed)


@st.cache_data(show_spinner=False)
def class_means(split: str) -> np.ndarray:
    return explore.class_means(*mnist().split(split))


@st.cache_data(show_spinner=False)
def normalisation_views(split: str) -> list[explore.ScaleView]:
    return explore.normalisation_views(mnist().split(split)[0])


@st.cache_resource(show_spinner=False, max_entries=32)
def _classifier(path: str, modified_ns: int) -> Classifier:
    return load_classifier(path)


def classifier(run: registry.RunRecord) -> Classifier:
    """The run's LiteRT model, loaded once per server; a re-written file (new mtime) is reloaded.

    ModelLoadError when the run has no fresh model.tflite: ask `model_jobs.request("convert", run)` first.
    """
    path = run.path / layout.LITE_MODEL_FILE
    try:
        modified_ns = path.stat().st_mtime_ns
    except OSError:
        raise ModelLoadError(f"{run.name} has no model prepared for predictions yet.") from None
    return _classifier(str(path), modified_ns)


# --- Compare pages: per-run files, cached by modification time --------------------------------


def _stamp(path: Path) -> tuple[int, int]:
    try:
        stat = path.stat()
    except OSError:
        return (0, 0)
    return (stat.st_mtime_ns, stat.st_size)


@st.cache_data(show_spinner=False, max_entries=64)
def _run_metrics(path: str, stamp: tuple[int, int], _run: registry.RunRecord) -> list[dict]:
    return run_results.read_metrics(_run)


def run_metrics(run: registry.RunRecord) -> list[dict]:
    """Every metrics record of the run (re-read when metrics.jsonl changes)."""
    return _run_metrics(str(run.path), _stamp(run.path / layout.METRICS_FILE), run)


@st.cache_data(show_spinner=False, max_entries=512)
def _metrics_summary(path: str, stamp: tuple[int, int], _run: registry.RunRecord) -> dict:
    return compare.metrics_summary(run_metrics(_run))


def metrics_summary(run: registry.RunRecord) -> dict:
    """Cached on its own because the leaderboard needs it for every run on every rerun, and a
    cached list of metrics is copied on each read."""
    return _metrics_summary(str(run.path), _stamp(run.path / layout.METRICS_FILE), run)


@st.cache_data(show_spinner=False, max_entries=512)
def _evaluation(path: str, stamp: tuple[int, int], _run: registry.RunRecord) -> dict | None:
    return run_results.read_evaluation(_run)


def evaluation(run: registry.RunRecord) -> dict | None:
    """The run's stored evaluation.json, or None."""
    return _evaluation(str(run.path), _stamp(run.path / layout.EVALUATION_FILE), run)


@st.cache_data(show_spinner=False, max_entries=16)
def _predictions(path: str, stamp: tuple[int, int], _run: registry.RunRecord) -> dict | None:
    return run_results.read_predictions(_run)


def predictions(run: registry.RunRecord) -> dict | None:
    """The run's stored test predictions (labels, probabilities, y_true), or None."""
    return _predictions(str(run.path), _stamp(run.path / layout.PREDICTIONS_FILE), run)


@st.cache_data(show_spinner=False, max_entries=256)
def _saliency(
    path: str, modified: tuple[int, int], _run: registry.RunRecord, method: str, image: np.ndarray
) -> saliency.Saliency:
    return saliency.saliency_map(classifier(_run), image, method)


def saliency_map(run: registry.RunRecord, method: str, image: np.ndarray) -> saliency.Saliency:
    """A saliency map for one 28x28 digit, from the run's LiteRT model."""
    path = run.path / layout.LITE_MODEL_FILE
    return _saliency(str(path), _stamp(path), run, method, np.asarray(image, dtype=np.float32))


@st.cache_data(show_spinner=False, max_entries=16)
def _first_layer(path: str, modified: tuple[int, int]) -> saliency.FirstLayer | None:
    return saliency.first_layer_weights(Path(path))


def first_layer(run: registry.RunRecord) -> saliency.FirstLayer | None:
    """The first layer's weights as images, stored beside the run's LiteRT model."""
    path = run.path / layout.FIRST_LAYER_FILE
    return _first_layer(str(path), _stamp(path))
