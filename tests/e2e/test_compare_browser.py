"""A person compares two runs in a real browser: picks both for the overlay, sees both curves,
then opens the run detail and its confusion matrix."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests import tiny_models


@pytest.fixture(scope="module")
def two_runs(server_runs_dir):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MNIST_RUNS_DIR", str(server_runs_dir))
        return (
            tiny_models.tiny_run("fast-cnn", "browser cnn", epochs=1),
            tiny_models.tiny_run("seed-mlp", "browser mlp", epochs=2),
        )


def choose(page, multiselect, name):
    multiselect.locator("input").fill(name)
    page.get_by_role("option", name=re.compile(re.escape(name))).first.click()


def test_overlay_two_runs_then_open_the_confusion_matrix(page, app_url, two_runs):
    page.goto(app_url)  # The first visit runs app.py, which declares the navigation.
    page.get_by_role("link", name="Compare runs").first.click()
    expect(page.get_by_role("heading", name="Compare runs")).to_be_visible()
    expect(page.get_by_test_id("stDataFrame")).to_be_visible()

    overlay = page.get_by_test_id("stMultiSelect").filter(has_text="Runs to overlay")
    overlay.get_by_role("button", name=re.compile("Clear all", re.I)).first.click()
    expect(page.locator(".js-plotly-plot")).to_have_count(0)
    choose(page, overlay, "browser cnn")
    choose(page, overlay, "browser mlp")
    page.keyboard.press("Escape")

    legend = page.locator(".js-plotly-plot .legendtext")
    expect(legend.filter(has_text="browser cnn").first).to_be_visible(timeout=20_000)
    expect(legend.filter(has_text="browser mlp").first).to_be_visible()

    page.get_by_role("link", name="Run detail").first.click()
    expect(page.get_by_role("heading", name="Run detail")).to_be_visible()
    expect(page.locator(".js-plotly-plot .gtitle").filter(has_text="Confusion matrix")).to_be_visible(
        timeout=20_000
    )
    expect(page.get_by_text("Test accuracy")).to_be_visible()
    expect(page.locator(".digit-grid .digit-label").first).to_be_visible()
