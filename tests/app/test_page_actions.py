"""A page's action on a full disk, or refused, shows the message the core wrote for the user (no
traceback, no server path), and a refused import leaves no earlier import's outcome on screen."""

import errno
import tempfile

import pytest

from core.queue import jobs
from core.runs import registry
from core.ui import session_keys
from tests.app import open_page

SECRET_PATH = "/srv/secret/runs/.creating-x"


pytestmark = pytest.mark.usefixtures("runs_dir")


def full_disk(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device", SECRET_PATH)


def start_training(monkeypatch, where, name):
    app = open_page("train")
    monkeypatch.setattr(where, name, full_disk)
    app.button[0].click().run()
    assert not app.exception, app.exception
    return app


def test_start_training_on_a_full_disk_says_so(monkeypatch):
    """Every new file and folder fails as on a full disk: the registry's message reaches the page."""
    app = start_training(monkeypatch, tempfile, "mkdtemp")
    [error] = app.error
    assert "The disk is full" in error.value and "delete old runs" in error.value
    assert "secret" not in error.value
    assert registry.list_runs(include_shipped=False) == []


def test_a_full_disk_no_core_code_named_still_says_so(monkeypatch):
    app = start_training(monkeypatch, registry, "create_run")
    [error] = app.error
    assert "The disk is full" in error.value and "secret" not in error.value


def test_a_refused_import_leaves_no_earlier_outcome(runs_dir):
    jobs.request("import", "0123456789abcdef")
    jobs.fail("import", "0123456789abcdef", "the earlier upload was refused")
    app = open_page("model_io", {session_keys.IMPORT_JOB: "0123456789abcdef"})
    assert any("earlier upload" in error.value for error in app.error)
    not_a_model = ("notes.keras", b"not a model", "application/octet-stream")
    app.file_uploader(key="io_upload").set_value(not_a_model).run()
    app.button(key="io_import").click().run()
    assert not app.exception
    assert [error.value for error in app.error if "not a Keras model file" in error.value]
    assert not any("earlier upload" in error.value for error in app.error)
