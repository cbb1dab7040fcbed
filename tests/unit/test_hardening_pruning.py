"""Issue 19, finding 2: one visitor's Start/Cancel cycles never delete another visitor's runs, and
runs cancelled before training take none of the kept places."""

import pytest

from core.networks.config import PRESETS
from core.queue import scheduler
from core.runs import access, layout, limits, registry

SEED = PRESETS["seed-mlp"].config
A = access.Who(owner=False, session="visitor-a")
B = access.Who(owner=False, session="visitor-b")


pytestmark = pytest.mark.usefixtures("runs_dir", "jobs_stay_queued")


@pytest.fixture(autouse=True)
def limits_table(monkeypatch):
    table = {"visitor_runs_kept": 20, "waiting_runs": 3}
    monkeypatch.setattr(access, "secret", lambda key, default=None: table if key == "limits" else default)


def trained_run(who: access.Who, name: str) -> registry.RunRecord:
    """A run that trained to the end: finished, with its model file."""
    return registry.create_run(
        SEED,
        name,
        status_changes={"state": "finished"},
        meta_changes=who.run_meta(),
        add_files=lambda folder: (folder / layout.MODEL_FILE).write_bytes(b"a model"),
    )


def test_a_finished_run_survives_another_visitors_start_cancel_cycles():
    finished = trained_run(A, "A's finished run")
    for cycle in range(25):
        run = scheduler.submit_run(SEED, f"B's attempt {cycle}", who=B)
        assert registry.request_stop(run).state == "stopped"
    runs = registry.list_runs(include_shipped=False)
    assert finished.id in {run.id for run in runs}
    assert registry.reload(finished).state == "finished"
    # B's cancelled runs trained nothing: each submission prunes the ones before it, so one remains.
    assert [run.name for run in runs if access.started_by(run) == B.session] == ["B's attempt 24"]


def test_runs_cancelled_before_training_take_no_kept_place(monkeypatch):
    monkeypatch.setattr(limits, "current", lambda: limits.Limits(visitor_runs_kept=2))
    first, second = trained_run(B, "first"), trained_run(B, "second")
    for cycle in range(5):
        registry.request_stop(scheduler.submit_run(SEED, f"cancelled {cycle}", who=B))
    left = {run.name for run in registry.list_runs(include_shipped=False)}
    assert left == {"first", "second", "cancelled 4"}
    assert limits.trained_nothing(registry.reload(registry.list_runs(include_shipped=False)[0]))
    assert not limits.trained_nothing(registry.reload(first)) and not limits.trained_nothing(second)


def test_a_visitors_own_trained_runs_past_the_kept_number_are_pruned_oldest_first(monkeypatch):
    monkeypatch.setattr(limits, "current", lambda: limits.Limits(visitor_runs_kept=2))
    others = trained_run(A, "A's")
    mine = [trained_run(B, f"B's {index}") for index in range(4)]
    assert sorted(limits.prune_visitor_runs(B)) == sorted([mine[0].id, mine[1].id])
    assert limits.prune_visitor_runs(access.OWNER) == []
    left = {run.id for run in registry.list_runs(include_shipped=False)}
    assert left == {others.id, mine[2].id, mine[3].id}


def test_a_job_knows_whose_runs_to_prune_from_the_run_meta_it_was_queued_with():
    assert access.who_from_run_meta(B.run_meta()) == B
    assert access.who_from_run_meta({}) == access.OWNER
    assert access.who_from_run_meta({access.STARTED_BY: {"visitor": 7}}) == access.OWNER
