"""Train one run in its own process: the "train" job of core.queue.jobs (`train_job`).

The scheduler starts one job process per run, so a crash, a kill or the out-of-memory killer takes
down only that run, never the Streamlit server. Everything the pages show comes back through the
run folder: status.json (state, phase and progress), metrics.jsonl (the curves), checkpoint.keras
after each epoch, then model.keras, model.tflite (what the server predicts with),
evaluation.json and predictions.npz. `train_run` is also what the command line
(`python -m core.train`) calls, so there is exactly one training loop.

metrics.jsonl holds two kinds of records, both with `epoch` on one fractional axis so a chart can
draw them together:
  {"kind": "batch", "epoch": 1.25, "step": 1075, "loss", "accuracy", "learning_rate", "time"}
  {"kind": "epoch", "epoch": 2, "step": 860, "loss", "accuracy", "val_loss", "val_accuracy",
   "learning_rate", "seconds", "time"}
A batch point at batch b (0-based) of epoch e (0-based) sits at e + (b + 1) / steps_per_epoch; its
loss and accuracy are the means over the batches since the previous point (not Keras's running
means over the epoch, which reset each epoch and draw a sawtooth). `time` counts seconds since
training began; `seconds` is the epoch's duration, validation included. The callbacks that write
these, status.json's progress and the checkpoint are in core.jobs.callbacks.
"""

from __future__ import annotations

import logging
import math
import platform
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

from core.data.mnist import MnistData, load_mnist
from core.jobs.callbacks import RunMonitor, StopRequested, TrainingProgress, save_model_atomically
from core.jobs.convert import write_lite_files
from core.jobs.device import configure_tensorflow, distribution_strategy
from core.jobs.models import STEPS_PER_EXECUTION, build_model, compile_model
from core.networks.config import ModelConfig
from core.runs import layout, lineage, processes, registry
from core.runs.registry import RunRecord
from core.serving.evaluate import evaluate_and_store

logger = logging.getLogger(__name__)

STATISTICS_CHUNK = 4096


@dataclass(frozen=True)
class TrainingSplit:
    """Which digits to fit on and to validate on: indices into the dataset's own uint8 arrays.

    Nothing is copied up front: `fit_model` gathers each side once, as uint8, for its input
    pipeline. `x_train` and `x_val` gather a (N, 28, 28, 1) uint8 copy, for callers that want
    plain arrays (the pixel statistics, benchmarks).
    """

    train_images: np.ndarray
    train_index: np.ndarray
    y_train: np.ndarray
    val_images: np.ndarray
    val_index: np.ndarray
    y_val: np.ndarray
    validation_label: str

    @property
    def x_train(self) -> np.ndarray:
        return self.train_images[self.train_index][..., None]

    @property
    def x_val(self) -> np.ndarray:
        return self.val_images[self.val_index][..., None]


def prepare_split(config: ModelConfig, data: MnistData) -> TrainingSplit:
    """The digits to fit on and to validate on.

    One seeded permutation picks the `train_limit` subset and the hold-out, so a seed always
    selects the same digits. Pixels stay uint8 (a quarter of float32's memory) until the model's
    float32 input casts each batch.
    """
    order = np.random.default_rng(config.seed).permutation(len(data.y_train))
    if config.train_limit:
        order = order[: config.train_limit]
    if config.validation == "holdout":
        val_index, train_index = order[: config.validation_size], order[config.validation_size :]
        val_images, y_val = data.x_train, data.y_train[val_index]
        label = f"hold-out ({len(val_index):,} training digits)"
    else:
        train_index = order
        val_images, val_index, y_val = data.x_test, np.arange(len(data.y_test)), data.y_test
        label = f"test set ({len(y_val):,} digits)"
    return TrainingSplit(
        data.x_train, train_index, data.y_train[train_index], val_images, val_index, y_val, label
    )


def pixel_statistics(images: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of all pixels on the [0, 1] scale.

    Exact integer sums, in chunks: a few MB beside the uint8 images, where a float64 copy of
    55,000 digits would need 345 MB.
    """
    total = total_squares = 0
    for start in range(0, len(images), STATISTICS_CHUNK):
        chunk = images[start : start + STATISTICS_CHUNK].astype(np.uint32)
        total += int(chunk.sum(dtype=np.uint64))
        total_squares += int(np.square(chunk, out=chunk).sum(dtype=np.uint64))
    count = images.size
    mean = total / count / 255.0
    return mean, math.sqrt(max(total_squares / count / 255.0**2 - mean**2, 0.0))


def library_versions(tensorflow_version: str) -> dict[str, str]:
    return {
        "tensorflow": tensorflow_version,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def git_commit() -> str | None:
    """The project's checked-out commit, if git can tell; provenance only, so never fatal."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=layout.PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def _claim(run: RunRecord) -> bool:
    """Record this process as the run's worker; False if the run was stopped before we began."""
    device = configure_tensorflow(run.config.devices)
    started = {
        "state": "running",
        "started": layout.now_iso(),
        "phase": "loading",
        "device": device.label,
        "device_info": device.to_dict(),
        "versions": library_versions(device.tensorflow_version),
        "git_commit": git_commit(),
        "seed": run.config.seed,
        **processes.process_identity(),
    }
    if registry.update_status(run, started, only_if=("queued", "running")) is not None:
        logger.info("training %s (%s) on %s", run.id, run.config.describe(), device.label)
        return True
    _finish(run, "stopped", stop_reason="stopped before training started", phase="stopped")
    return False


def _finish(run: RunRecord, state: str, **fields: Any) -> RunRecord:
    changes = {"state": state, "ended": layout.now_iso(), **fields}
    registry.update_status(run, changes, only_if=layout.ACTIVE_STATES)
    return registry.reload(run)


def _callbacks(run: RunRecord, config: ModelConfig, extra: Sequence = ()) -> tuple[TrainingProgress, list]:
    """The run folder's monitor first, so each epoch is recorded before `extra` (a search's
    pruner) may end training after it."""
    monitor = RunMonitor(run, batch_size=config.batch_size)
    if config.early_stopping_patience == 0:
        return monitor.progress, [monitor, *extra]
    early_stopping = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=config.early_stopping_patience, restore_best_weights=True
    )
    return monitor.progress, [monitor, early_stopping, *extra]


def _evaluate_on_test(run: RunRecord, model: keras.Model, data: MnistData) -> dict[str, Any]:
    """Write evaluation.json and predictions.npz for the test digits.

    The same function evaluates, in the background, runs and imports that lack an evaluation
    (core.queue.model_jobs), so both write exactly the same files.
    """
    return evaluate_and_store(run.path, model, data.x_test, data.y_test)


def _compiled_model(
    config: ModelConfig, split: TrainingSplit, start_from: Path | None = None, replicas: int = 1
) -> keras.Model:
    """The run's model, standardised (if asked) with the statistics of the digits it fits on; or,
    for a continued run, its parent's saved model (its own standardisation inside), with a fresh
    optimiser so the schedule starts again.

    Mirrored over several replicas, one step per call: Keras 3.15's multi-step loop under
    TensorFlow's MirroredStrategy fails ("You must feed a value for placeholder tensor").
    """
    if start_from is None:
        mean, std = pixel_statistics(split.x_train)
        model = build_model(config, pixel_mean=mean, pixel_std=std)
    else:
        model = keras.saving.load_model(start_from, compile=False, safe_mode=True)
        keras.utils.set_random_seed(config.seed)  # The same dropout and shuffling as a fresh run.
    steps_per_epoch = math.ceil(len(split.y_train) / config.batch_size)
    compile_model(model, config, steps_per_epoch, 1 if replicas > 1 else STEPS_PER_EXECUTION)
    return model


def digit_batches(
    images: np.ndarray,
    index: np.ndarray,
    labels: np.ndarray,
    batch_size: int,
    shuffle_seed: int | None = None,
) -> Any:
    """(images, labels) batches of `images[index]`, in a new seeded order each epoch when given a
    shuffle seed, for `fit` to consume with no Python per batch.

    On TensorFlow a `tf.data` pipeline: the chosen uint8 digits become one tensor (a quarter of
    float32's memory), the order is a shuffle of their positions in the graph, and each batch is
    gathered and cast to float32 there, prefetched while the previous batch trains. On any other
    backend, where TensorFlow may not be installed, the uint8 arrays themselves for Keras' own
    array adapter (it shuffles each epoch when `fit_model` asks).
    """
    chosen = images[index][..., None]
    if keras.backend.backend() != "tensorflow":
        return chosen, labels
    import tensorflow as tf

    pixels, targets = tf.constant(chosen), tf.constant(labels)
    order = tf.data.Dataset.range(len(labels))
    if shuffle_seed is not None:
        order = order.shuffle(len(labels), seed=shuffle_seed, reshuffle_each_iteration=True)
    return (
        order.batch(batch_size)
        .map(lambda batch: (tf.cast(tf.gather(pixels, batch), tf.float32), tf.gather(targets, batch)))
        .prefetch(tf.data.AUTOTUNE)
    )


def fit_model(model: keras.Model, config: ModelConfig, split: TrainingSplit, callbacks: list) -> None:
    """The one `fit` call of every run (the worker, the command line, a search's trials)."""
    batch = config.batch_size
    train = digit_batches(split.train_images, split.train_index, split.y_train, batch, config.seed)
    validation = digit_batches(split.val_images, split.val_index, split.y_val, batch)
    arrays = isinstance(train, tuple)
    model.fit(
        *(train if arrays else (train,)),
        batch_size=batch if arrays else None,
        epochs=config.epochs,
        validation_data=validation,
        shuffle=arrays,  # A dataset draws its own seeded order each epoch.
        callbacks=callbacks,
        verbose=0,
    )


def _fit(run: RunRecord, extra_callbacks: Sequence = ()) -> RunRecord:
    config = run.config
    data = load_mnist()
    split = prepare_split(config, data)
    samples = len(split.y_train)
    logger.info("fitting on %d digits, validating on the %s", samples, split.validation_label)
    strategy = distribution_strategy()
    replicas = strategy.num_replicas_in_sync
    registry.update_status(
        run,
        {
            "phase": "compiling",
            "validation": split.validation_label,
            "training_samples": samples,
            "replicas": replicas,
        },
    )
    if replicas > 1:
        logger.info("mirrored on %d replicas, each batch of %d split among them", replicas, config.batch_size)
    with strategy.scope():  # Variables made here are mirrored on every replica.
        model = _compiled_model(config, split, lineage.starting_weights(run), replicas)
    progress, callbacks = _callbacks(run, config, extra_callbacks)
    try:
        fit_model(model, config, split, callbacks)
    except (StopRequested, KeyboardInterrupt) as stop:
        return _save_stopped(run, model, progress, str(stop) or "stop requested")
    return _save_finished(run, model, progress, data)


def _save_finished(
    run: RunRecord, model: keras.Model, progress: TrainingProgress, data: MnistData
) -> RunRecord:
    registry.update_status(run, {"phase": "saving"})
    save_model_atomically(model, run.path / layout.MODEL_FILE)
    write_lite_files(model, run.path, source_name=layout.MODEL_FILE)
    registry.update_status(run, {"phase": "evaluating"})
    evaluation = _evaluate_on_test(run, model, data)
    logger.info("test accuracy %.2f%%, loss %.4f", 100 * evaluation["accuracy"], evaluation["loss"])
    return _finish(
        run,
        "finished",
        phase="done",
        test_accuracy=evaluation["accuracy"],
        test_loss=evaluation["loss"],
        early_stopped=progress.epochs_completed < run.config.epochs,
    )


def _save_stopped(run: RunRecord, model: keras.Model, progress: TrainingProgress, reason: str) -> RunRecord:
    """Keep the weights trained so far as the run's model; `reason` is the Stop button's or a
    search pruner's."""
    if not progress.has_trained:
        return _finish(run, "stopped", phase="stopped", stop_reason="stopped before training")
    registry.update_status(run, {"phase": "saving"})
    save_model_atomically(model, run.path / layout.MODEL_FILE)
    logger.info("stopped after %d completed epoch(s)", progress.epochs_completed)
    stopped = _finish(run, "stopped", phase="stopped", stop_reason=reason)
    # After the state change, so Stop answers at once; this process still holds its job slot.
    write_lite_files(model, run.path, source_name=layout.MODEL_FILE)
    return stopped


def train_run(run: RunRecord, extra_callbacks: Sequence = ()) -> RunRecord:
    """Train `run` in this process and return its final record; `extra_callbacks` (a search's
    pruner) sit after the run's own in `fit`.

    Errors end the run as failed, with the message in status.json and the traceback in the log,
    rather than escaping: the caller only needs the final state.
    """
    try:
        if not _claim(run):
            return registry.reload(run)
        return _fit(run, extra_callbacks)
    except KeyboardInterrupt:
        return _finish(run, "stopped", phase="stopped", stop_reason="interrupted before training")
    except Exception as error:
        logger.exception("run %s failed", run.id)
        return _finish(run, "failed", phase="failed", error=f"{type(error).__name__}: {error}")


def train_job(target: str) -> None:
    """The train job's body: train the queued run `target`; its outcome lives in status.json."""
    run = registry.open_run(layout.runs_dir() / target)
    if run.broken:
        raise RuntimeError(f"cannot train {run.id}: {run.broken}")
    train_run(run)
