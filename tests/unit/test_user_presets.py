"""Saved presets: the owner's only, shown beside the built-in ones, read back as hostile input."""

from __future__ import annotations

import json

import pytest

from core.networks.config import PRESETS, ConfigError
from core.runs import access, layout, limits, user_presets

CONFIG = PRESETS["fast-cnn"].config.with_changes(epochs=12)


pytestmark = pytest.mark.usefixtures("runs_dir")


def test_the_owner_saves_a_preset_and_the_designer_offers_it_after_the_built_in_ones():
    key = user_presets.save_preset("  Best   of study A ", CONFIG, "from a search", access.OWNER)
    presets = user_presets.all_presets()
    assert key == "saved-best-of-study-a" and list(presets)[: len(PRESETS)] == list(PRESETS)
    assert presets[key].label == "Best of study A" and presets[key].config == CONFIG
    again = user_presets.save_preset("best of study a", CONFIG.with_changes(epochs=3), "", access.OWNER)
    assert again == key and user_presets.saved_presets()[key].config.epochs == 3  # Replaced.


def test_visitors_and_bad_names_are_refused_and_nothing_is_written():
    with pytest.raises(limits.Refused, match="for the owner"):
        user_presets.save_preset("mine", CONFIG, "", access.Who(owner=False, session="v"))
    with pytest.raises(ConfigError, match="1 to 60 characters"):
        user_presets.save_preset("   ", CONFIG, "", access.OWNER)
    assert not (layout.runs_dir() / user_presets.PRESETS_FILE).exists()


def test_damaged_entries_are_left_out():
    user_presets.save_preset("good", CONFIG, "", access.OWNER)
    path = layout.runs_dir() / user_presets.PRESETS_FILE
    stored = json.loads(path.read_text())
    stored.update(
        {
            "saved-bad-config": {"label": "bad", "config": {"epochs": -4}},
            "saved-not-a-dict": [1, 2],
            "saved-label-number": {"label": 7, "config": CONFIG.to_dict()},
            "not-saved-prefix": {"label": "x", "config": CONFIG.to_dict()},
        }
    )
    path.write_text(json.dumps(stored))
    assert list(user_presets.saved_presets()) == ["saved-good"]
    path.write_text("{ not json")
    assert user_presets.saved_presets() == {}


def test_at_most_fifty_saved_presets(monkeypatch):
    monkeypatch.setattr(user_presets, "MAX_SAVED", 2)
    user_presets.save_preset("one", CONFIG, "", access.OWNER)
    user_presets.save_preset("two", CONFIG, "", access.OWNER)
    with pytest.raises(ConfigError, match="at most 2 saved presets"):
        user_presets.save_preset("three", CONFIG, "", access.OWNER)
