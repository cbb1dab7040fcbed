"""Per-server caches around the core loaders: the one core module that imports Streamlit.

Everything here is shared by all sessions and must be treated as read-only by callers.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import streamlit as st

from core import explore
from core.data import MnistData, load_mnist
from core.device import DeviceInfo, probe_device


@st.cache_resource(show_spinner="Loading the 70,000 MNIST digits...")
def mnist() -> MnistData:
    return load_mnist()


@st.cache_resource(show_spinner=False)
def _device_probe() -> Future:
    """Started once per server; the answer takes seconds because it imports TensorFlow."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="device-probe").submit(probe_device)


def training_device() -> DeviceInfo | None:
    """The device training uses, or None while the probe is still running."""
    probe = _device_probe()
    return probe.result() if probe.done() else None


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
