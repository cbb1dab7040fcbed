"""A talk venue without Internet: every declared page, opened in a real browser whose requests to
any host but the app's own are blocked and recorded, asks for nothing outside the app."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import expect

from core.ui import navigation

APP_HOST = "127.0.0.1"
PAGE_TIMEOUT_MS = 60_000  # A first visit loads the digits; a busy machine is slow.


def page_url(app_url: str, declared: navigation.Page) -> str:
    """Streamlit names a page's URL after its file; Home is the root."""
    return app_url + ("/" if declared is navigation.HOME else f"/{declared.name}")


def test_no_page_asks_any_other_host(browser, app_url):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    attempted: list[str] = []

    def guard(route):
        if urlsplit(route.request.url).hostname == APP_HOST or route.request.url.startswith("data:"):
            route.continue_()
        else:
            attempted.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", guard)
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    for declared in navigation.PAGES:
        page.goto(page_url(app_url, declared))
        title = page.get_by_test_id("stSidebarNav").get_by_text(declared.title, exact=True)
        expect(title).to_be_attached(timeout=PAGE_TIMEOUT_MS)
        # Settled: the page drew its elements and nothing is running any more.
        expect(page.get_by_test_id("stMainBlockContainer")).not_to_be_empty(timeout=PAGE_TIMEOUT_MS)
        expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=PAGE_TIMEOUT_MS)
        icons = page.locator("link[rel~='icon']")
        for href in [icons.nth(i).get_attribute("href") or "" for i in range(icons.count())]:
            assert urlsplit(page.evaluate("h => new URL(h, location.href).href", href)).hostname in (
                APP_HOST,
                None,
            ), (declared.name, href)
    context.close()
    assert attempted == []
