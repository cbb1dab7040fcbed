"""Robustness suites: MNIST test digits turned into what people actually bring to the app.

Each suite renders test digits the way a kind of real picture looks (an enlarged low-resolution
scan, pencil on paper, a phone photo, ...), sends them through the app's own path (the same
preprocessing as an upload, then the model) and counts the right answers. Clean MNIST sits beside
them for reference. Everything is seeded, so a suite is the same digits and pictures every time.

No TensorFlow here: models answer through LiteRT, as on the predict page.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from core.data import ink, preprocess
from core.data.mnist import load_mnist
from core.data.preprocess import to_mnist

DIGITS_PER_SUITE = 300
SEED = 2026
GATE = 0.97  # What the shipped model must reach on every gated suite (tests/unit/test_robustness.py).
PAPER_SIDE = 224  # The side of most rendered pictures: a modest photo or scan.

Render = Callable[[np.ndarray, np.random.Generator], Image.Image]


@functools.cache
def method_stamp() -> str:
    """What a model's scores depend on besides the model: the suites and the preprocessing (the
    code of this module, core/data/preprocess.py and core/data/ink.py) and the digits per suite.
    Scores stored under another stamp were measured another way and are out of date. The code is
    read as Python's syntax tree without docstrings, so comments, docstrings, formatting and line
    endings do not count; the project runs from its source files, which this needs."""
    digest = hashlib.sha256(str(DIGITS_PER_SUITE).encode())
    for source in (Path(__file__), Path(preprocess.__file__), Path(ink.__file__)):
        digest.update(_code_without_prose(source.read_text(encoding="utf-8")).encode())
    return digest.hexdigest()[:16]


def _code_without_prose(source: str) -> str:
    """The syntax tree of `source`, its docstrings (any string standing alone as a statement) left out."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list):
            kept = [
                statement
                for statement in body
                if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant))
            ]
            node.body = kept or [ast.Pass()]
    return ast.dump(tree)


@dataclass(frozen=True)
class Suite:
    name: str
    label: str
    description: str
    render: Render
    gated: bool = True  # Gated suites must stay >= 97% for the shipped model (tests).


def _enlarged(digit: np.ndarray, side: int, resample=Image.Resampling.BILINEAR) -> Image.Image:
    return Image.fromarray(digit).resize((side, side), resample)


def _on_paper(ink: Image.Image, rng: np.random.Generator, paper: float, ink_level: float, noise: float):
    """Dark ink on light paper: `ink` is white-on-black coverage (0-255), mixed between the
    paper's and the ink's grey, plus sensor noise."""
    coverage = np.asarray(ink, dtype=np.float32) / 255.0
    grey = paper + (ink_level - paper) * coverage + rng.normal(0.0, noise, coverage.shape)
    return Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8))


def _uneven(ink: Image.Image, rng: np.random.Generator, faintest: float) -> Image.Image:
    """Ink of uneven strength, as pen pressure or a drying pen leaves it: coverage times a smooth
    random field between `faintest` and 1 (a 3x3 grid of levels, interpolated)."""
    levels = Image.fromarray(rng.uniform(faintest, 1.0, (3, 3)).astype(np.float32), "F")
    field = np.asarray(levels.resize(ink.size, Image.Resampling.BILINEAR), dtype=np.float32)
    return Image.fromarray((np.asarray(ink, dtype=np.float32) * field).astype(np.uint8))


def _low_resolution(side: int, resample) -> Render:
    """The whole 28 px field scanned at `side` px (random 10-14 when side is 0), then enlarged
    about 8x by a viewer: blocky (nearest) or smooth (bicubic). The pen's ink is uneven."""

    def render(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
        low = side or int(rng.integers(10, 15))
        small = _uneven(Image.fromarray(digit), rng, 0.3).resize((low, low), Image.Resampling.BOX)
        large = small.resize((low * 8, low * 8), resample)
        return _on_paper(large, rng, paper=235.0, ink_level=30.0, noise=2.0)

    return render


def _pencil(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """Thin, light grey strokes of uneven pressure on off-white, textured paper."""
    ink = _uneven(_enlarged(digit, PAPER_SIDE).filter(ImageFilter.MinFilter(5)), rng, 0.25)
    paper = 225.0 + rng.uniform(-10, 10)
    return _on_paper(ink, rng, paper=paper, ink_level=paper - rng.uniform(70, 110), noise=6.0)


def _phone_photo(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """A digit on paper photographed by a phone: uneven light, noise, a slight tilt and
    perspective, JPEG quality 30."""
    page = Image.new("L", (PAPER_SIDE, PAPER_SIDE), 0)
    page.paste(_enlarged(digit, 160), (32, 32))
    page = page.rotate(rng.uniform(-6, 6), Image.Resampling.BILINEAR)
    skew = rng.uniform(-0.0006, 0.0006, 2)
    page = page.transform(
        page.size, Image.Transform.PERSPECTIVE, (1, 0, 0, 0, 1, 0, *skew), Image.Resampling.BILINEAR
    )
    ys, xs = np.mgrid[0:PAPER_SIDE, 0:PAPER_SIDE] / PAPER_SIDE
    light = 200.0 + 40.0 * (rng.uniform(-1, 1) * xs + rng.uniform(-1, 1) * ys)
    coverage = np.asarray(page, dtype=np.float32) / 255.0
    grey = light * (1.0 - 0.75 * coverage) + rng.normal(0.0, 5.0, coverage.shape)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=30)
    return Image.open(io.BytesIO(buffer.getvalue()))


def _marker(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """Marker strokes, dark on white: a 9 px maximum filter at 224 px widens every stroke by 8 px,
    one MNIST pixel (MNIST's own strokes are about 2-3 pixels wide)."""
    ink = _enlarged(digit, PAPER_SIDE).filter(ImageFilter.MaxFilter(9))
    return _on_paper(ink, rng, paper=245.0, ink_level=20.0, noise=2.0)


def _small_off_centre(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """A small digit (40-70 px) anywhere on a 280 px canvas (its corner placed uniformly at
    random, so it often lies near an edge), white on black."""
    side = int(rng.integers(40, 71))
    canvas = Image.new("L", (280, 280), 0)
    canvas.paste(_enlarged(digit, side), tuple(int(v) for v in rng.integers(0, 280 - side, 2)))
    return canvas


def _rotated(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """Turned by 8-15 degrees (uniform), clockwise or anticlockwise at random, white on black."""
    angle = rng.uniform(8, 15) * rng.choice([-1, 1])
    return _enlarged(digit, PAPER_SIDE).rotate(angle, Image.Resampling.BILINEAR)


def _dark_on_light(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """A clean scan of dark ink on white paper."""
    return _on_paper(_enlarged(digit, PAPER_SIDE), rng, paper=250.0, ink_level=15.0, noise=1.0)


SUITES: dict[str, Suite] = {
    suite.name: suite
    for suite in (
        Suite(
            "lowres_blocky",
            "Low-res scan, blocky",
            "28 px digit at 10-14 px, enlarged 8x (nearest)",
            _low_resolution(0, Image.Resampling.NEAREST),
        ),
        Suite(
            "lowres_smooth",
            "Low-res scan, smooth",
            "28 px digit at 10-14 px, enlarged 8x (bicubic)",
            _low_resolution(0, Image.Resampling.BICUBIC),
        ),
        Suite(
            "lowres_8px",
            "Low-res scan, 8 px",
            "28 px digit at 8 px, enlarged 8x (nearest); reported, not gated",
            _low_resolution(8, Image.Resampling.NEAREST),
            gated=False,
        ),
        Suite("pencil", "Pencil", "thin light-grey strokes on textured paper", _pencil),
        Suite(
            "phone", "Phone photo", "uneven light, noise, tilt, perspective, JPEG quality 30", _phone_photo
        ),
        Suite(
            "marker",
            "Thick marker",
            "strokes 8 px (one MNIST pixel) thicker at 224 px, dark on white",
            _marker,
        ),
        Suite(
            "small",
            "Small, off-centre",
            "40-70 px digit placed anywhere on a 280 px canvas",
            _small_off_centre,
        ),
        Suite(
            "rotated",
            "Rotated 8-15 degrees",
            "turned 8-15 degrees, clockwise or anticlockwise at random",
            _rotated,
        ),
        Suite("dark_on_light", "Dark on light", "a clean scan, dark ink on white", _dark_on_light),
    )
}


@dataclass(frozen=True)
class SuiteDigits:
    """One suite's preprocessed 28x28 inputs and their true labels."""

    pixels: np.ndarray  # (N, 28, 28) float32, 0-255
    labels: np.ndarray  # (N,) uint8


def suite_digits(suite: Suite, count: int = DIGITS_PER_SUITE, preprocess: Callable = to_mnist) -> SuiteDigits:
    """The suite's pictures of `count` test digits, through `preprocess` (the app's by default)."""
    data = load_mnist()
    rng = np.random.default_rng([SEED, *suite.name.encode()])
    chosen = rng.choice(len(data.y_test), count, replace=False)
    pixels = np.stack([preprocess(suite.render(data.x_test[i], rng)).pixels for i in chosen])
    return SuiteDigits(pixels.astype(np.float32), data.y_test[chosen])


def clean_digits(count: int = DIGITS_PER_SUITE) -> SuiteDigits:
    """MNIST test digits as they are, for reference."""
    data = load_mnist()
    chosen = np.random.default_rng(SEED).choice(len(data.y_test), count, replace=False)
    return SuiteDigits(data.x_test[chosen].astype(np.float32), data.y_test[chosen])


def accuracy(probabilities_batch: Callable[[np.ndarray], np.ndarray], digits: SuiteDigits) -> float:
    return float(np.mean(probabilities_batch(digits.pixels).argmax(axis=1) == digits.labels))


def scores(
    probabilities_batch: Callable[[np.ndarray], np.ndarray], count: int = DIGITS_PER_SUITE
) -> dict[str, float]:
    """Accuracy on clean MNIST and on every suite, by suite name ("clean" first)."""
    results = {"clean": accuracy(probabilities_batch, clean_digits(count))}
    for suite in SUITES.values():
        results[suite.name] = accuracy(probabilities_batch, suite_digits(suite, count))
    return results


def labels() -> dict[str, str]:
    """Display names by suite, clean MNIST first."""
    return {"clean": "Clean MNIST", **{suite.name: suite.label for suite in SUITES.values()}}


def examples(test_index: int = 0) -> list[tuple[Suite, Image.Image, np.ndarray]]:
    """One test digit as each suite draws it, and what the preprocessing makes of it."""
    digit = load_mnist().x_test[test_index]
    pictures = []
    for suite in SUITES.values():
        picture = suite.render(digit, np.random.default_rng(test_index))
        pictures.append((suite, picture, to_mnist(picture).pixels))
    return pictures
