"""Every page opened in public mode (owner password set) with fuzzed query parameters: huge
values, wrong types, out-of-bounds and negative numbers, unknown keys. No page may raise, and no
page may echo a 100 KB value. The pages come from the app's navigation, so a page added later is
fuzzed too; the keys from the settings links carry (core/designer, core/explore, compare)."""

import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from core.data import explore
from core.networks import designer
from core.networks.config import FAMILIES, PRESETS
from core.runs import access
from core.ui import navigation, session_keys
from tests.app import APP

HUGE = "7" * 100_000
DESIGN_KEYS = [session_keys.DESIGN_PREFIX + key for key in designer.widget_values(PRESETS["seed-mlp"].config)]
LINK_KEYS = [*DESIGN_KEYS, *explore.FILTERS, session_keys.COMPARE_OVERLAY, "design_preset"]
pytestmark = pytest.mark.slow  # A sweep: 25 links on each of the 13 pages, 325 page runs.
UNKNOWN = {"zzz": "1", "design_nonexistent": "2", "explore_nothing": "3", "compare_x": "4"}


def fuzzed(value: str, architecture: str) -> dict[str, str]:
    """Every link key set to `value` but the family, so the form reads on to the rows and counts."""
    return {**{key: value for key in LINK_KEYS}, "design_architecture": architecture, **UNKNOWN}


QUERIES = [
    {"design_mlp_hidden_layers_count": "7"},
    {"design_architecture": "cnn", "design_cnn_conv_blocks_count": "50"},
    {"design_mlp_hidden_layers_count": "-1"},
    {"design_architecture": HUGE, "explore_digits": [HUGE] * 3, "explore_page": HUGE},
    *(
        fuzzed(value, architecture)
        for architecture in FAMILIES
        for value in ("-1", "1000000000000", "1e309", "nan", "abc", "", HUGE)
    ),
]


@pytest.fixture(autouse=True)
def public_server(runs_dir, monkeypatch):
    monkeypatch.setattr(access, "GATE", access.PasswordGate())
    details = config.get_option("client.showErrorDetails")
    yield
    config.set_option("client.showErrorDetails", details)


def shown_text(app: AppTest) -> str:
    """Everything the page shows as text, its widgets' labels and values included."""
    nodes = [*app.main, *app.sidebar]
    return " ".join(str(getattr(node, attribute, "")) for node in nodes for attribute in ("value", "label"))


@pytest.mark.parametrize("page", [page.name for page in navigation.PAGES])
def test_every_page_takes_any_link(page):
    app = AppTest.from_file(APP, default_timeout=120)
    app.secrets = {"owner_password": "a password"}
    app.run()
    app.switch_page(navigation.page(page).file)
    for query in QUERIES:
        app.query_params.clear()
        app.query_params.update(query)
        app.run()
        assert not app.exception, (page, list(query)[:3], app.exception)
        assert HUGE[:1000] not in shown_text(app), (page, list(query)[:3])
