"""Keras models converted to LiteRT as a job would, for tests of what the server runs."""

from __future__ import annotations

from pathlib import Path

from core.jobs.convert import write_lite_files
from core.runs import layout, registry
from core.serving.inference import LITE_MODEL_FILE, Classifier, load_classifier


def lite_classifier(model, folder: Path) -> Classifier:
    """Save `model` as `folder`/model.keras, write its LiteRT files, and load them."""
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / layout.MODEL_FILE)
    write_lite_files(model, folder, source_name=layout.MODEL_FILE)
    return load_classifier(folder / LITE_MODEL_FILE)


def shipped_model_folder() -> Path:
    """The first-launch model's folder (models/<id>/), which must hold its LiteRT files."""
    shipped = [run.path for run in registry.list_runs(include_shipped=True) if run.shipped]
    assert shipped, "No shipped model found under models/<id>/: the first-launch model must be committed."
    return shipped[0]
