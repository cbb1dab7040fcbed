"""Every declared page opens through app.py, and Home links each of them once."""

import pytest
from streamlit.testing.v1 import AppTest

from core.ui import navigation
from tests.app import APP, open_page


@pytest.mark.parametrize("page", navigation.PAGES, ids=lambda page: page.name)
def test_every_declared_page_opens(page):
    app = open_page(page.name)
    assert page is navigation.HOME or page.title in app.title[0].value  # The page itself, not Home.


def test_home_links_each_other_declared_page_once():
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    assert not app.exception
    links = [link.proto.page for link in app.get("page_link")]
    assert links == [page.name for page in navigation.PAGES if page is not navigation.HOME]
