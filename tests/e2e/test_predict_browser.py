"""A presenter opens the predict page, draws a 1 and a 0 with the mouse, then uploads a bad file."""

from __future__ import annotations

import math
import subprocess

import pytest
from playwright.sync_api import expect

from core.runs import registry, run_results
from tests import train_command
from tests.e2e.conftest import PROJECT_ROOT

MODEL_LOAD_TIMEOUT_MS = 120_000
ANSWER_TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def default_model(server_runs_dir):
    """The page's default model is the shipped one; without it, train a quick stand-in."""
    shipped = [run for run in registry.list_runs(include_shipped=True) if run.shipped]
    if any(run_results.usable_model_path(run) for run in shipped):
        return "shipped"
    command = train_command("fast-cnn", server_runs_dir, "--epochs", "2", "--name", "e2e stand-in")
    subprocess.run(command, cwd=PROJECT_ROOT, check=True, capture_output=True, timeout=600)
    return "trained"


def stroke(page, canvas, points):
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + points[0][0], box["y"] + points[0][1])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=4)


def lift_and_expect(page, expected: str) -> None:
    """The answer appears once the mouse is lifted. How fast is for bench/predict_latency.py to
    measure: a wall-clock limit here would fail on a slower or busier machine."""
    page.mouse.up()
    expect(page.locator(".predicted-digit")).to_have_text(expected, timeout=ANSWER_TIMEOUT_MS)


def test_draw_a_one_and_a_zero_then_upload_a_bad_file(page, app_url, default_model):
    page.goto(app_url)
    # The home page's heading shows app.py has run and set up its navigation.
    expect(page.get_by_role("heading", name="MNIST digit recognition")).to_be_visible()
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Predict", exact=True).click()
    expect(page.get_by_role("heading", name="Predict a digit")).to_be_visible()
    canvas = page.locator("canvas.upper-canvas")
    expect(canvas).to_be_visible(timeout=MODEL_LOAD_TIMEOUT_MS)
    expect(page.get_by_text("Draw a digit on the canvas")).to_be_visible()

    stroke(page, canvas, [(140, 45), *[(140 + i // 6, 45 + 10 * i) for i in range(1, 20)]])
    lift_and_expect(page, "1")
    expect(page.locator(".stPlotlyChart")).to_have_count(1)
    expect(page.get_by_text("What the model sees")).to_be_visible()

    page.get_by_role("button", name="Reset canvas & history").click()
    expect(page.get_by_text("Draw a digit on the canvas")).to_be_visible()
    expect(page.locator(".predicted-digit")).to_have_count(0)

    loop = [
        (140 + 55 * math.sin(2 * math.pi * k / 36), 140 - 85 * math.cos(2 * math.pi * k / 36))
        for k in range(38)
    ]
    stroke(page, canvas, loop)
    lift_and_expect(page, "0")
    expect(page.get_by_text("Confidence", exact=True)).to_have_count(1)  # Once the last rerun settled.

    page.get_by_role("radio", name="Upload").click()
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        files=[{"name": "notes.png", "mimeType": "image/png", "buffer": b"meeting notes, not a picture"}]
    )
    expect(page.get_by_text("This file is not an image we can read")).to_be_visible()
    expect(page.locator(".predicted-digit")).to_have_count(0)
    expect(page.get_by_text("Traceback")).to_have_count(0)
