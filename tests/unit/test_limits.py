"""Visitor limits: each refusal names the figure and the limit, the owner is held to none, and
scheduler.submit_run enforces them whatever the page did."""

import pytest

from core.networks.config import PRESETS
from core.queue import scheduler
from core.runs import access, limits, registry

SEED = PRESETS["seed-mlp"].config  # 669,706 trainable parameters.
ME = access.Who(owner=False, session="me")
OTHER = access.Who(owner=False, session="other")


pytestmark = pytest.mark.usefixtures("runs_dir", "jobs_stay_queued")


@pytest.fixture(autouse=True)
def no_secrets(monkeypatch):
    monkeypatch.setattr(access, "secret", lambda key, default=None: default)  # No secrets.toml.


def use_limits(monkeypatch, **table):
    monkeypatch.setattr(access, "secret", lambda key, default=None: table if key == "limits" else default)


def finished_run(who, name="run"):
    return registry.create_run(SEED, name, status_changes={"state": "finished"}, meta_changes=who.run_meta())


def test_the_limits_table_changes_the_defaults_and_ignores_what_it_cannot_use(monkeypatch):
    use_limits(
        monkeypatch, waiting_runs=5, epoch_seconds=30, visitor_imports=True, bogus=1, runs_per_visitor="2"
    )
    assert limits.current() == limits.Limits(waiting_runs=5, epoch_seconds=30.0, visitor_imports=True)
    assert limits.Limits.from_table({"visitor_imports": 1, "waiting_runs": True}) == limits.Limits()


def test_each_design_limit_names_the_figure_and_the_limit():
    assert limits.design_refusal(SEED, limits.Limits()) is None
    refusal = limits.design_refusal(SEED, limits.Limits(trainable_parameters=100_000))
    assert "669,706 trainable parameters" in refusal and "100,000" in refusal
    refusal = limits.design_refusal(SEED, limits.Limits(training_memory_mb=1))
    assert "MB of memory" in refusal and "up to 1 MB" in refusal
    refusal = limits.design_refusal(SEED, limits.Limits(epoch_seconds=1))
    assert "One epoch of this network would take about" in refusal and "up to 1 s per epoch" in refusal


def test_the_owner_is_held_to_no_limit(monkeypatch):
    use_limits(monkeypatch, trainable_parameters=10, waiting_runs=0, runs_folder_mb=0)
    assert limits.refusal(SEED, access.OWNER) is None
    assert limits.import_refusal(access.OWNER) is None
    run = scheduler.submit_run(SEED, "owner's")
    assert run.state == "queued" and access.started_by(run) is None


def test_a_visitor_over_a_limit_is_refused_in_core_and_nothing_is_created(monkeypatch, runs_dir):
    use_limits(monkeypatch, trainable_parameters=100_000)
    assert "669,706" in limits.refusal(SEED, ME)
    with pytest.raises(limits.Refused, match="669,706 trainable parameters"):
        scheduler.submit_run(SEED, "too big", who=ME)
    assert registry.list_runs(include_shipped=False) == []


def test_one_waiting_or_training_run_per_visitor_session():
    run = scheduler.submit_run(SEED, "first", who=ME)
    assert access.started_by(run) == "me" and ME.may_change(run)
    with pytest.raises(limits.Refused, match="You have 1 run"):
        scheduler.submit_run(SEED, "second", who=ME)
    scheduler.submit_run(SEED, "someone else's", who=OTHER)
    registry.request_stop(run)  # Cancelled: their place is free again.
    scheduler.submit_run(SEED, "second", who=ME)


def test_the_queue_takes_a_limited_number_of_waiting_runs(monkeypatch):
    use_limits(monkeypatch, waiting_runs=2)
    scheduler.submit_run(SEED, "owner's")
    scheduler.submit_run(SEED, "a", who=ME)
    with pytest.raises(limits.Refused, match="2 runs are already waiting; the queue holds at most 2"):
        scheduler.submit_run(SEED, "b", who=OTHER)


def test_a_full_runs_folder_refuses_visitor_runs_and_imports(monkeypatch, runs_dir):
    use_limits(monkeypatch, runs_folder_mb=1, visitor_imports=True)
    assert limits.import_refusal(ME) is None
    (runs_dir / "big").mkdir()
    (runs_dir / "big" / "model.keras").write_bytes(b"\0" * 1_500_000)
    with pytest.raises(
        limits.Refused, match="The runs folder holds 2 MB; visitors may add runs while it is under 1 MB"
    ):
        scheduler.submit_run(SEED, "a", who=ME)
    assert "runs folder holds" in limits.import_refusal(ME)


def test_visitors_import_only_when_the_owner_allows_it(monkeypatch):
    assert limits.import_refusal(ME) == "Importing models is for the owner of this dashboard."
    use_limits(monkeypatch, visitor_imports=True)
    assert limits.import_refusal(ME) is None


def test_import_requests_are_refused_in_core_and_a_visitors_import_is_marked_theirs(monkeypatch, runs_dir):
    from core.queue import imports as importer
    from core.queue import jobs

    with pytest.raises(importer.ImportRefused, match="Importing models is for the owner"):
        importer.request_import(b"not even read", "model.keras", who=ME)
    assert not jobs.jobs_dir().exists() or not any(jobs.jobs_dir().rglob("*"))
    use_limits(monkeypatch, visitor_imports=True)
    monkeypatch.setattr(importer, "check_archive", lambda data, filename: None)
    target = importer.request_import(b"a checked archive", "model.keras", who=ME)
    assert jobs.read("import", target)["payload"]["run_meta"] == ME.run_meta()


def test_a_visitors_old_runs_are_pruned_but_never_anyone_elses_or_an_active_one(monkeypatch):
    use_limits(monkeypatch, visitor_runs_kept=2)
    owners = finished_run(access.OWNER, "owner's")
    others = finished_run(OTHER, "another visitor's")
    oldest, older = finished_run(ME, "oldest"), finished_run(ME, "older")
    waiting = scheduler.submit_run(SEED, "waiting", who=OTHER)  # Active: kept whatever its age.
    newer = finished_run(ME, "newer")
    newest = scheduler.submit_run(SEED, "newest", who=ME)  # Submitting prunes ME's runs only.
    left = {run.id for run in registry.list_runs(include_shipped=False)}
    assert left == {owners.id, others.id, waiting.id, older.id, newer.id, newest.id}
    assert oldest.id not in left


def test_limits_that_are_not_finite_non_negative_numbers_are_ignored():
    table = {
        "epoch_seconds": float("inf"),
        "waiting_runs": [1],
        "trainable_parameters": -5,
        "runs_folder_mb": 7,
    }
    assert limits.Limits.from_table(table) == limits.Limits(runs_folder_mb=7)
