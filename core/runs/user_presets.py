"""Presets the owner saves (e.g. a search's best trial), beside the built-in ones.

They live in `<runs>/presets.json`, shared by every session: saving one changes shared state, so
only the owner may. The file is read as hostile input: an entry that does not parse into a valid
configuration is left out, never a crash.
"""

from __future__ import annotations

import re
from typing import Any

from core.networks.config import PRESETS, ConfigError, ModelConfig, Preset
from core.runs import access, atomic_files, layout, limits

PRESETS_FILE = "presets.json"
MAX_SAVED = 50
MAX_LABEL = 60
MAX_DESCRIPTION = 300


def _path():
    return layout.runs_dir() / PRESETS_FILE


def saved_presets() -> dict[str, Preset]:
    """The owner's presets by key ("saved-<slug>"), newest last; damaged entries left out."""
    stored = atomic_files.read_json_object(_path())
    presets = {}
    for key, entry in list(stored.items())[:MAX_SAVED]:
        if not (isinstance(key, str) and key.startswith("saved-") and isinstance(entry, dict)):
            continue
        label, description = entry.get("label"), entry.get("description", "")
        if not isinstance(label, str) or not isinstance(description, str):
            continue
        try:
            config = ModelConfig.from_dict(entry.get("config"))
        except (ConfigError, TypeError):
            continue
        presets[key] = Preset(label[:MAX_LABEL], description[:MAX_DESCRIPTION], config)
    return presets


def all_presets() -> dict[str, Preset]:
    """The built-in presets, then the saved ones."""
    return {**PRESETS, **saved_presets()}


def save_preset(label: str, config: ModelConfig, description: str, who: access.Who) -> str:
    """Save `config` as a preset named `label` (replacing one of the same name); its key.

    limits.Refused for a visitor; ConfigError for a name that is empty, too long, or one too many.
    """
    if not who.owner:
        raise limits.Refused("Saving presets is for the owner of this dashboard.")
    label = " ".join(label.split())
    if not 0 < len(label) <= MAX_LABEL:
        raise ConfigError("preset name", f"must be 1 to {MAX_LABEL} characters")
    key = "saved-" + (re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") or "preset")
    with layout.run_lock(layout.runs_dir()):  # Two tabs saving at once both keep theirs.
        stored: dict[str, Any] = atomic_files.read_json_object(_path())
        if key not in stored and len(stored) >= MAX_SAVED:
            raise ConfigError("preset name", f"no room: at most {MAX_SAVED} saved presets; delete one first")
        entry = {"label": label, "description": description[:MAX_DESCRIPTION], "config": config.to_dict()}
        stored[key] = entry
        atomic_files.write_json(_path(), stored)
    return key
