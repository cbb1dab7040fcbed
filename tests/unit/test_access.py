"""Who is the owner: local mode from the server's address and the request's Host, the password
gate's constant-time check and growing waits, and which runs a visitor may change."""

import pytest

from core.networks.config import PRESETS
from core.runs import access, layout, registry


@pytest.fixture(autouse=True)
def no_password(monkeypatch, runs_dir):
    monkeypatch.delenv(access.PASSWORD_ENV, raising=False)
    monkeypatch.setattr(access, "secret", lambda key, default=None: default)  # No secrets.toml.


@pytest.mark.parametrize(
    "host", ["localhost:8501", "LOCALHOST", "127.0.0.1:8501", "127.3.2.1", "[::1]:8501", "[::1]"]
)
def test_loopback_hosts(host):
    assert access.host_is_loopback(host)


@pytest.mark.parametrize(
    "host",
    [None, "", "example.com", "10.0.0.7:8501", "0.0.0.0:8501", "localhost.example.com", "[::1", "x:port"],
)
def test_other_hosts_are_not_loopback(host):
    assert not access.host_is_loopback(host)


@pytest.mark.parametrize(("address", "loopback"), [("127.0.0.1", True), ("localhost", True), ("::1", True)])
def test_loopback_server_addresses(address, loopback):
    assert access.server_is_loopback(address) is loopback


@pytest.mark.parametrize("address", [None, "", "0.0.0.0", "::", "192.168.1.4"])
def test_a_server_on_every_or_another_interface_is_not_loopback(address):
    assert not access.server_is_loopback(address)


def test_local_mode_needs_both_a_loopback_server_and_a_loopback_host():
    assert access.is_local("127.0.0.1", "localhost:8501")
    assert not access.is_local(None, "localhost:8501")  # Listening everywhere.
    assert not access.is_local("127.0.0.1", "dashboard.example.com")  # A reverse proxy.
    # nginx passes its upstream's name as Host by default: the forwarding header gives it away.
    assert not access.is_local("127.0.0.1", "127.0.0.1:8501", proxied=True)


def test_a_password_makes_even_a_loopback_session_public(monkeypatch):
    monkeypatch.setenv(access.PASSWORD_ENV, "correct horse")
    assert access.owner_password() == "correct horse"
    assert not access.is_local("127.0.0.1", "localhost:8501")


def test_the_password_can_come_from_secrets(monkeypatch):
    monkeypatch.setattr(
        access, "secret", lambda key, default=None: {"owner_password": "s3"}.get(key, default)
    )
    assert access.owner_password() == "s3"


def test_the_gate_accepts_the_password_and_refuses_others():
    gate = access.PasswordGate(interval_s=0.01)
    assert gate.check("pw", "pw") is None
    assert gate.check("guess", "pw") == "Wrong password."


def test_a_visitor_may_change_only_the_runs_of_their_own_session():
    me, other = access.Who(owner=False, session="me"), access.Who(owner=False, session="other")
    mine = registry.create_run(PRESETS["seed-mlp"].config, "mine", meta_changes=me.run_meta())
    owners = registry.create_run(PRESETS["seed-mlp"].config, "owner's", meta_changes=access.OWNER.run_meta())
    assert access.started_by(mine) == "me" and access.started_by(owners) is None
    assert me.may_change(mine) and not other.may_change(mine)
    assert not me.may_change(owners) and not access.Who(owner=False).may_change(owners)
    assert access.OWNER.may_change(mine) and access.OWNER.may_change(owners)
    with pytest.raises(layout.RegistryError, match="started by someone else"):
        other.check_may_change(mine)
    me.check_may_change(mine)


def test_a_job_process_reads_the_owners_secrets_from_the_files_streamlit_reads(tmp_path, monkeypatch):
    """No Streamlit in a job process: the global file, then the project's, whose keys win; a broken
    file counts as none."""
    home, project = tmp_path / "home", tmp_path / "project"
    for folder, text in (
        (home, 'owner_password = "global"\n[limits]\nruns_kept = 3\n'),
        (project, "[limits]\nruns_kept = 7\n"),
    ):
        (folder / ".streamlit").mkdir(parents=True)
        (folder / ".streamlit" / "secrets.toml").write_text(text)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(project)
    assert access._secret_from_files("limits") == {"runs_kept": 7}
    assert access._secret_from_files("owner_password") == "global"
    (project / ".streamlit" / "secrets.toml").write_text("[limits\n")
    assert access._secret_from_files("limits") == {"runs_kept": 3}
    assert access._secret_from_files("absent", "default") == "default"
