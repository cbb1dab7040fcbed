"""The import job's body: load an uploaded .keras model with Keras, check it on MNIST digits, wrap it
into the model contract if needed, register it as a run with its LiteRT copy, and evaluate it.

The server has already run the archive's static checks (core.queue.imports) before anything here
deserialises it; they run again here, as the job may be the first to see the bytes.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from core.data.mnist import load_mnist
from core.jobs.convert import load_keras_model, write_lite_files
from core.jobs.device import configure_tensorflow
from core.jobs.model_bodies import evaluate_job
from core.queue import imports, jobs
from core.queue.imports import (
    ACCEPTED_INPUTS,
    PLACEHOLDER_CONFIG,
    POOR_ACCURACY,
    SCALE_SAMPLE,
    SUM_TOLERANCE,
    ImportRefused,
    check_archive,
)
from core.runs import access, layout, limits, registry
from core.runs.registry import RunRecord
from core.serving.inference import ModelLoadError

# --- Loading and checking ---------------------------------------------------------------------


@dataclass
class ImportReport:
    run: RunRecord
    architecture: str
    parameters: int
    input_description: str
    input_scale: str  # "0-255" or "[0, 1]"
    scale_accuracy: dict[str, float]
    wrapped_with: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _load(path: Path, filename: str):
    try:
        return keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as error:
        text = str(error)
        if "lambda" in text.lower() or "safe_mode" in text:
            raise ImportRefused(
                f"{filename} contains code that safe loading refuses (a Lambda layer or similar)."
            ) from None
        if "Could not locate" in text or "custom" in text.lower():
            raise ImportRefused(f"{filename} needs custom code to load, so it is refused.") from None
        first = text.strip().splitlines()[0][:200] if text.strip() else type(error).__name__
        raise ImportRefused(f"{filename} could not be loaded as a Keras model ({first}).") from None


def _single_shape(shape: Any, what: str, filename: str) -> tuple:
    if isinstance(shape, (list, tuple)) and shape and all(d is None or isinstance(d, int) for d in shape):
        return tuple(shape[1:])
    raise ImportRefused(f"The model in {filename} has several {what}s; a digit classifier needs exactly one.")


def _shapes(model: Any, filename: str) -> tuple[tuple, tuple]:
    try:
        inputs, outputs = model.input_shape, model.output_shape
    except (AttributeError, ValueError):
        raise ImportRefused(
            f"The model in {filename} has no defined input shape (was it ever built?)."
        ) from None
    input_shape = _single_shape(inputs, "input", filename)
    output_shape = _single_shape(outputs, "output", filename)
    if input_shape not in ACCEPTED_INPUTS:
        raise ImportRefused(
            f"The model in {filename} takes input of shape {input_shape}; a digit here is "
            "28x28x1, 28x28 or 784 values."
        )
    if output_shape != (10,):
        raise ImportRefused(
            f"The model in {filename} gives output of shape {output_shape}; a digit classifier "
            "must give 10 values (one per digit)."
        )
    return input_shape, output_shape


def _describe(model: Any) -> str:
    """`Sequential: Dense 128, Dense 10` style summary of the layers that hold weights."""
    parts = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "InputLayer":
            continue
        if hasattr(layer, "units"):
            parts.append(f"Dense {layer.units}")
        elif hasattr(layer, "filters"):
            parts.append(f"{kind} {layer.filters}")
        elif layer.weights:
            parts.append(kind)
    body = ", ".join(parts[:8]) + (", ..." if len(parts) > 8 else "")
    return f"{type(model).__name__}: {body}" if body else type(model).__name__


def _sample_outputs(model: Any, x: np.ndarray, input_shape: tuple) -> np.ndarray:
    batch = x.reshape((len(x), *input_shape)).astype(np.float32)
    return np.asarray(model.predict(batch, batch_size=256, verbose=0), dtype=np.float64)


def _looks_like_probabilities(outputs: np.ndarray) -> bool:
    return bool(np.all(outputs >= -1e-6) and np.allclose(outputs.sum(axis=1), 1.0, atol=SUM_TOLERANCE))


def _wrap(model: Any, input_shape: tuple, unit_scale: bool, add_softmax: bool):
    """The uploaded model behind built-in layers that make it follow the model contract."""
    inputs = keras.Input(shape=(28, 28, 1), dtype="float32", name="pixels")
    x = inputs
    if unit_scale:
        x = keras.layers.Rescaling(1.0 / 255.0, name="import_rescale")(x)
    if input_shape != (28, 28, 1):
        x = keras.layers.Reshape(input_shape, name="import_reshape")(x)
    x = model(x)
    if add_softmax:
        x = keras.layers.Softmax(name="import_softmax")(x)
    return keras.Model(inputs, x, name="imported")


def import_model(
    data: bytes,
    filename: str,
    name: str | None = None,
    mnist=None,
    upload_id: str | None = None,
    run_meta: dict[str, Any] | None = None,
) -> ImportReport:
    """Check, wrap if needed, and register an uploaded model with its LiteRT copy; ImportRefused
    if it is unusable. Runs in a job process: it imports TensorFlow.

    `mnist` (a core.data.mnist.MnistData) supplies the sample for the input-scale check; loaded if
    omitted. `run_meta` marks the run (e.g. as a visitor's, `access.Who.run_meta`). The run's
    test evaluation is left to the caller (`import_job`).
    """
    check_archive(data, filename)
    configure_tensorflow()
    with tempfile.TemporaryDirectory(prefix="mnist-import-") as folder:
        upload = Path(folder) / "upload.keras"
        upload.write_bytes(data)
        model = _load(upload, filename)
        input_shape, _ = _shapes(model, filename)
        if mnist is None:
            mnist = load_mnist()
        x, y = mnist.x_train[:SCALE_SAMPLE], mnist.y_train[:SCALE_SAMPLE]
        try:
            raw = _sample_outputs(model, x.astype(np.float32), input_shape)
            unit = _sample_outputs(model, x.astype(np.float32) / 255.0, input_shape)
        except Exception as error:
            raise ImportRefused(
                f"The model in {filename} fails on MNIST digits ({str(error).strip()[:200]})."
            ) from None
        if not (np.all(np.isfinite(raw)) or np.all(np.isfinite(unit))):
            raise ImportRefused(f"The model in {filename} gives non-finite outputs (NaN or infinity).")
        accuracy = {
            "0-255": float((raw.argmax(axis=1) == y).mean()),
            "[0, 1]": float((unit.argmax(axis=1) == y).mean()),
        }
        unit_scale = accuracy["[0, 1]"] > accuracy["0-255"]
        scale = "[0, 1]" if unit_scale else "0-255"
        add_softmax = not _looks_like_probabilities(unit if unit_scale else raw)
        wrapped_with = []
        if unit_scale:
            wrapped_with.append("Rescaling(1/255): the model expects pixels in [0, 1]")
        if input_shape != (28, 28, 1):
            wrapped_with.append(f"Reshape{input_shape}: the model takes a {ACCEPTED_INPUTS[input_shape]}")
        if add_softmax:
            wrapped_with.append("Softmax: the model outputs scores (logits), not probabilities")
        warnings = []
        if max(accuracy.values()) < POOR_ACCURACY:
            warnings.append(
                f"Neither input scale classifies MNIST training digits well (best "
                f"{100 * max(accuracy.values()):.1f}%): this may not be a model trained on MNIST."
            )
        info = {
            "file": filename,
            "architecture": _describe(model),
            "parameters": int(model.count_params()),
            "input": ACCEPTED_INPUTS[input_shape],
            "input_scale": scale,
            "scale_accuracy": accuracy,
            "wrapped_with": wrapped_with,
            "warnings": warnings,
            "imported": layout.now_iso(),
            "upload": upload_id,
        }
        final = _wrap(model, input_shape, unit_scale, add_softmax) if wrapped_with else None
        run = _register(data if final is None else None, final, info, name or Path(filename).stem, run_meta)
    _make_servable(run)
    return ImportReport(
        run=run,
        architecture=info["architecture"],
        parameters=info["parameters"],
        input_description=info["input"],
        input_scale=scale,
        scale_accuracy=accuracy,
        wrapped_with=wrapped_with,
        warnings=warnings,
    )


def _register(
    original: bytes | None, wrapped: Any, info: dict[str, Any], name: str, run_meta: dict[str, Any] | None
) -> RunRecord:
    """A finished run folder holding the model (the upload's bytes, or the wrapped model)."""

    def add_model(folder: Path) -> None:
        if wrapped is None:
            (folder / layout.MODEL_FILE).write_bytes(original)
        else:
            wrapped.save(folder / layout.MODEL_FILE)

    now = layout.now_iso()
    finished = {
        "state": "finished",
        "phase": "done",
        "launcher": "import",
        "started": now,
        "ended": now,
        "progress": {"epochs": 0},
    }
    return registry.create_run(
        PLACEHOLDER_CONFIG,
        name,
        status_changes=finished,
        meta_changes={"imported": info, **(run_meta or {})},
        add_files=add_model,
    )


def _make_servable(run: RunRecord) -> None:
    """The saved model must load like any other (safe mode, contract) and convert to LiteRT with
    the same answers; else the import is undone."""
    try:
        write_lite_files(
            load_keras_model(run.path / layout.MODEL_FILE), run.path, source_name=layout.MODEL_FILE
        )
    except ModelLoadError as error:
        registry.delete_run(run)
        raise ImportRefused(f"The imported model does not work as a digit classifier here: {error}") from None


def import_job(target: str) -> dict[str, Any]:
    """The import job's body: import the stored upload, evaluate it, and report for the page.

    A retry after a kill during the evaluation finds the run already registered and only
    evaluates it; the upload is removed once the job has an outcome.
    """
    payload = (jobs.read("import", target) or {}).get("payload") or {}
    filename = str(payload.get("filename") or "model.keras")
    upload = imports.upload_path(target)
    try:
        run = next(
            (run for run in registry.list_runs(include_shipped=False) if imports.upload_of(run) == target),
            None,
        )
        if run is None:
            if not upload.is_file():
                raise ImportRefused(f"The upload of {filename} is no longer on the server: upload it again.")
            run = import_model(
                upload.read_bytes(),
                filename,
                payload.get("name"),
                upload_id=target,
                run_meta=payload.get("run_meta"),
            ).run
        evaluation = evaluate_job(run.id)
        # A visitor's import counts among their runs kept.
        limits.prune_visitor_runs(access.who_from_run_meta(payload.get("run_meta")))
    finally:
        upload.unlink(missing_ok=True)
    info = registry.reload(run).meta["imported"]
    return {"run_id": run.id, "name": run.name, "test_accuracy": evaluation["accuracy"], **info}
