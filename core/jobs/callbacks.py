"""The training job's Keras callbacks: one job each, sharing one small `TrainingProgress`.

`RunMonitor` is what the worker passes to `fit`: these callbacks in a Keras `CallbackList`, in the
order their effects must happen. Another callback (a pruner, say) can sit beside it in the `fit`
list. What they write into the run folder is described in core.jobs.worker's docstring.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras

from core.runs import atomic_files, layout, registry, run_results
from core.runs.registry import RunRecord

logger = logging.getLogger(__name__)

# How often a batch point is taken, and how often points and status.json are written. Each costs
# a clock read per batch and a small write a few times a second: well under 1% of a training step.
POINT_INTERVAL_SECONDS = 0.3
FLUSH_INTERVAL_SECONDS = 0.5
STATUS_INTERVAL_SECONDS = 0.5
EPOCH_METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")
# Batch points carry the mean over the batches since the previous point, not the epoch so far.
BATCH_METRICS = ("loss", "accuracy")


class StopRequested(Exception):
    """Raised from a callback to leave `fit` at once, even in the middle of validation."""


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite: further epochs cannot recover."""


def save_model_atomically(model: keras.Model, path: Path) -> None:
    """Save under a temporary name and rename, so `path` is never a half-written model."""
    with atomic_files.atomic_path(path, suffix=".keras") as temp:
        model.save(temp)


@dataclass
class TrainingProgress:
    """Where `fit` stands: kept by `ProgressTracker`, read by the callbacks that report it and by
    the worker once `fit` has returned or been stopped."""

    train_start: float = 0.0
    epoch: int = 0  # 0-based: the epoch under way.
    epoch_start: float = 0.0
    epochs_completed: int = 0
    last_epoch_seconds: float | None = None  # Validation and checkpoint included.
    has_trained: bool = False  # At least one training batch has updated the weights.


class ProgressTracker(keras.callbacks.Callback):
    """The only writer of `TrainingProgress`."""

    def __init__(self, progress: TrainingProgress):
        super().__init__()
        self.progress = progress

    def on_train_begin(self, logs=None):
        self.progress.train_start = time.monotonic()

    def on_epoch_begin(self, epoch, logs=None):
        self.progress.epoch = epoch
        self.progress.epoch_start = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        self.progress.has_trained = True

    def on_epoch_end(self, epoch, logs=None):
        self.progress.epochs_completed = epoch + 1
        self.progress.last_epoch_seconds = time.monotonic() - self.progress.epoch_start


class StopOnRequest(keras.callbacks.Callback):
    """Honours the run's Stop button: a stat of the stop file between calls into the framework
    (every `models.STEPS_PER_EXECUTION` batches), validation included, so Stop answers within
    a fraction of a second."""

    def __init__(self, stop_file: Path):
        super().__init__()
        self.stop_file = str(stop_file)

    def _check(self) -> None:
        if os.path.exists(self.stop_file):
            raise StopRequested

    def on_epoch_begin(self, epoch, logs=None):
        self._check()  # Catches a request made while the last epoch was being saved.

    def on_train_batch_end(self, batch, logs=None):
        self._check()

    def on_test_batch_end(self, batch, logs=None):
        self._check()


class DivergenceGuard(keras.callbacks.Callback):
    """Ends `fit` with `TrainingDiverged` as soon as the training loss is NaN or infinite."""

    def __init__(self):
        super().__init__()
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            raise TrainingDiverged(
                f"the loss became {loss} in epoch {self.epoch + 1}; "
                "try a lower learning rate or a warm-up schedule"
            )


class MetricsStream(keras.callbacks.Callback):
    """Batch and epoch points into metrics.jsonl, buffered and appended a few times a second;
    every epoch point is written before the epoch's later callbacks run, and logged."""

    def __init__(
        self,
        run: RunRecord,
        progress: TrainingProgress,
        *,
        point_interval: float = POINT_INTERVAL_SECONDS,
        flush_interval: float = FLUSH_INTERVAL_SECONDS,
    ):
        super().__init__()
        self.run = run
        self.progress = progress
        self.point_interval = point_interval
        self.flush_interval = flush_interval
        self._pending: list[dict[str, Any]] = []
        self._next_point = self._next_flush = 0.0
        self._sums_at_last_point: tuple[int, dict[str, float]] = (0, {})

    def on_train_begin(self, logs=None):
        self._next_point = self._next_flush = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._sums_at_last_point = (0, {name: 0.0 for name in BATCH_METRICS})

    def on_train_batch_end(self, batch, logs=None):
        now = time.monotonic()
        if now >= self._next_point:  # Always true after the first batch.
            self._next_point = now + self.point_interval
            self._pending.append(self._batch_point(batch, logs or {}, now))
        if now >= self._next_flush:
            self._next_flush = now + self.flush_interval
            self._flush()

    def on_epoch_end(self, epoch, logs=None):
        point = self._epoch_point(epoch, logs or {}, time.monotonic())
        self._pending.append(point)
        self._flush()
        logger.info(_epoch_summary(point, self.params["epochs"]))

    def interval_means(self, batches_done: int, logs: dict) -> dict[str, float | None]:
        """Each metric's mean over the batches since the last point.

        Keras reports running means over the epoch so far, which reset at every epoch and so draw
        a sawtooth; n * mean_n - k * mean_k is the sum over batches k+1..n.
        """
        last_batches, last_sums = self._sums_at_last_point
        sums = {name: logs[name] * batches_done for name in BATCH_METRICS if logs.get(name) is not None}
        self._sums_at_last_point = (batches_done, {**last_sums, **sums})
        return {
            name: (sums[name] - last_sums[name]) / (batches_done - last_batches) if name in sums else None
            for name in BATCH_METRICS
        }

    def _learning_rate(self) -> float:
        return float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def _batch_point(self, batch: int, logs: dict, now: float) -> dict[str, Any]:
        steps, epoch = self.params["steps"], self.progress.epoch
        return {
            "kind": "batch",
            "epoch": round(epoch + (batch + 1) / steps, 5),
            "step": epoch * steps + batch + 1,
            **self.interval_means(batch + 1, logs),
            "learning_rate": self._learning_rate(),
            "time": round(now - self.progress.train_start, 3),
        }

    def _epoch_point(self, epoch: int, logs: dict, now: float) -> dict[str, Any]:
        return {
            "kind": "epoch",
            "epoch": epoch + 1,
            "step": (epoch + 1) * self.params["steps"],
            **{name: _finite_or_none(logs.get(name)) for name in EPOCH_METRICS},
            "learning_rate": self._learning_rate(),
            "seconds": round(now - self.progress.epoch_start, 3),
            "time": round(now - self.progress.train_start, 3),
        }

    def _flush(self) -> None:
        run_results.append_metrics(self.run, self._pending)
        self._pending = []


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves the model after every epoch, atomically: what a killed run falls back to."""

    def __init__(self, path: Path):
        super().__init__()
        self.path = path

    def on_epoch_end(self, epoch, logs=None):
        save_model_atomically(self.model, self.path)


class StatusPublisher(keras.callbacks.Callback):
    """Phase ("training" or "validating"), progress, speed and ETA into status.json, a few times
    a second and at each epoch's start and end, for the runs page."""

    def __init__(
        self,
        run: RunRecord,
        progress: TrainingProgress,
        *,
        batch_size: int,
        interval: float = STATUS_INTERVAL_SECONDS,
    ):
        super().__init__()
        self.run = run
        self.progress = progress
        self.batch_size = batch_size
        self.interval = interval
        self._next_status = 0.0

    def on_train_begin(self, logs=None):
        self._next_status = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._publish("training", batches_done=0)

    def on_train_batch_end(self, batch, logs=None):
        now = time.monotonic()
        if now >= self._next_status:
            self._next_status = now + self.interval
            self._publish("training", batches_done=batch + 1)

    def on_test_begin(self, logs=None):
        self._publish("validating", batches_done=self.params["steps"])

    def on_epoch_end(self, epoch, logs=None):
        self._publish("training", batches_done=self.params["steps"])

    def _publish(self, phase: str, *, batches_done: int) -> None:
        steps, epochs = self.params["steps"], self.params["epochs"]
        elapsed = time.monotonic() - self.progress.epoch_start
        rate = batches_done / elapsed if batches_done and elapsed > 0 else None
        progress = {
            "epoch": self.progress.epoch + 1,
            "epochs": epochs,
            "epochs_completed": self.progress.epochs_completed,
            "batch": batches_done,
            "batches_per_epoch": steps,
            "samples_per_sec": round(rate * self.batch_size, 1) if rate else None,
            "eta_seconds": self._eta(batches_done, rate, steps, epochs),
        }
        registry.update_status(self.run, {"phase": phase, "progress": progress})

    def _eta(self, batches_done: int, rate: float | None, steps: int, epochs: int) -> float | None:
        """Seconds to the end of training, from the last whole epoch once one has been timed."""
        if self.progress.last_epoch_seconds is not None:
            epoch_seconds = self.progress.last_epoch_seconds
        elif rate:
            epoch_seconds = steps / rate
        else:
            return None
        remaining_epochs = epochs - self.progress.epoch - 1
        this_epoch = (steps - batches_done) / rate if rate else epoch_seconds
        return round(this_epoch + remaining_epochs * epoch_seconds, 1)


class SearchPruning(keras.callbacks.Callback):
    """Reports each epoch's validation accuracy to a search trial (an Optuna `Trial`, duck-typed
    so this module needs no Optuna) and stops training when the study's pruner says the trial is
    behind. Never after the last epoch: a finished trial is worth keeping. Sits after `RunMonitor`,
    so the epoch is recorded first."""

    def __init__(self, trial: Any):
        super().__init__()
        self.trial = trial
        self.pruned_after: int | None = None  # The epoch (1-based) after which it was pruned.

    def on_epoch_end(self, epoch, logs=None):
        accuracy = (logs or {}).get("val_accuracy")
        if accuracy is None or not math.isfinite(accuracy):
            return
        self.trial.report(float(accuracy), epoch + 1)
        if epoch + 1 < self.params["epochs"] and self.trial.should_prune():
            self.pruned_after = epoch + 1
            raise StopRequested(f"pruned by the search after epoch {epoch + 1}")


class RunMonitor(keras.callbacks.CallbackList):
    """The run folder's callbacks in the order their effects must happen, dispatched by Keras' own
    `CallbackList`: one entry in the `fit` list, before EarlyStopping or a search's pruner.

    Stop and divergence are checked before anything is recorded; at an epoch's end its metrics
    are on disk before the checkpoint is saved, and status.json counts the epoch only after both.
    `progress` tells the worker, after `fit`, how far training got.
    """

    def __init__(self, run: RunRecord, *, batch_size: int):
        self.progress = TrainingProgress()
        super().__init__(
            [
                StopOnRequest(run.path / layout.STOP_FILE),
                DivergenceGuard(),
                MetricsStream(run, self.progress),
                EpochCheckpoint(run.path / layout.CHECKPOINT_FILE),
                ProgressTracker(self.progress),
                StatusPublisher(run, self.progress, batch_size=batch_size),
            ]
        )


def _finite_or_none(value: Any) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def _epoch_summary(point: dict[str, Any], epochs: int) -> str:
    def show(name: str) -> str:
        value = point.get(name)
        return "n/a" if value is None else f"{value:.4f}"

    metrics = ", ".join(f"{name} {show(name)}" for name in EPOCH_METRICS)
    return f"epoch {point['epoch']}/{epochs}: {metrics} ({point['seconds']:.1f} s)"
