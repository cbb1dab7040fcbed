"""The predict page's helpers: which models can be picked, and reading canvas and uploads."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from core.data.uploads import ImageError
from core.networks.config import PRESETS
from core.runs import atomic_files, layout, registry, run_results
from core.serving import prediction


def make_run(name, state, files=(), accuracy=None):
    run = registry.create_run(PRESETS["fast-cnn"].config, name)
    registry.update_status(run, {"state": state, "test_accuracy": accuracy})
    for file in files:
        (run.path / file).write_bytes(b"weights")
    return registry.reload(run)


def test_pickable_models_and_labels(runs_dir, tmp_path):
    make_run("no weights", "failed")
    make_run("crashed late", "failed", [layout.CHECKPOINT_FILE])
    make_run("still training", "running", [layout.CHECKPOINT_FILE])
    make_run("stopped", "stopped", [layout.MODEL_FILE])
    make_run("done", "finished", [layout.MODEL_FILE, layout.CHECKPOINT_FILE], accuracy=0.9912)
    (runs_dir / "broken").mkdir()
    shipped_dir = tmp_path / "shipped" / "first-launch"
    shipped_dir.mkdir(parents=True)
    atomic_files.write_json(shipped_dir / layout.CONFIG_FILE, PRESETS["fast-cnn"].config.to_dict())
    atomic_files.write_json(shipped_dir / layout.META_FILE, {"name": "First-launch CNN"})
    atomic_files.write_json(shipped_dir / layout.EVALUATION_FILE, {"accuracy": 0.9901})
    (shipped_dir / layout.MODEL_FILE).write_bytes(b"weights")
    shipped = registry.open_run(shipped_dir, shipped=True)

    choices = prediction.model_choices([*registry.list_runs(include_shipped=False), shipped])

    assert [c.label.split(" · ")[0] for c in choices] == [
        "First-launch CNN",
        "done",
        "stopped",
        "crashed late",
    ]
    assert choices[0].shipped and choices[0].id == "first-launch"
    architecture = PRESETS["fast-cnn"].config.describe()
    assert choices[0].label == f"First-launch CNN · {architecture} · shipped · 99.01% test accuracy"
    assert choices[1].label.endswith("finished · 99.12% test accuracy")
    assert (
        choices[1].run.name == "done"
        and run_results.usable_model_path(choices[1].run).name == layout.MODEL_FILE
    )
    assert choices[2].label.endswith("stopped · not tested")
    assert choices[3].label.endswith("failed, last checkpoint · not tested")
    assert run_results.usable_model_path(choices[3].run).name == layout.CHECKPOINT_FILE


def test_no_models(runs_dir):
    assert prediction.model_choices(registry.list_runs(include_shipped=False)) == []


def test_upload_limit_is_in_mebibytes():
    assert prediction.upload_limit_bytes(10) == 10 * 1024 * 1024


def png_bytes(image, format="PNG"):
    buffer = io.BytesIO()
    image.save(buffer, format=format)
    return buffer.getvalue()


def test_upload_of_dark_ink_on_paper():
    page = Image.new("RGB", (300, 400), "white")
    ImageDraw.Draw(page).line([(150, 60), (150, 340)], fill="black", width=24)
    digit, preview = prediction.preprocess_upload(png_bytes(page, "JPEG"), 10 * 1024 * 1024)
    assert not digit.blank and digit.inverted
    assert preview.size == (300, 400)
    assert digit.pixels.shape == (28, 28) and digit.pixels.max() == pytest.approx(255)


def test_upload_errors_are_user_messages():
    with pytest.raises(ImageError, match="not an image"):
        prediction.preprocess_upload(b"%PDF-1.7 not a picture", 10_000_000)
    tiny_limit = prediction.upload_limit_bytes(0.001)
    with pytest.raises(ImageError, match="too large"):
        prediction.preprocess_upload(png_bytes(Image.new("L", (400, 400))) + b"\0" * tiny_limit, tiny_limit)
    bomb = png_bytes(Image.new("1", (10_000, 6_000)))
    assert len(bomb) < 100_000
    with pytest.raises(ImageError, match="too many pixels"):
        prediction.preprocess_upload(bomb, 10_000_000)


def test_a_large_photo_gets_a_small_preview():
    photo = Image.new("RGB", (4000, 3000), "white")
    ImageDraw.Draw(photo).ellipse([(1500, 700), (2500, 2300)], outline="black", width=120)
    digit, preview = prediction.preprocess_upload(png_bytes(photo, "JPEG"), 10 * 1024 * 1024)
    assert not digit.blank
    assert preview.size == (prediction.PREVIEW_SIZE, 420)


def test_a_transparent_upload_is_previewed_on_the_paper_it_implies():
    cut_out = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    ImageDraw.Draw(cut_out).line([(100, 20), (100, 180)], fill=(10, 10, 10, 255), width=16)
    digit, preview = prediction.preprocess_upload(png_bytes(cut_out), 10 * 1024 * 1024)
    assert digit.inverted and not digit.blank
    assert preview.mode == "RGB" and preview.getpixel((5, 5)) == (255, 255, 255)
    assert preview.getpixel((100, 100)) == (10, 10, 10)


def test_canvas_before_and_after_drawing():
    assert prediction.preprocess_canvas(None) is None
    canvas = np.zeros((280, 280, 4), np.uint8)
    canvas[..., 3] = 255
    assert prediction.preprocess_canvas(canvas).blank
    canvas[40:240, 130:150, :3] = 255
    digit = prediction.preprocess_canvas(canvas)
    assert not digit.blank and not digit.inverted
