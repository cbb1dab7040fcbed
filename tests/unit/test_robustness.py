"""MNIST digits drawn large and off-centre, then preprocessed, classify as well as the originals.

This is what makes the predict page trustworthy: a digit drawn anywhere on the 280 x 280 canvas,
or photographed dark on light, reaches the shipped model looking like an MNIST digit.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core.data import robustness
from core.data.mnist import load_mnist
from core.data.preprocess import to_mnist
from core.queue import model_states
from core.runs import layout, registry
from core.serving import prediction

# 1,500 digits: the one-point margin is 15 digits, and redrawing changes the answer's correctness
# for 3 of them (2 lost, 1 gained: 99.40% -> 99.33%), a standard error near 0.12 points, so a real
# drop of a point still shows; 3,000 digits (99.33% -> 98.97%) took twice the time.
DIGITS = 1500
CANVAS = 280
ALLOWED_DROP = 0.01  # One accuracy point.


def shipped_model_path():
    """The shipped model's LiteRT file: what the predict page answers with."""
    shipped = [run for run in registry.list_runs(include_shipped=True) if run.shipped]
    paths = [
        run.path / layout.LITE_MODEL_FILE for run in shipped if (run.path / layout.LITE_MODEL_FILE).is_file()
    ]
    assert paths, f"no shipped model with a LiteRT file under {layout.SHIPPED_MODELS_DIR}"
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
    from core.serving.inference import load_classifier

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


@pytest.mark.slow
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


# --- The robustness suites (core/data/robustness.py): 300 digits each, 2,700 pictures, ~15 s ---------

GATED = [suite for suite in robustness.SUITES.values() if suite.gated]


@pytest.fixture(scope="module")
def shipped_classifier():
    from core.serving.inference import load_classifier

    return load_classifier(shipped_model_path())


def test_the_scoring_stamp_follows_code_not_prose():
    """Comments, docstrings and layout do not make stored scores stale; a change of code does."""
    code = 'def f(x):\n    """Why."""\n    return x + 1\n'
    reworded = '# A comment.\ndef f(x):\n    """Why, said better."""\n\n    return (x\n            + 1)\n'
    assert robustness._code_without_prose(code) == robustness._code_without_prose(reworded)
    assert robustness._code_without_prose(code) != robustness._code_without_prose(code.replace("1", "2"))


def test_the_shipped_models_stored_scores_are_up_to_date():
    """The Robustness page shows the shipped model's committed scores; a change to the suites or
    the preprocessing needs them measured again (`python bench/robustness.py --store`)."""
    shipped = next(run for run in registry.list_runs(include_shipped=True) if run.shipped)
    scores = model_states.robustness_scores(shipped)
    assert scores is not None, "models/*/robustness.json is out of date: run bench/robustness.py --store"
    assert all(scores[suite.name] >= robustness.GATE for suite in robustness.SUITES.values() if suite.gated)


@pytest.mark.slow
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


# --- Shadows and specks on a scanned page: the shipped model's answer stays the same ------------

SHADOWED_DIGITS = 150


def _scanned(digit: np.ndarray, rng: np.random.Generator, white: bool) -> Image.Image:
    """The digit enlarged to 224 px in dark ink (30) on a noiseless white page, or on textured
    235/255 paper (noise sigma 4)."""
    coverage = np.asarray(Image.fromarray(digit).resize((224, 224), Image.Resampling.BILINEAR)) / 255.0
    paper, noise = (255.0, 0.0) if white else (235.0, 4.0)
    grey = paper + (30.0 - paper) * coverage + rng.normal(0.0, noise, coverage.shape)
    return Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8))


def _shadowed(page: Image.Image, strength: int, side: str) -> Image.Image:
    """The right or left 18% of the page darkened by `strength` grey levels (a phone's shadow)."""
    grey = np.asarray(page, np.float32).copy()
    band = round(0.18 * grey.shape[1])
    if side == "right":
        grey[:, -band:] -= strength
    else:
        grey[:, :band] -= strength
    return Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8))


def _speckled(page: Image.Image, side: str) -> Image.Image:
    """A dark 3x3 speck 30 px from the digit's box, on one side of it."""
    inked = np.asarray(page) < 128
    rows, cols = np.flatnonzero(inked.any(axis=1)), np.flatnonzero(inked.any(axis=0))
    middle_row, middle_col = (rows[0] + rows[-1]) // 2, (cols[0] + cols[-1]) // 2
    x, y = {
        "below": (middle_col, rows[-1] + 30),
        "above": (middle_col, rows[0] - 33),
        "right": (cols[-1] + 30, middle_row),
        "left": (cols[0] - 33, middle_row),
    }[side]
    speckled = page.copy()
    speckled.paste(30, (int(x), int(y), int(x) + 3, int(y) + 3))
    return speckled


@pytest.mark.slow
def test_a_shadow_band_or_a_speck_does_not_change_the_shipped_models_answer(shipped_classifier):
    """150 test digits scanned dark on light (224 px; alternately a noiseless white page and
    textured 235/255 paper), then a shadow over 18% of the page at 55, 70 and 90/255 (left and
    right in turn), or a 3x3 speck 30 px from the digit. The model must answer as on the clean
    page for at least 99% of them (measured 100%; with the earlier plane-through-the-border
    background, 70 and 90/255 left 74 of the 75 white pages blank)."""
    data = load_mnist()
    rng = np.random.default_rng(12)
    chosen = rng.choice(len(data.y_test), SHADOWED_DIGITS, replace=False)
    pages = [_scanned(data.x_test[i], rng, white=k % 2 == 1) for k, i in enumerate(chosen)]

    def answers(pictures) -> np.ndarray:
        return shipped_classifier.probabilities_batch(
            np.stack([to_mnist(p).pixels for p in pictures])
        ).argmax(1)

    clean = answers(pages)
    assert np.mean(clean == data.y_test[chosen]) >= 0.97
    sides = ("left", "right")
    for strength in (55, 70, 90):
        shaded = answers(_shadowed(page, strength, sides[k % 2]) for k, page in enumerate(pages))
        assert np.mean(shaded == clean) >= 0.99, f"shadow {strength}/255"
    around = ("below", "right", "above", "left")
    speckled = answers(_speckled(page, around[k % 4]) for k, page in enumerate(pages))
    assert np.mean(speckled == clean) >= 0.99, "speck"
