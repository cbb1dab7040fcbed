"""Who may change shared state: the owner, or a visitor who may change only the runs they started.

The app is local (everyone is the owner, no password) only when the server listens on loopback
alone and the browser reached it by a loopback name: a reverse proxy in front of a loopback-bound
server sends its public Host, so it does not count. With an owner password set (secrets.toml's
`owner_password` or `$MNIST_OWNER_PASSWORD`) everyone is a visitor until they give it; with none
set and not local, everyone is a visitor.

Nothing here imports Streamlit: job processes read the same settings. The session side (session
state, headers) is core.ui.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import logging
import os
import threading
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from core.runs.layout import RegistryError

logger = logging.getLogger(__name__)

PASSWORD_ENV = "MNIST_OWNER_PASSWORD"
PASSWORD_SECRET = "owner_password"
SECRETS_FILE = Path(".streamlit", "secrets.toml")
STARTED_BY = "started_by"  # meta.json: {"visitor": <session id>} for a visitor's run.

# Password attempts, everyone's together, are heard one every this many seconds.
ATTEMPT_INTERVAL_S = 2.0
MAX_WAIT_S = 60.0  # The owner's wait that the queue's order keeps to (see PasswordGate).
FORGET_AFTER_S = 3600.0  # A session's wrong try this long ago no longer puts it at the back.


class OwnedRun(Protocol):
    """What is read here of a run (a core.runs.registry.RunRecord), which this module, imported
    by the registry's neighbours, does not import."""

    @property
    def name(self) -> str: ...

    meta: dict[str, Any]


@dataclass(frozen=True)
class Who:
    """Who asks: the owner (everything allowed) or a visitor, known by a random id kept in their
    browser session's server-side state (never in the URL, which is shared)."""

    owner: bool
    session: str = ""

    def may_change(self, run: OwnedRun) -> bool:
        """The owner changes any run; a visitor only the runs this browser session started."""
        return self.owner or (bool(self.session) and started_by(run) == self.session)

    def check_may_change(self, run: OwnedRun) -> None:
        """Raise RegistryError (which pages already report) unless `may_change(run)`."""
        if not self.may_change(run):
            raise RegistryError(
                f"{run.name} was started by someone else: only the owner or the session that "
                "started it can stop, rename, annotate or delete it"
            )

    def run_meta(self) -> dict[str, Any]:
        """meta.json fields for a run this person starts: a visitor's run is marked as theirs."""
        return {} if self.owner else {STARTED_BY: {"visitor": self.session}}


OWNER = Who(owner=True)


def who_from_run_meta(meta: dict[str, Any] | None) -> Who:
    """Who asked for a job, from the `run_meta` the server queued with it (`Who.run_meta`)."""
    mark = (meta or {}).get(STARTED_BY)
    session = mark.get("visitor") if isinstance(mark, dict) else None
    return Who(owner=False, session=session) if isinstance(session, str) and session else OWNER


def started_by(run: OwnedRun) -> str | None:
    """The visitor session id that started the run; None for the owner's runs (and old ones)."""
    mark = run.meta.get(STARTED_BY)
    return mark.get("visitor") if isinstance(mark, dict) and isinstance(mark.get("visitor"), str) else None


def secret(key: str, default: Any = None) -> Any:
    """A value from the owner's secrets, or `default` when there is none.

    In the server, Streamlit's `st.secrets` answers (core.ui installs it with `read_secrets_with`,
    so secrets a host such as Streamlit Community Cloud provides count); in a job process, which
    has no Streamlit, the files are read as Streamlit reads them by default.
    """
    return _secret_reader(key, default)


def read_secrets_with(reader: Callable[[str, Any], Any]) -> None:
    """Answer `secret` with `reader(key, default)` from now on in this process."""
    global _secret_reader
    _secret_reader = reader


def _secret_from_files(key: str, default: Any = None) -> Any:
    """The global ~/.streamlit/secrets.toml, then the working directory's .streamlit/secrets.toml,
    whose keys win; a missing or broken file counts as empty."""
    merged: dict[str, Any] = {}
    for path in (Path.home() / SECRETS_FILE, Path.cwd() / SECRETS_FILE):
        try:
            merged.update(_parsed_toml(path, path.stat().st_mtime_ns))
        except OSError:
            continue
    return merged.get(key, default)


_secret_reader: Callable[[str, Any], Any] = _secret_from_files


@functools.lru_cache(maxsize=8)
def _parsed_toml(path: Path, _mtime_ns: int) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        logger.warning("ignored %s: %s", path.name, error)
        return {}


def owner_password() -> str | None:
    """The owner password, from the environment or secrets.toml; None when neither sets one."""
    password = os.environ.get(PASSWORD_ENV) or secret(PASSWORD_SECRET)
    return str(password) if password else None


def _is_loopback_name(name: str | None) -> bool:
    if not name:
        return False
    name = name.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def server_is_loopback(address: str | None) -> bool:
    """Whether the server listens on loopback alone; no address means every interface."""
    return _is_loopback_name(address)


def host_is_loopback(host: str | None) -> bool:
    """Whether a Host header (`localhost:8501`, `[::1]:8501`) names this machine's loopback."""
    if not host:
        return False
    try:
        return _is_loopback_name(urlsplit(f"//{host}").hostname)
    except ValueError:  # A malformed header, such as a bad port.
        return False


PROXY_HEADERS = ("x-forwarded-for", "x-forwarded-host", "forwarded", "x-real-ip")


def is_local(server_address: str | None, host: str | None, proxied: bool = False) -> bool:
    """Local mode: loopback-only server reached by a loopback name, no password set, and no
    reverse proxy in between (one may pass on a loopback Host, as nginx does by default)."""
    return (
        owner_password() is None
        and not proxied
        and server_is_loopback(server_address)
        and host_is_loopback(host)
    )


class PasswordGate:
    """Checks owner passwords in constant time, one attempt at a time from one server-wide queue
    served every `interval_s` seconds, so guessing from any number of tabs is no faster than
    from one (at 2 s: 30 tries a minute, 43,200 a day). Attempts wait their turn; none is refused
    unheard, so a guesser cannot lock the owner out.

    Sessions whose last try was wrong (within FORGET_AFTER_S) queue behind those with none: the
    owner, typing the password right, waits at most `interval_s` per fresh session ahead, which
    is MAX_WAIT_S while fewer than MAX_WAIT_S / interval_s sessions try at once for the first time.
    """

    def __init__(self, interval_s: float = ATTEMPT_INTERVAL_S) -> None:
        self._interval_s = interval_s
        self._turns = threading.Condition()
        self._waiting: list[tuple[bool, int]] = []  # (has guessed wrong, arrival), served smallest first.
        self._arrivals = 0
        self._next_turn = 0.0
        self._wrong_at: dict[str, float] = {}  # Session -> when its last wrong try was heard.

    def check(self, attempt: str, password: str, session: str = "") -> str | None:
        """None if `attempt` is the password; otherwise why it was refused. Blocks until the
        attempt's turn comes."""
        with self._turns:
            now = time.monotonic()
            self._wrong_at = {key: at for key, at in self._wrong_at.items() if now - at < FORGET_AFTER_S}
            ticket = (session in self._wrong_at, self._arrivals)
            self._arrivals += 1
            self._waiting.append(ticket)
            while min(self._waiting) != ticket or time.monotonic() < self._next_turn:
                self._turns.wait(timeout=max(0.0, self._next_turn - time.monotonic()) or None)
            self._waiting.remove(ticket)
            self._next_turn = time.monotonic() + self._interval_s
            self._turns.notify_all()
            if hmac.compare_digest(attempt.encode(), password.encode()):
                self._wrong_at.pop(session, None)
                return None
            self._wrong_at[session] = time.monotonic()
            return "Wrong password."


GATE = PasswordGate()
