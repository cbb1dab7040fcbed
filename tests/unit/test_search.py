"""Search: spaces derived for every family, hostile space files, real tiny searches (2,000 digits,
1 or 2 epochs, one-layer MLPs), pruning, stop and resume, and several workers on one study in
SQLite and in a real PostgreSQL server.

The command line runs as a process where the process is the point: as a person types it, a worker
stopped from outside, two workers sharing a study. Where only what the search does is checked (a
wall-time budget, a resume) its `main` runs in this process, which has TensorFlow loaded already:
the same arguments and code, without a process start and a TensorFlow import (about 5 s each)."""

import glob
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import optuna
import pytest

from core.jobs import search_command
from core.networks.config import FAMILIES, PRESETS
from core.networks.families.base import ConfigError
from core.queue import jobs, scheduler, searches
from core.runs import access, layout, limits, registry, run_results
from core.search import studies
from core.search.space import default_space, parse_space, read_space, sample

BASE = PRESETS["fast-cnn"].config
TINY_SPACE = {
    "family": "mlp",
    "network": {
        "hidden_layers": {
            "count": {"choices": [1]},
            "units": {"low": 16, "high": 64, "log": True},
            "dropout": {"choices": [0.1]},
        }
    },
    "training": {
        "optimizer": {"choices": ["adam", "sgd"]},
        "learning_rate": {"low": 1e-5, "high": 0.01, "log": True},
        "batch_size": {"choices": [64]},
    },
}
WORKER_TIMEOUT = 300
TrialState = optuna.trial.TrialState


@pytest.fixture(autouse=True)
def runs_root(tmp_path, monkeypatch):
    root = tmp_path / "runs"
    monkeypatch.setenv("MNIST_RUNS_DIR", str(root))
    return root


@pytest.fixture
def space_file(tmp_path):
    path = tmp_path / "space.json"
    path.write_text(json.dumps(TINY_SPACE))
    return path


def cli_arguments(runs_root, study, *options) -> list[str]:
    return ["--study", study, "--runs-dir", str(runs_root), *options]


def cli_command(runs_root, study, *options):
    """`python -m core.search` as a person types it."""
    return [sys.executable, "-m", "core.search", *cli_arguments(runs_root, study, *options)]


def run_search(runs_root, study, *options) -> subprocess.CompletedProcess:
    result = subprocess.run(
        cli_command(runs_root, study, *options),
        cwd=layout.PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=WORKER_TIMEOUT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def search_here(capsys, runs_root, study, *options) -> str:
    """The command line's `main` with the same arguments, in this process; what it printed."""
    capsys.readouterr()
    assert search_command.main(cli_arguments(runs_root, study, *options)) == 0
    return capsys.readouterr().out


def runs_by_trial(study: str) -> dict[int, registry.RunRecord]:
    return {run.meta["search"]["trial"]: run for run in studies.trial_runs(study)}


def last_validation_accuracy(run) -> float:
    return [r for r in run_results.read_metrics(run) if r["kind"] == "epoch"][-1]["val_accuracy"]


def asked_by(trial):
    return lambda name, bounds: bounds.suggest(trial, name)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_can_be_searched(family):
    import keras

    from core.jobs.models import build_model

    base = BASE.with_changes(network=FAMILIES[family].network())
    space = default_space(base)
    assert parse_space(json.loads(json.dumps(space.to_dict())), base) == space  # What a file says.
    group = FAMILIES[family].groups[0]
    assert group.count[0] <= space.network[group.name]["count"].low
    assert space.network[group.name]["count"].high <= group.count[1]
    assert space.training["learning_rate"].log and space.training["augment"].choices == (False, True)

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    for _ in range(3):
        trial = study.ask()
        config = sample(base, space, asked_by(trial))
        assert config.architecture == family and config.validation == "holdout"
        count = len(getattr(config.network, group.name))
        assert trial.params[f"{group.name}.count"] == count
        assert f"{group.name}.{count}.filters" in trial.params or family == "mlp"
    model = build_model(config)
    assert model.output_shape == (None, 10)
    assert keras.ops.convert_to_numpy(model(keras.ops.zeros((1, 28, 28, 1)))).shape == (1, 10)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"famly": "cnn"}', "space.'famly': is unknown"),
        ('{"family": "transformer"}', "family: must be one of mlp, cnn, resnet"),
        ('{"family": "cnn", "network": {"hidden_layers": {}}}', "network.'hidden_layers': is unknown"),
        ('{"network": {"conv_blocks": {"colour": {"choices": [1]}}}}', "conv_blocks.'colour': is unknown"),
        (
            '{"network": {"head": {"units": {"low": 64, "high": 1000000000000}}}}',
            "units.high: must be between 16 and 2048",
        ),
        ('{"network": {"head": {"units": {"low": 512, "high": 64}}}}', "low (512) is above high (64)"),
        ('{"network": {"head": {"units": {"low": 16.5, "high": 64}}}}', "must be a whole number"),
        (
            '{"network": {"conv_blocks": {"count": {"low": 1, "high": 40}}}}',
            "count.high: must be between 1 and 4",
        ),
        ('{"network": {"head": {"count": {"low": 1, "high": 2}}}}', "head.'count': is unknown"),
        (
            '{"network": {"conv_blocks": {"kernel_size": {"choices": [3, 7]}}}}',
            "choices[1]: must be one of 3, 5",
        ),
        ('{"training": {"momentum": {"low": 0, "high": 0.5, "log": true}}}', "needs a low above 0"),
        ('{"training": {"learning_rate": {"low": NaN, "high": 0.1}}}', "not valid JSON"),
        ('{"training": {"epochs": {"low": 1, "high": 1000}}}', "training.'epochs': is unknown"),
        ('{"training": {"augment": {"low": 0, "high": 1}}}', "is not a number: give its choices"),
        ('{"training": {"batch_size": {"low": true, "high": 64}}}', "must be a number"),
        ('{"training": {"optimizer": {"choices": []}}}', "must be a list of 1 to 16 values"),
        ('{"training": {"optimizer": {"choices": ["adam", "adam"]}}}', "lists a value twice"),
        ('{"training": {"batch_size": {"low": 16, "high": 64, "step": 2}}}', "'step': is not one of"),
        ("[1, 2]", "space: must be a set of named ranges"),
        ("{" * 50_000, "not valid JSON"),
        (" " * 70_000 + "{}", "larger than 64 KB"),
    ],
)
def test_hostile_space_files_are_refused_with_clear_messages(tmp_path, content, message):
    path = tmp_path / "space.json"
    path.write_text(content)
    with pytest.raises(ConfigError) as refused:
        read_space(path, BASE)
    assert message in str(refused.value)
    assert len(str(refused.value)) < 300


@pytest.mark.slow
def test_a_tiny_search_ends_with_three_runs_and_a_best_trial(runs_root, space_file):
    options = ("--trials", "3", "--epochs", "1", "--train-limit", "2000", "--space", str(space_file))
    result = run_search(runs_root, "tiny", *options)

    runs = runs_by_trial("tiny")
    assert sorted(runs) == [0, 1, 2]
    assert all(run.state == "finished" and run.name == f"tiny #{n}" for n, run in runs.items())
    assert all(run.config.train_limit == 2000 and run.config.validation == "holdout" for run in runs.values())
    accuracies = {n: last_validation_accuracy(run) for n, run in runs.items()}
    line = result.stdout.strip().splitlines()[-1]
    reported = re.fullmatch(r"best validation accuracy (0\.\d{4}) \(trial (\d)\)", line)
    assert reported, line
    best = int(reported[2])
    # Trials that learned nothing in one epoch can tie at chance level: any of the tied is right.
    assert accuracies[best] == max(accuracies.values())
    assert reported[1] == f"{accuracies[best]:.4f}"
    assert (runs_root / studies.STORAGE_FILE).is_file()  # The default storage.
    best_run = studies.best_run(studies.load_study("tiny"))
    assert best_run is not None and best_run.id == runs[best].id  # What the page trains longer or saves.


@pytest.mark.slow
def test_a_wall_time_budget_starts_no_trial_after_it(runs_root, space_file, capsys):
    options = ("--trials", "10", "--epochs", "1", "--train-limit", "2000", "--space", str(space_file))
    output = search_here(capsys, runs_root, "budget", *options, "--wall-time", "0.5")
    assert sorted(runs_by_trial("budget")) == [0]  # A trial outlasts half a second: no second one.
    assert output.strip().splitlines()[-1].endswith("(trial 0)")


@pytest.mark.slow
def test_the_pruner_stops_a_trial_that_falls_behind(tmp_path, space_file):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    settings = studies.new_settings(epochs=2, train_limit=2000, space_file=space_file)
    study = studies.open_study("pruned", storage, pruner=optuna.pruners.MedianPruner(n_startup_trials=1))
    study.enqueue_trial({"hidden_layers.1.units": 64, "optimizer": "adam", "learning_rate": 0.005})
    study.enqueue_trial({"hidden_layers.1.units": 16, "optimizer": "sgd", "learning_rate": 1e-5})
    search_command.run_trials(study, settings, 2)

    good, bad = study.trials
    assert (good.state, bad.state) == (TrialState.COMPLETE, TrialState.PRUNED)
    assert bad.intermediate_values[1] < good.intermediate_values[1]
    runs = runs_by_trial("pruned")
    assert (
        runs[1].state == "stopped" and runs[1].status["stop_reason"] == "pruned by the search after epoch 1"
    )
    assert len([r for r in run_results.read_metrics(runs[1]) if r["kind"] == "epoch"]) == 1
    assert (runs[1].path / layout.MODEL_FILE).is_file()
    assert runs[0].state == "finished" and runs[0].progress["epochs_completed"] == 2


def wait_for(condition, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s")


@pytest.mark.slow
def test_stop_and_resume_keep_the_study_trials(runs_root, tmp_path, space_file, capsys):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    options = ("--trials", "20", "--epochs", "1", "--train-limit", "2000", "--space", str(space_file))
    worker = subprocess.Popen(
        cli_command(runs_root, "paused", "--storage", storage, *options),
        cwd=layout.PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        study = wait_for(lambda: _study_with_finished_trial("paused", storage), WORKER_TIMEOUT)
        studies.request_stop(study)
        output, _ = worker.communicate(timeout=WORKER_TIMEOUT)
    finally:
        worker.kill()
    assert worker.returncode == 0
    stopped = {trial.number: trial.state for trial in study.get_trials()}
    assert 1 <= len(stopped) < 20 and TrialState.RUNNING not in stopped.values()
    assert output.strip().splitlines()[-1].startswith("best validation accuracy")

    # Resuming needs only the study and its storage: it keeps the settings and every trial. (Here,
    # in this process: the stop above is what crosses processes.)
    search_here(capsys, runs_root, "paused", "--storage", storage, "--trials", "1")
    resumed = studies.open_study("paused", storage)
    assert {t.number: t.state for t in resumed.get_trials()[: len(stopped)]} == stopped
    assert [t.number for t in resumed.get_trials()] == list(range(len(stopped) + 1))
    assert resumed.trials[-1].state == TrialState.COMPLETE
    assert sorted(runs_by_trial("paused")) == list(range(len(stopped) + 1))


def _study_with_finished_trial(name, storage):
    try:
        study = studies.open_study(name, storage)
    except Exception:  # Created by the worker a moment later.
        return None
    return study if study.get_trials(states=(TrialState.COMPLETE,)) else None


def test_a_worker_joining_a_study_cannot_change_its_settings(tmp_path, space_file):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    study = studies.open_study("fixed", storage)
    first = studies.new_settings(epochs=1, train_limit=2000, space_file=space_file)
    assert studies.study_settings(study, first, {"epochs", "space"}) == first
    assert studies.study_settings(study, studies.new_settings(), set()) == first  # Joined as is.
    with pytest.raises(ConfigError, match="epochs: differs from study 'fixed'"):
        studies.study_settings(study, studies.new_settings(epochs=3, train_limit=2000), {"epochs"})


def two_workers_share_one_study(runs_root, storage, space_file):
    """Two worker processes on one study, two trials each: four distinct trials, none run twice."""
    options = ("--trials", "2", "--epochs", "1", "--train-limit", "2000", "--space", str(space_file))
    command = cli_command(runs_root, "shared", "--storage", storage, *options)
    workers = [
        subprocess.Popen(command, cwd=layout.PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for worker in workers:
        _, errors = worker.communicate(timeout=WORKER_TIMEOUT)
        assert worker.returncode == 0, errors.decode()[-3000:]
    trials = studies.open_study("shared", storage).get_trials()
    assert [trial.number for trial in trials] == [0, 1, 2, 3]
    assert all(trial.state == TrialState.COMPLETE for trial in trials)
    runs = runs_by_trial("shared")
    assert sorted(runs) == [0, 1, 2, 3] and len(studies.trial_runs("shared")) == 4
    assert {trial.user_attrs["run"] for trial in trials} == {run.id for run in runs.values()}
    # Both workers took trials: each run records the process that trained it.
    assert len({run.status["pid"] for run in runs.values()}) == 2


@pytest.mark.slow
def test_two_workers_on_one_sqlite_study(runs_root, tmp_path, space_file):
    two_workers_share_one_study(runs_root, f"sqlite:///{tmp_path / 'shared.db'}", space_file)


def postgres_binaries() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


@pytest.fixture
def postgres_url():
    """A throwaway PostgreSQL server on 127.0.0.1 and a free port. initdb refuses to run as root,
    so as root it runs as the `postgres` user, in a folder that user may enter."""
    binaries = postgres_binaries()
    assert binaries, "PostgreSQL is not installed: the test command installs Debian's postgresql"
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    folder = tempfile.mkdtemp(prefix="mnist-postgres-", dir="/tmp")
    os.chmod(folder, 0o777)
    data = os.path.join(folder, "data")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server_options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
    ctl = [*as_postgres, f"{binaries}/pg_ctl", "-D", data]
    subprocess.run(
        [*as_postgres, f"{binaries}/initdb", "-D", data, "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
    )
    subprocess.run([*ctl, "-o", server_options, "-l", f"{folder}/server.log", "-w", "start"], check=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*ctl, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_two_workers_on_one_postgresql_study(runs_root, postgres_url, space_file):
    two_workers_share_one_study(runs_root, postgres_url, space_file)


def test_a_search_job_never_trains_beside_another_training(monkeypatch, job_processes):
    """The dashboard's search job trains: it waits for a training run, and training waits for it."""
    sleeper = [sys.executable, "-c", "import time; time.sleep(120)"]  # Stands in for the job process.
    monkeypatch.setattr(jobs, "command", lambda kind, target: sleeper)
    small = PRESETS["seed-mlp"].config.with_changes(epochs=1, train_limit=2000, validation_size=1000)
    cli_run = registry.create_run(small, start_now=True)  # This test process plays the CLI.
    jobs.request("search", "queued-study", payload={"trials": 1, "visitor": None})
    scheduler.tick()
    assert jobs.read("search", "queued-study")["state"] == jobs.QUEUED

    registry.update_status(cli_run, {"state": "finished"})
    scheduler.tick()
    assert jobs.read("search", "queued-study")["state"] == jobs.RUNNING
    queued = scheduler.submit_run(small)
    assert registry.reload(queued).state == "queued" and jobs.read("train", queued.id)["state"] == jobs.QUEUED


@pytest.mark.slow
def test_the_dashboard_search_job_runs_the_trials_asked_for(monkeypatch, space_file):
    monkeypatch.setattr(scheduler, "tick", lambda: None)  # Queue the job; this test runs its body.
    settings = studies.new_settings(epochs=1, train_limit=2000, space_file=space_file)
    job = searches.request_search("from-page", settings, 2, access.OWNER)
    assert job["state"] == jobs.QUEUED and studies.study_names() == ["from-page"]

    result = search_command.search_job("from-page")
    runs = runs_by_trial("from-page")
    assert sorted(runs) == [0, 1] and result == {"best": studies.best_line(studies.load_study("from-page"))}
    assert all(run.status["launcher"] == "search" and run.state == "finished" for run in runs.values())


class AlwaysPrune:
    """A stub trial whose pruner always says the trial is behind."""

    def __init__(self):
        self.reported = []

    def report(self, value, step):
        self.reported.append((step, value))

    def should_prune(self):
        return True


def test_pruning_reports_every_epoch_and_never_ends_the_last_one():
    from core.jobs.callbacks import SearchPruning, StopRequested

    trial = AlwaysPrune()
    last_epoch_only = SearchPruning(trial)
    last_epoch_only.set_params({"epochs": 1})
    last_epoch_only.on_epoch_end(0, {"val_accuracy": 0.5})
    assert last_epoch_only.pruned_after is None and trial.reported == [(1, 0.5)]

    pruning = SearchPruning(trial)
    pruning.set_params({"epochs": 3})
    with pytest.raises(StopRequested, match="pruned by the search after epoch 2"):
        pruning.on_epoch_end(1, {"val_accuracy": 0.25})
    assert pruning.pruned_after == 2 and trial.reported[-1] == (2, 0.25)


def test_only_the_owner_or_the_visitor_who_started_a_study_may_stop_it(tmp_path):
    study = studies.open_study("theirs", f"sqlite:///{tmp_path / 'study.db'}")
    study.set_user_attr(studies.STARTED_BY_ATTR, "visitor-a")
    with pytest.raises(limits.Refused, match="started by someone else"):
        studies.request_stop(study, access.Who(owner=False, session="visitor-b"))
    assert studies.STOP_ATTR not in study.user_attrs
    studies.request_stop(study, access.Who(owner=False, session="visitor-a"))
    studies.request_stop(study, access.OWNER)
    assert study.user_attrs[studies.STOP_ATTR]
