"""What the model looks at shows an imported model's own words (its first layer's name) as the
text they are: a layer named like an address is no link for visitors."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from core.runs import layout, registry
from core.ui import messages
from tests.app import open_page

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "fast-cnn"
EVIL_NAME = "www.evil-example.test"


@pytest.fixture
def imported_run(runs_dir):
    """The shipped CNN as a run whose first layer is named like an address."""
    shutil.copytree(SHIPPED, runs_dir / "evil-import")
    stored = dict(np.load(runs_dir / "evil-import" / layout.FIRST_LAYER_FILE))
    np.savez(
        runs_dir / "evil-import" / layout.FIRST_LAYER_FILE, **{**stored, "layer_name": np.array(EVIL_NAME)}
    )
    return registry.open_run(runs_dir / "evil-import")


def test_the_first_layers_name_is_plain_text(imported_run):
    app = open_page("insight", {"focus_run": imported_run.id})
    [caption] = [caption.value for caption in app.caption if caption.value.startswith("Layer ")]
    assert caption.startswith(f"Layer {messages.plain(EVIL_NAME)}: ")
    assert EVIL_NAME not in caption
