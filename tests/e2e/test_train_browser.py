"""A person designs a small network, starts it, watches the curve grow and sees it finish."""

import re

from playwright.sync_api import expect

CURVE_POINTS_JS = """() => {
    const plot = document.querySelector('.stPlotlyChart .js-plotly-plot');
    return plot && plot.data ? plot.data[0].x.length : 0;
}"""


def set_number(page, label, value):
    field = page.get_by_label(label, exact=True)
    field.fill(str(value))
    field.press("Enter")
    expect(field).to_have_value(str(value))


def test_start_a_run_and_watch_it_train(page, app_url):
    page.goto(app_url)
    page.get_by_role("link", name="Design and train").first.click()
    expect(page.get_by_text("669,706", exact=True)).to_be_visible()

    set_number(page, "Training digits (0 = all 60,000)", 12000)
    set_number(page, "Hold-out size", 2000)
    set_number(page, "Batch size", 16)
    set_number(page, "Epochs", 3)
    page.get_by_label("Run name (optional)").fill("browser run")
    page.get_by_label("Run name (optional)").press("Enter")
    page.get_by_role("button", name="Start training").click()

    expect(page.get_by_role("heading", name="Training runs")).to_be_visible()
    expect(page.get_by_text(re.compile(r"epoch \d/3 · batch"))).to_be_visible(timeout=60_000)
    page.wait_for_function(f"({CURVE_POINTS_JS})() > 0", timeout=60_000)
    first_count = page.evaluate(CURVE_POINTS_JS)
    page.wait_for_function(f"({CURVE_POINTS_JS})() > {first_count}", timeout=30_000)

    expect(page.get_by_text("Test accuracy", exact=True)).to_be_visible(timeout=120_000)
    expect(page.get_by_role("heading", name=re.compile("browser run"))).to_be_visible()
    expect(page.locator("strong", has_text="finished")).to_be_visible()
    final_count = page.evaluate(CURVE_POINTS_JS)
    assert final_count > first_count
