"""A worker's trials: sample a configuration, train it as a run, report each epoch to the pruner.

Training itself is handed in (`TrainTrial`, from core.jobs.search_command), so this package never
imports TensorFlow and the job package never imports Optuna: each trial is an ordinary run in the
registry, tagged in meta.json with its study and trial number.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import Any

import optuna

from core.networks.config import ConfigError
from core.runs import access, layout, limits, registry, run_results
from core.runs.registry import RunRecord
from core.search.space import sample
from core.search.studies import SEARCH_KEY, STOP_ATTR, SearchSettings

logger = logging.getLogger(__name__)

# Trains `run`, reporting each epoch's hold-out accuracy to `trial` (duck-typed: `report`,
# `should_prune`); returns the run as it ended and whether the pruner stopped it.
TrainTrial = Callable[[RunRecord, Any], tuple[RunRecord, bool]]


class TrialFailed(RuntimeError):
    """A trial whose run failed or was stopped: recorded as failed, and the search goes on."""


def _last_validation_accuracy(run: RunRecord) -> float | None:
    epochs = [record for record in run_results.read_metrics(run) if record["kind"] == "epoch"]
    return epochs[-1].get("val_accuracy") if epochs else None


class _RunLog:
    """The trial's lines also go to its run's worker.log, as a trained run's do."""

    def __init__(self, run: RunRecord):
        self.handler = logging.FileHandler(run.path / layout.LOG_FILE)
        self.handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))

    def __enter__(self):
        logging.getLogger().addHandler(self.handler)

    def __exit__(self, *exc):
        logging.getLogger().removeHandler(self.handler)
        self.handler.close()


def _objective(
    settings: SearchSettings, train: TrainTrial, who: access.Who, launcher: str
) -> Callable[[optuna.Trial], float]:
    def objective(trial: optuna.Trial) -> float:
        config = sample(settings.base, settings.space, lambda name, bounds: bounds.suggest(trial, name))
        if not who.owner:  # Each of a visitor's trials is a visitor's run: within their limits.
            limits.prune_visitor_runs(who)
            current = limits.current()
            refused = limits.design_refusal(config, current) or limits.folder_refusal(current)
            if refused:
                raise TrialFailed(refused)
        study = trial.study.study_name
        run = registry.create_run(
            config,
            f"{study} #{trial.number}",
            start_now=True,
            status_changes={"launcher": launcher},
            meta_changes={SEARCH_KEY: {"study": study, "trial": trial.number}, **who.run_meta()},
        )
        trial.set_user_attr("run", run.id)
        trial.set_user_attr("host", socket.gethostname())
        with _RunLog(run):
            logger.info("trial %d of study %s: run %s, %s", trial.number, study, run.id, config.describe())
            final, pruned = train(run, trial)
        if pruned:
            raise optuna.TrialPruned(final.status.get("stop_reason"))
        accuracy = _last_validation_accuracy(final)
        if final.state == "finished" and accuracy is not None:
            return accuracy
        if final.state == "stopped" and not final.stop_requested:
            raise KeyboardInterrupt  # Ctrl-C, which the worker turned into a stopped run.
        raise TrialFailed(f"run {run.id} {final.state}: {final.status.get('error') or 'no result'}")

    return objective


def _stop_if_requested(study: optuna.Study, _trial: optuna.trial.FrozenTrial) -> None:
    if study.user_attrs.get(STOP_ATTR):
        study.stop()


def run_trials(
    study: optuna.Study,
    settings: SearchSettings,
    trials: int,
    train: TrainTrial,
    *,
    who: access.Who = access.OWNER,
    launcher: str = "cli",
    wall_seconds: float | None = None,
) -> None:
    """Run up to `trials` trials of this worker, one after another, in this process, starting none
    after `wall_seconds`. Starting is resuming: a stop asked for earlier is cleared. A visitor's
    trials must each be within the visitor limits. `launcher` "cli" makes the dashboard's queue
    wait for the trials; the search job holds its own place."""
    study.set_user_attr(STOP_ATTR, None)
    study.optimize(
        _objective(settings, train, who, launcher),
        n_trials=trials,
        timeout=wall_seconds,
        catch=(TrialFailed, ConfigError),
        callbacks=[_stop_if_requested],
    )
