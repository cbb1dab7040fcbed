"""What the predict page needs besides the model: which models can be picked, and turning a
canvas drawing or an uploaded file into the 28x28 digit a model sees.

No Streamlit and no TensorFlow here, so everything is testable on its own.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from core.data.preprocess import Preprocessed, to_mnist
from core.data.uploads import decode_upload
from core.runs import compare, layout, run_results
from core.runs.registry import RunRecord

UPLOAD_TYPES = ("png", "jpg", "jpeg", "bmp", "gif", "webp")
# A 10 MB file can hold far more pixels than any photo of one digit needs (a decompression
# bomb); 50 megapixels still accepts every phone camera's full resolution.
MAX_UPLOAD_PIXELS = 50_000_000
PREVIEW_SIZE = 560
# Uploads decoded at once, server-wide: each may take up to uploads.MAX_DECODE_BYTES, so ten
# visitors uploading together wait their turn instead of multiplying the server's memory.
DECODES_AT_ONCE = 2
_decoding = threading.BoundedSemaphore(DECODES_AT_ONCE)
# Drawings at least this wide and high are halved before preprocessing (the canvas is 280 px).
CANVAS_REDUCE_ABOVE = 200


@dataclass(frozen=True)
class ModelChoice:
    id: str
    label: str
    run: RunRecord
    shipped: bool


def model_choices(runs: Iterable[RunRecord]) -> list[ModelChoice]:
    """Shipped models first (the default is the first), then every run with usable weights."""
    choices = []
    for run in compare.comparable_runs(list(runs)):
        path = run_results.usable_model_path(run)
        choices.append(ModelChoice(run.id, describe_run(run, path), run, run.shipped))
    return sorted(choices, key=lambda choice: not choice.shipped)  # Stable: keeps newest first.


def describe_run(run: RunRecord, path: Path) -> str:
    """`name · architecture · status · test accuracy`, for the picker."""
    status = "shipped" if run.shipped else run.state
    if path.name == layout.CHECKPOINT_FILE:
        status += ", last checkpoint"
    accuracy = run.status.get("test_accuracy")  # Written by the worker or the background evaluation.
    tested = f"{100 * accuracy:.2f}% test accuracy" if isinstance(accuracy, (int, float)) else "not tested"
    return f"{run.name} · {run.description} · {status} · {tested}"


def upload_limit_bytes(max_upload_megabytes: float) -> int:
    """Streamlit's `server.maxUploadSize` is in megabytes of 1024 * 1024 bytes."""
    return int(max_upload_megabytes * 1024 * 1024)


def preprocess_upload(data: bytes, max_bytes: int) -> tuple[Preprocessed, Image.Image]:
    """An uploaded file as the model's 28x28 input, and a small preview of it.

    Raises ImageError, with a message for the user, for a file that cannot be used.
    """
    with _decoding:
        image = decode_upload(data, max_bytes, MAX_UPLOAD_PIXELS)
        digit = to_mnist(image)
        preview = image.copy()
        preview.thumbnail((PREVIEW_SIZE, PREVIEW_SIZE))  # A large photo is not sent to the browser.
    if preview.mode in ("RGBA", "LA", "PA", "P") and (preview.mode != "P" or "transparency" in preview.info):
        # Transparency shown on the page theme could hide the ink: show it on the paper it implies.
        paper = Image.new("RGBA", preview.size, "white" if digit.inverted else "black")
        preview = Image.alpha_composite(paper, preview.convert("RGBA")).convert("RGB")
    return digit, preview


def preprocess_canvas(image_data: np.ndarray | None) -> Preprocessed | None:
    """The canvas's RGBA drawing as the model's input; None before anything was sent.

    The 280 x 280 drawing is halved first (2x2 means): a digit drawn across most of the canvas
    still has 3-6 times the 20 px MNIST needs, and every stroke is answered in half the time.
    """
    if image_data is None or np.asarray(image_data).size == 0:
        return None
    drawing = Image.fromarray(np.ascontiguousarray(image_data, dtype=np.uint8))
    if min(drawing.size) >= CANVAS_REDUCE_ABOVE:
        drawing = drawing.reduce(2)
    return to_mnist(drawing, drawn=True)
