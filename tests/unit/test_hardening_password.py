"""Issue 19, finding 5: password attempts from every session wait in one queue served at a bounded
rate, so guessing stays slow from any number of sessions, and the owner is never locked out."""

from __future__ import annotations

import threading
import time

from core.runs import access

INTERVAL = 0.05  # The gate's 2 s, made small so the test runs in seconds.


def attempt_in_thread(gate, attempt, session, outcomes, lock):
    def run():
        asked = time.monotonic()
        refused = gate.check(attempt, "pw", session=session)
        with lock:
            outcomes.append((session, refused, asked, time.monotonic()))

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_attempts_from_many_sessions_are_heard_one_per_interval_none_refused_unheard():
    gate = access.PasswordGate(interval_s=INTERVAL)
    outcomes, lock = [], threading.Lock()
    start = time.monotonic()
    threads = [attempt_in_thread(gate, f"guess {n}", f"tab {n}", outcomes, lock) for n in range(20)]
    for thread in threads:
        thread.join()
    answered = sorted(end for *_, end in outcomes)
    assert [refused for _, refused, *_ in outcomes] == ["Wrong password."] * 20
    # Twenty guesses from twenty sessions took nineteen intervals: as slow as from one session.
    assert answered[-1] - start >= 19 * INTERVAL
    gaps = [later - earlier for earlier, later in zip(answered, answered[1:], strict=False)]
    assert min(gaps) >= INTERVAL * 0.9


def test_the_owner_is_heard_before_sessions_that_keep_guessing():
    """Ten sessions that have guessed wrong keep a try queued at all times; the owner, arriving
    last, is heard within one interval or two, whatever they send."""
    gate = access.PasswordGate(interval_s=INTERVAL)
    outcomes, lock = [], threading.Lock()
    for n in range(10):  # Each guesser has had one wrong try.
        assert gate.check(f"first {n}", "pw", session=f"guesser {n}") == "Wrong password."
    stop = threading.Event()

    def keep_guessing(session):
        while not stop.is_set():
            gate.check("again", "pw", session=session)

    guessers = [threading.Thread(target=keep_guessing, args=(f"guesser {n}",)) for n in range(10)]
    for thread in guessers:
        thread.start()
    time.sleep(5 * INTERVAL)  # The queue is full of guessers' tries.
    owner = attempt_in_thread(gate, "pw", "owner", outcomes, lock)
    owner.join()
    stop.set()
    for thread in guessers:
        thread.join()
    [(_, refused, asked, answered)] = outcomes
    assert refused is None
    assert answered - asked <= 2.5 * INTERVAL  # Behind ten guessers FIFO would be 10 intervals.


def test_a_wrong_try_is_forgotten_after_an_hour(monkeypatch):
    gate = access.PasswordGate(interval_s=0.0)
    now = [1000.0]
    monkeypatch.setattr(access.time, "monotonic", lambda: now[0])
    assert gate.check("guess", "pw", session="tab") == "Wrong password."
    assert gate._wrong_at == {"tab": 1000.0}
    now[0] += access.FORGET_AFTER_S + 1
    assert gate.check("pw", "pw", session="other") is None
    assert gate._wrong_at == {}
