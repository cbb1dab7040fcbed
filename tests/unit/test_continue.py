"""Continue training: a child run trains its parent's weights further, with its schedule restarted,
and reads back as one history after its parent's.

The parent trains in this process; the child goes through the queue and a worker process, as a
continued run from the runs page does.
"""

import math
import time

import pytest

from core.networks.config import ModelConfig
from core.networks.families.base import DenseLayer
from core.networks.families.mlp import MLP
from core.queue import continuation
from core.runs import access, layout, limits, lineage, registry, run_results
from core.runs.layout import RegistryError

PARENT = ModelConfig(
    network=MLP(hidden_layers=(DenseLayer(64, dropout=0.1),)),
    optimizer="adam",
    learning_rate=0.003,
    schedule="cosine",
    batch_size=64,
    epochs=1,
    train_limit=3000,
    validation_size=1000,
    seed=7,
)


pytestmark = pytest.mark.usefixtures("module_runs_root")


def points(run, kind):
    return [p for p in run_results.read_metrics(run) if p["kind"] == kind]


def ended_run(name, *, model=True, state="finished", config=PARENT, meta=None, metrics=()):
    """A run folder as a worker leaves it, with a stand-in model file: no TensorFlow needed."""
    run = registry.create_run(config, name, meta_changes=meta)
    if model:
        (run.path / layout.MODEL_FILE).write_bytes(b"weights")
    run_results.append_metrics(run, list(metrics))
    registry.update_status(run, {"state": state})
    return registry.reload(run)


@pytest.mark.slow
def test_a_continued_run_resumes_where_its_parent_stopped_with_its_schedule_restarted(job_processes):
    from core.jobs.worker import train_run

    parent = train_run(registry.create_run(PARENT, "parent", start_now=True))
    assert parent.state == "finished"

    child = continuation.continue_run(parent, 1)
    assert child.meta[lineage.PARENT] == parent.id and child.config.epochs == 1
    deadline = time.monotonic() + 300
    while (child := registry.reload(child)).state not in ("finished", "failed", "stopped"):
        assert time.monotonic() < deadline, "the continued run did not end"
        time.sleep(0.5)
    assert child.state == "finished", child.status.get("error")

    history = lineage.history(child)
    assert [p["epoch"] for p in history if p["kind"] == "epoch"] == [1, 2]
    # The first batch point is the loss of the starting weights on one batch: a fresh run's is
    # near ln(10); the child's is near the loss of the weights the parent ended with.
    parent_batches, child_batches = points(parent, "batch"), points(child, "batch")
    fresh_start, parent_end = parent_batches[0]["loss"], points(parent, "epoch")[-1]["val_loss"]
    child_start = child_batches[0]["loss"]
    assert abs(child_start - parent_end) < 0.25 * abs(fresh_start - parent_end), (
        fresh_start,
        parent_end,
        child_start,
    )
    assert points(child, "epoch")[0]["loss"] < 0.75 * points(parent, "epoch")[0]["loss"]
    # The parent's cosine schedule ended at 0; the child's starts again at the configured rate
    # (its first point is read after the first call's steps of decay).
    assert points(parent, "epoch")[-1]["learning_rate"] < 1e-6
    steps, total = child_batches[0]["step"], points(child, "epoch")[-1]["step"]
    restarted = PARENT.learning_rate * 0.5 * (1 + math.cos(math.pi * steps / total))
    assert child_batches[0]["learning_rate"] == pytest.approx(restarted, rel=0.01)


def test_a_run_without_weights_cannot_be_continued():
    stopped_early = ended_run("stopped before an epoch", model=False, state="stopped")
    with pytest.raises(RegistryError, match="no saved weights"):
        continuation.continue_run(stopped_early, 2)
    queued = registry.create_run(PARENT, "still queued")
    with pytest.raises(RegistryError, match="still queued"):
        continuation.continue_run(queued, 2)
    assert continuation.refusal(ended_run("trained")) is None


def test_a_visitor_continues_within_the_visitor_limits(monkeypatch):
    visitor = access.Who(owner=False, session="visitor-1")
    monkeypatch.setattr(limits, "current", lambda: limits.Limits(trainable_parameters=1000))
    with pytest.raises(limits.Refused, match="trainable parameters"):
        continuation.continue_run(ended_run("someone else's"), 3, visitor)


def test_history_joins_the_chain_on_one_epoch_axis():
    def batch(epoch):
        return {"kind": "batch", "epoch": epoch, "loss": 1 / epoch}

    def epoch(number):
        return {"kind": "epoch", "epoch": number, "loss": 1 / number, "val_loss": 1 / number}

    # Stopped mid-epoch: its model holds the weights of its last batch, at 2.5.
    parent = ended_run(
        "stopped", state="stopped", metrics=[batch(0.5), epoch(1), batch(1.5), epoch(2), batch(2.5)]
    )
    child = ended_run("child", meta={lineage.PARENT: parent.id, lineage.START_EPOCH: 2.5})
    run_results.append_metrics(child, [batch(0.5), epoch(1)])
    assert lineage.trained_epochs(parent) == 2.5
    assert [p["epoch"] for p in lineage.history(child)] == [0.5, 1, 1.5, 2, 2.5, 3.0, 3.5]
    # Only the checkpoint left (a killed run): its last whole epoch, and nothing drawn beyond it.
    (parent.path / layout.MODEL_FILE).unlink()
    (parent.path / layout.CHECKPOINT_FILE).write_bytes(b"weights")
    assert lineage.trained_epochs(parent) == 2
    grandchild = ended_run("grandchild", meta={lineage.PARENT: child.id, lineage.START_EPOCH: 3.0})
    run_results.append_metrics(grandchild, [epoch(1)])
    assert [p["epoch"] for p in lineage.history(grandchild)] == [0.5, 1, 1.5, 2, 2.5, 3.0, 4.0]
    # A deleted parent leaves the child's own points where they were.
    registry.delete_run(parent)
    assert [p["epoch"] for p in lineage.history(child)] == [3.0, 3.5]
    with pytest.raises(RegistryError, match="deleted"):
        lineage.starting_weights(child)


def test_a_warm_up_is_not_repeated_on_trained_weights():
    warm = ended_run("warm", config=PARENT.with_changes(schedule="warmup_cosine", warmup_epochs=1, epochs=3))
    config = continuation.continued_config(warm, 1)
    assert (config.schedule, config.warmup_epochs, config.epochs) == ("cosine", 0, 1)
