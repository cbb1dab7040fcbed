"""Makes README's pictures: the explorer with its digits loaded, and a GIF of drawing a digit on
Predict while the answer appears.

    .venv/bin/python -m docs.make_media            # needs the test tools: bash scripts/setup.sh --dev

Starts its own Streamlit server on 127.0.0.1 and a free port with a temporary runs folder (so the
pages show the shipped model only), drives Debian chromium with Playwright and writes
docs/media/explore.png and docs/media/predict.gif. The GIF is built from screenshots with Pillow:
Playwright's own video recorder needs a browser download.
"""

from __future__ import annotations

import argparse
import io
import math
import tempfile
from pathlib import Path

from PIL import Image
from playwright.sync_api import expect, sync_playwright

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, streamlit_server

MEDIA = Path(__file__).resolve().parent / "media"
VIEWPORT = {"width": 1280, "height": 1060}  # Tall enough for the explorer's whole grid.
PAGE_TIMEOUT_MS = 60_000
MODEL_LOAD_TIMEOUT_MS = 120_000
GIF_WIDTH = 880  # At most, in pixels: about what GitHub shows of a README image.
FRAME_MS, ANSWER_HOLD_MS = 90, 3500


def wait_until_idle(page) -> None:
    """Streamlit shows its running indicator while a script runs; wait until it is gone."""
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=PAGE_TIMEOUT_MS)


def explore_screenshot(page, url: str, path: Path) -> None:
    page.goto(f"{url}/explore")
    expect(page.get_by_role("heading", name="Explore digits")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    expect(page.locator(".digit-grid .digit-label")).to_have_count(100, timeout=PAGE_TIMEOUT_MS)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.digit-grid img')]"
        ".every(img => img.complete && img.naturalWidth > 0)",
        timeout=PAGE_TIMEOUT_MS,
    )
    wait_until_idle(page)
    page.wait_for_timeout(500)  # Fonts and the last paint.
    page.screenshot(path=path)


def three(box: dict) -> list[tuple[float, float]]:
    """A handwritten 3 as one stroke across the canvas: two bowls open to the left."""
    left, top, size = box["x"], box["y"], box["width"]
    points = []
    for top_bowl, start, end in ((True, -150, 90), (False, -90, 150)):
        centre_y = 0.32 if top_bowl else 0.66
        for step in range(16):
            angle = math.radians(start + (end - start) * step / 15)
            x = 0.48 + 0.2 * math.cos(angle)
            y = centre_y + 0.16 * math.sin(angle)
            points.append((left + size * x, top + size * y))
    return points


def capture(page, clip: dict) -> Image.Image:
    return Image.open(io.BytesIO(page.screenshot(clip=clip))).convert("RGB")


def predict_gif(page, url: str, path: Path) -> None:
    page.goto(f"{url}/predict")
    expect(page.get_by_role("heading", name="Predict a digit")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    canvas = page.locator("canvas.upper-canvas")
    expect(canvas).to_be_visible(timeout=MODEL_LOAD_TIMEOUT_MS)
    expect(page.get_by_text("Draw a digit on the canvas")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    wait_until_idle(page)
    page.wait_for_timeout(500)

    # The canvas and the answer beside it, from the input switch to the probability bars' axis.
    box = canvas.bounding_box()
    main = page.get_by_test_id("stMain").bounding_box()
    bars = page.locator(".stPlotlyChart").last.bounding_box()
    top = page.get_by_text("Input", exact=True).first.bounding_box()["y"] - 16
    clip = {
        "x": box["x"] - 24,
        "y": top,
        "width": min(main["x"] + main["width"], VIEWPORT["width"]) - box["x"],
        "height": min(bars["y"] + bars["height"], VIEWPORT["height"]) + 8 - top,
    }
    frames, durations = [capture(page, clip)], [1000]  # The empty page first.

    points = three(box)
    page.mouse.move(*points[0])
    page.mouse.down()
    for number, point in enumerate(points[1:], 1):
        page.mouse.move(*point, steps=2)
        if number % 2 == 0:
            frames.append(capture(page, clip))
            durations.append(FRAME_MS)
    page.mouse.up()
    answer = page.locator(".predicted-digit")
    for _ in range(40):  # Frames while the answer comes, until it is there.
        frames.append(capture(page, clip))
        durations.append(FRAME_MS)
        if answer.count():
            break
        page.wait_for_timeout(FRAME_MS)
    expect(answer).to_have_text("3", timeout=PAGE_TIMEOUT_MS)
    wait_until_idle(page)
    page.wait_for_timeout(300)  # The probability bars' last paint.
    frames.append(capture(page, clip))
    durations.append(ANSWER_HOLD_MS)
    save_gif(frames, durations, path)


def save_gif(frames: list[Image.Image], durations: list[int], path: Path) -> None:
    """Scaled down and on one palette (taken from the last, fullest frame), so nothing flickers."""
    scale = min(1.0, GIF_WIDTH / frames[0].width)
    size = (round(frames[0].width * scale), round(frames[0].height * scale))
    scaled = [frame.resize(size, Image.Resampling.LANCZOS) for frame in frames]
    palette = scaled[-1].quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    indexed = [frame.quantize(palette=palette, dither=Image.Dither.NONE) for frame in scaled]
    indexed[0].save(path, save_all=True, append_images=indexed[1:], duration=durations, loop=0, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=MEDIA, help="folder for the pictures (docs/media)")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="mnist-media-") as temporary,
        streamlit_server(Path(temporary), Path(temporary) / "server.log") as url,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_context(viewport=VIEWPORT).new_page()
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        page.goto(url)  # Home first: app.py's navigation, the scheduler, the cached digits.
        expect(page.get_by_role("heading", name="MNIST digit recognition")).to_be_visible()
        explore_screenshot(page, url, out / "explore.png")
        predict_gif(page, url, out / "predict.gif")
        browser.close()
    for made in sorted(out.iterdir()):
        print(f"{made}: {made.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
