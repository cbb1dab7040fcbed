"""A person opens the dashboard, goes to the explorer and filters the digits."""

import re

from playwright.sync_api import expect

from tests.e2e.conftest import streamlit_server


def grid_labels(page):
    return page.locator(".digit-grid .digit-label")


def test_home_then_explore_then_filter(page, app_url):
    page.goto(app_url)
    expect(page.get_by_role("heading", name="MNIST digit recognition")).to_be_visible()
    expect(page.get_by_text("60,000", exact=True)).to_be_visible()  # Not the chart legend.

    page.get_by_role("link", name="Explore digits").first.click()
    expect(page.get_by_role("heading", name="Explore digits")).to_be_visible()
    expect(page.get_by_text(re.compile(r"60,000 train digits match"))).to_be_visible()
    expect(page.locator(".digit-grid img")).to_be_visible()
    expect(grid_labels(page)).to_have_count(100, timeout=20_000)
    assert len(set(grid_labels(page).all_text_contents())) > 5

    digits = page.get_by_test_id("stMultiSelect")
    chips = digits.get_by_role("button", name=re.compile("^Remove"))
    for left in range(9, -1, -1):  # One at a time: a busy machine may still be redrawing the last.
        chips.first.click()
        expect(chips).to_have_count(left, timeout=20_000)
    expect(page.get_by_text("Choose at least one digit")).to_be_visible()
    digits.locator("input").fill("7")
    page.keyboard.press("Enter")
    expect(page.get_by_text(re.compile(r"6,265 train digits match"))).to_be_visible(timeout=20_000)
    expect(grid_labels(page)).to_have_text(["7"] * 100, timeout=20_000)


def test_a_first_visitor_on_a_page_url_gets_the_full_app(browser, tmp_path):
    """A fresh server, opened straight on /statistics rather than the home page."""
    with streamlit_server(tmp_path, tmp_path / "server.log") as url:
        page = browser.new_page()
        page.goto(f"{url}/statistics")
        expect(page.get_by_role("heading", name="Dataset statistics")).to_be_visible(timeout=30_000)
        navigation = page.get_by_test_id("stSidebarNav")
        expect(navigation.get_by_text("Design and train")).to_be_visible()
        expect(navigation.get_by_text("statistics", exact=True)).to_have_count(0)
        page.close()
