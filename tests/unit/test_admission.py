"""Flood control: newcomers' script runs capped server-wide and let in in arrival order, never
refused; a session's whole-page reruns held to a budget that refills with time."""

import threading
import time

from core.runs.admission import Admission, RerunBudget


def test_newcomers_over_the_cap_wait_their_turn_in_arrival_order():
    admission = Admission(slots=1)
    entered: list[int] = []
    first_inside, release_first = threading.Event(), threading.Event()

    def newcomer(number: int, hold: threading.Event | None = None) -> None:
        with admission.newcomer():
            entered.append(number)
            if hold is not None:
                first_inside.set()
                hold.wait(5)

    threads = [threading.Thread(target=newcomer, args=(0, release_first))]
    threads[0].start()
    assert first_inside.wait(5)
    for number in (1, 2, 3):
        threads.append(threading.Thread(target=newcomer, args=(number,)))
        threads[-1].start()
        time.sleep(0.05)  # Each arrives after the one before.
    assert entered == [0] and admission.running == 1  # The others queue behind the cap...
    release_first.set()
    for thread in threads:
        thread.join(5)
    assert entered == [0, 1, 2, 3] and admission.running == 0  # ...and all get in, in order.


def test_a_place_is_given_back_when_the_run_fails():
    admission = Admission(slots=1)
    try:
        with admission.newcomer():
            raise RuntimeError("the page stopped")
    except RuntimeError:
        pass
    with admission.newcomer():
        assert admission.running == 1


def test_the_rerun_budget_allows_a_burst_then_refills_with_time():
    now = [100.0]
    budget = RerunBudget(burst=3, per_second=2, clock=lambda: now[0])
    assert [budget.spend() for _ in range(4)] == [True, True, True, False]
    now[0] += 0.5  # One rerun's worth.
    assert [budget.spend(), budget.spend()] == [True, False]
    now[0] += 60  # Never more than the burst, however long the pause.
    assert sum(budget.spend() for _ in range(10)) == 3
