"""MNIST digits drawn large and off-centre, then preprocessed, classify as well as the originals.

This is what makes the predict page trustworthy: a digit drawn anywhere on the 280 x 280 canvas,
or photographed dark on light, reaches the shipped model looking like an MNIST digit.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core import prediction, registry, robustness
from core.data import load_mnist
from core.preprocess import to_mnist

DIGITS = 3000
CANVAS = 280
ALLOWED_DROP = 0.01  # One accuracy point.


def shipped_model_path():
    """The shipped model's LiteRT file: what the predict page answers with."""
    shipped = [run for run in registry.list_runs(include_shipped=True) if run.shipped]
    paths = [
        run.path / registry.LITE_MODEL_FILE
        for run in shipped
        if (run.path / registry.LITE_MODEL_FILE).is_file()
    ]
    assert paths, f"no shipped model with a LiteRT file under {registry.SHIPPED_MODELS_DIR}"
    return paths[0]


def as_drawn(digit: np.ndarray, rng: np.random.Generator, dark_on_light: bool) -> np.ndarray:
    """The digit enlarged to 50-85% of the canvas, placed off-centre: as a canvas RGBA image
    (white on black), or as a grey scan (black on white)."""
    size = int(rng.integers(140, 240))
    enlarged = Image.fromarray(digit).resize((size, size), Image.Resampling.BILINEAR)
    field = Image.new("L", (CANVAS, CANVAS), 0)
    left, top = (int(v) for v in rng.integers(0, CANVAS - size + 1, 2))
    field.paste(enlarged, (left, top))
    ink = np.asarray(field)
    if dark_on_light:
        return 255 - ink
    return np.dstack([ink, ink, ink, np.full_like(ink, 255)])


def preprocessed(drawing: np.ndarray) -> np.ndarray:
    """What the predict page makes of it: the canvas path for RGBA drawings, the upload path else."""
    return (prediction.preprocess_canvas(drawing) if drawing.ndim == 3 else to_mnist(drawing)).pixels


def accuracies(model_path, count: int = DIGITS, seed: int = 0) -> tuple[float, float]:
    """(accuracy on the original 28x28 digits, accuracy after drawing + preprocessing)."""
    from core.inference import load_classifier

    classifier = load_classifier(model_path)
    data = load_mnist()
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(data.y_test), count, replace=False)
    originals = data.x_test[chosen].astype(np.float32)
    redrawn = np.stack(
        [preprocessed(as_drawn(data.x_test[i], rng, dark_on_light=k % 2 == 1)) for k, i in enumerate(chosen)]
    )

    def accuracy(images: np.ndarray) -> float:
        probabilities = classifier.probabilities_batch(images)
        return float(np.mean(probabilities.argmax(axis=1) == data.y_test[chosen]))

    return accuracy(originals), accuracy(redrawn)


def test_drawn_digits_keep_the_shipped_models_accuracy():
    original, redrawn = accuracies(shipped_model_path())
    print(f"accuracy on {DIGITS} test digits: original {original:.4f}, redrawn {redrawn:.4f}")
    assert original > 0.97
    assert redrawn >= original - ALLOWED_DROP, (original, redrawn)


def test_drawn_digits_are_not_blank_and_not_mistaken_for_inverted():
    rng = np.random.default_rng(1)
    digit = load_mnist().x_test[0]
    canvas, scan = to_mnist(as_drawn(digit, rng, False)), to_mnist(as_drawn(digit, rng, True))
    assert not canvas.blank and not canvas.inverted
    assert not scan.blank and scan.inverted
    # Both come back close to the MNIST original (MNIST's own 20x20 fit is not quite reproducible).
    for redrawn in (canvas, scan):
        assert np.abs(redrawn.pixels - digit.astype(np.float32)).mean() < 20


# --- The robustness suites (core/robustness.py): 300 digits each, 2,700 pictures, ~15 s ---------

GATED = [suite for suite in robustness.SUITES.values() if suite.gated]


@pytest.fixture(scope="module")
def shipped_classifier():
    from core.inference import load_classifier

    return load_classifier(shipped_model_path())


@pytest.mark.parametrize("suite", GATED, ids=[suite.name for suite in GATED])
def test_the_shipped_model_holds_up_on_every_gated_suite(shipped_classifier, suite):
    score = robustness.accuracy(shipped_classifier.probabilities_batch, robustness.suite_digits(suite))
    assert score >= robustness.GATE, f"{suite.label}: {100 * score:.1f}%"


def test_a_suite_is_the_same_pictures_every_time_and_suites_differ():
    first = robustness.suite_digits(robustness.SUITES["pencil"], count=20)
    again = robustness.suite_digits(robustness.SUITES["pencil"], count=20)
    np.testing.assert_array_equal(first.pixels, again.pixels)
    other = robustness.suite_digits(robustness.SUITES["phone"], count=20)
    assert not np.array_equal(first.labels, other.labels)  # Each suite draws its own digits.
    assert first.pixels.shape == (20, 28, 28) and first.pixels.max() == pytest.approx(255.0)


@pytest.mark.parametrize("suite", list(robustness.SUITES.values()), ids=list(robustness.SUITES))
def test_every_suite_looks_like_what_it_names(suite):
    """Dark-on-light suites are inverted by preprocessing, canvas-like ones are not; none is blank."""
    rng = np.random.default_rng(0)
    picture = suite.render(load_mnist().x_test[0], rng)
    result = to_mnist(picture)
    assert not result.blank
    assert result.inverted == (suite.name not in ("small", "rotated"))
