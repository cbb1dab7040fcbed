"""The project's Streamlit settings that benchmarks showed matter for a shared server."""

import tomllib
from pathlib import Path

CONFIG = tomllib.loads((Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml").read_text())


def test_no_full_garbage_collection_after_every_script_run():
    # With it on, ten visitors drawing waited on each other's collections: p95 1.88 s, off 0.79 s.
    assert CONFIG["runner"]["postScriptGC"] is False


def test_the_file_watcher_polls_the_sources_and_skips_the_virtual_environment():
    # The default inotify watcher overflowed on .venv and kept a core busy while nothing happened.
    assert CONFIG["server"]["fileWatcherType"] == "poll"
    assert ".venv" in CONFIG["server"]["folderWatchBlacklist"]
