"""AppTest sends no request headers, so its sessions would all be visitors: every page test runs
as on the owner's laptop (a loopback server opened as localhost) unless it sets a password."""

import sys

import pytest

from core.runs import access


@pytest.fixture(autouse=True)
def local_server(monkeypatch):
    monkeypatch.setattr(
        access, "is_local", lambda address, host, proxied=False: access.owner_password() is None
    )


@pytest.fixture(autouse=True)
def keras_cleared_without_a_full_collection(monkeypatch):
    """Streamlit clears Keras' session after each script run once Keras is imported, and Keras then
    collects all of this process's garbage: tenths of a second a run once an earlier test loaded
    TensorFlow (a fuzzed page took 7-16 s instead of 1-3). The pages import no TensorFlow, so a
    server never pays it: here the session is cleared, not collected."""
    keras = sys.modules.get("keras")
    if keras is not None:
        clear = keras.backend.clear_session
        monkeypatch.setattr(keras.backend, "clear_session", lambda free_memory=True: clear(free_memory=False))
