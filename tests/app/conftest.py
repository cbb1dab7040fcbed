"""AppTest sends no request headers, so its sessions would all be visitors: every page test runs
as on the owner's laptop (a loopback server opened as localhost) unless it sets a password."""

import pytest

from core.runs import access


@pytest.fixture(autouse=True)
def local_server(monkeypatch):
    monkeypatch.setattr(
        access, "is_local", lambda address, host, proxied=False: access.owner_password() is None
    )
