"""Continue a run: a new run, linked to its parent, that trains the parent's weights further.

The child is an ordinary queued run (so the visitor limits apply) whose config is the parent's
with `epochs` the added epochs, and whose meta.json names its parent and the epoch it starts at
on the parent's axis. The worker loads the parent's final weights instead of building fresh ones
(core.runs.lineage.starting_weights) and compiles a fresh optimiser, so the learning-rate schedule
restarts over the added epochs: a cosine schedule that ended at 0 would otherwise train nothing.
Pages draw the parent's curves and the child's as one history (core.runs.lineage.history).

No TensorFlow here: pages use it.
"""

from __future__ import annotations

from core.networks.config import ModelConfig
from core.queue import scheduler
from core.runs import access, layout, run_results
from core.runs.layout import RegistryError
from core.runs.lineage import PARENT, START_EPOCH, start_epoch, trained_epochs
from core.runs.registry import RunRecord


def refusal(run: RunRecord) -> str | None:
    """Why `run` cannot be continued; None if it can."""
    if run.broken:
        return f"{run.name} cannot be read ({run.broken}), so it cannot be continued."
    if run.is_active:
        return f"{run.name} is still {run.state}: continue it once it has ended."
    if "imported" in run.meta or layout.ENSEMBLE_KEY in run.meta:
        return f"{run.name} was not trained here: it has no training settings to continue with."
    if run_results.usable_model_path(run) is None:
        return f"{run.name} has no saved weights (no model.keras or checkpoint.keras) to continue from."
    return None


def continued_config(parent: RunRecord, epochs: int) -> ModelConfig:
    """The parent's settings over `epochs` epochs. A warm-up is left out: it protects freshly
    initialised weights, and these are trained."""
    schedule = "cosine" if parent.config.schedule == "warmup_cosine" else parent.config.schedule
    return parent.config.with_changes(epochs=epochs, schedule=schedule, warmup_epochs=0)


def continue_run(parent: RunRecord, epochs: int, who: access.Who = access.OWNER) -> RunRecord:
    """Queue a run that trains `parent`'s weights for `epochs` more epochs.

    It is `who`'s own new run: continuing changes nothing in the parent, so anyone may continue
    any run, within the visitor limits (`scheduler.submit_run` raises limits.Refused).
    """
    problem = refusal(parent)
    if problem:
        raise RegistryError(problem)
    config = continued_config(parent, epochs)
    start = start_epoch(parent) + trained_epochs(parent)
    return scheduler.submit_run(
        config,
        f"{parent.name} +{epochs}",
        who=who,
        meta_changes={PARENT: parent.id, START_EPOCH: round(start, 5)},
    )
