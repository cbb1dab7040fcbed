"""Owner mode in a real browser, on a server with an owner password: a visitor sees no Delete or
Import controls and a run named in Markdown as plain text; a wrong password is refused; the
right one brings the controls."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from core.networks.config import PRESETS
from core.runs import access, registry
from tests.e2e.conftest import streamlit_server

PASSWORD = "correct horse battery staple"
MARKDOWN_NAME = "![b](http://host.invalid/x.png) [text](http://host.invalid/)"


@pytest.fixture(scope="module")
def public_url(tmp_path_factory):
    runs = tmp_path_factory.mktemp("owner-runs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MNIST_RUNS_DIR", str(runs))
        patch.setenv(access.PASSWORD_ENV, PASSWORD)
        finished = {"state": "finished"}
        registry.create_run(PRESETS["seed-mlp"].config, "owner's run", status_changes=finished)
        registry.create_run(PRESETS["seed-mlp"].config, MARKDOWN_NAME, status_changes=finished)  # Newest.
        with streamlit_server(runs, tmp_path_factory.mktemp("owner-server") / "server.log") as url:
            yield url


@pytest.fixture
def visitor(browser, public_url):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(public_url)
    expect(page.get_by_label("Owner password")).to_be_visible()
    yield page
    context.close()


def open_page(page, title):
    page.get_by_role("link", name=title).first.click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()


def sign_in(page, password):
    page.get_by_label("Owner password").fill(password)
    page.get_by_role("button", name="Sign in as owner").click()


def expect_manage_section(page):
    open_page(page, "Compare runs")
    expect(page.get_by_role("button", name="Save name and notes")).to_be_visible()


def test_a_visitor_sees_no_delete_or_import_and_names_as_plain_text(visitor):
    expect_manage_section(visitor)
    expect(visitor.get_by_text("only they can rename, annotate or delete it")).to_be_visible()
    expect(visitor.get_by_role("button", name="Delete run")).to_have_count(0)

    open_page(visitor, "Training runs")
    heading = visitor.locator("h3").filter(has_text="[b]")
    expect(heading).to_be_visible()
    assert MARKDOWN_NAME in heading.inner_text().replace("\u2060", "")  # Invisible joiners aside.
    expect(visitor.locator("img[src*='host.invalid']")).to_have_count(0)
    expect(visitor.locator("a[href*='host.invalid']")).to_have_count(0)

    open_page(visitor, "Export and import")
    visitor.get_by_role("tab", name="Import a model").click()
    expect(visitor.get_by_text("Importing models is for the owner of this dashboard.")).to_be_visible()
    expect(visitor.get_by_test_id("stFileUploader")).to_have_count(0)


def test_the_owner_password_brings_delete_and_import(visitor):
    sign_in(visitor, PASSWORD)
    expect(visitor.get_by_text("Owner mode: everything allowed.")).to_be_visible()
    expect_manage_section(visitor)
    expect(visitor.get_by_role("button", name="Delete run")).to_be_visible()
    open_page(visitor, "Export and import")
    visitor.get_by_role("tab", name="Import a model").click()
    expect(visitor.get_by_test_id("stFileUploader")).to_be_visible()


# Last: a wrong try makes the server's next try wait.
def test_a_wrong_password_is_refused(visitor):
    sign_in(visitor, "guess")
    expect(visitor.get_by_text("Wrong password.")).to_be_visible()
    expect(visitor.get_by_label("Owner password")).to_be_visible()
    expect_manage_section(visitor)
    expect(visitor.get_by_role("button", name="Delete run")).to_have_count(0)
