"""Who runs a page script now: sessions already at work ahead of new ones, and no session faster
than a person clicks.

A flood of 50 new WebSocket sessions, one rerun each, ran 50 page scripts at once and held a
visitor who was drawing at 7.9-17.3 s per answer. A per-session budget alone cannot help there, so
there are two rules, both pure (no Streamlit) and wired from app.py:

- `Admission`: a server-wide cap on script runs of sessions that have not yet finished a run
  (newcomers). A newcomer over the cap waits its turn, first come first served; it is never
  refused. Sessions that have run once pass straight through, so a visitor at work keeps its pace.
- `RerunBudget`: each session's full-page reruns as a token bucket; past it the page only says
  "slow down". Fragment reruns (a stroke on Predict, a progress poll) never reach app.py, so
  only whole-page reruns count.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

# Two cores: one newcomer's first run at a time leaves the other core for sessions at work.
NEWCOMER_RUNS = 1
# A person clicks a few times a second at most, and in bursts: 20 whole-page reruns at once,
# then 4 a second.
BURST_RERUNS = 20
RERUNS_PER_SECOND = 4.0
SLOW_DOWN = "Slow down: this page reruns at most a few times a second. It carries on in a moment."


class Admission:
    """At most `slots` newcomers' script runs at once; the others wait in arrival order."""

    def __init__(self, slots: int = NEWCOMER_RUNS) -> None:
        self._slots = slots
        self._running = 0
        self._tickets = itertools.count()
        self._serving = 0  # The next ticket to be let in.
        self._changed = threading.Condition()

    @property
    def running(self) -> int:
        return self._running

    @contextmanager
    def newcomer(self) -> Iterator[None]:
        """Hold one newcomer's place for the block, waiting for one first if all are taken."""
        with self._changed:
            ticket = next(self._tickets)
            self._changed.wait_for(lambda: ticket == self._serving and self._running < self._slots)
            self._serving += 1
            self._running += 1
            self._changed.notify_all()  # The next ticket may enter too if a place is left.
        try:
            yield
        finally:
            with self._changed:
                self._running -= 1
                self._changed.notify_all()


@dataclass
class RerunBudget:
    """A session's whole-page reruns: `burst` at once, then `per_second`."""

    burst: float = BURST_RERUNS
    per_second: float = RERUNS_PER_SECOND
    clock: Callable[[], float] = time.monotonic
    _tokens: float = field(init=False)
    _at: float = field(init=False)

    def __post_init__(self) -> None:
        self._tokens, self._at = self.burst, self.clock()

    def spend(self) -> bool:
        """Whether one more rerun is within the budget now (and count it if so)."""
        now = self.clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.per_second)
        self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


SERVER = Admission()
"""The one admission of this server process (core modules are imported once per server)."""
