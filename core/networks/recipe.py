"""The optimiser and learning-rate schedule of a configuration, as Keras class names and arguments.

Said once for both users: `core.jobs.models` instantiates them (`getattr(keras.optimizers, name)`),
and `core.runs.export` writes the same calls into the standalone script, passing `Code` names for the
values only the script knows (its `--epochs`, its steps per epoch). No TensorFlow here.
"""

from __future__ import annotations

from typing import Any, Protocol

# The optimisers, by their keras.optimizers class.
OPTIMIZER_CLASSES = {"rmsprop": "RMSprop", "adam": "Adam", "sgd": "SGD"}


class Recipe(Protocol):
    """The settings read here (a `ModelConfig` has them), so this module needs no configuration."""

    optimizer: str
    momentum: float
    schedule: str


def optimizer_call(config: Recipe) -> tuple[str, dict[str, Any]]:
    """The `keras.optimizers` class and its arguments besides the learning rate."""
    arguments = {"momentum": config.momentum} if config.optimizer == "sgd" else {}
    return OPTIMIZER_CLASSES[config.optimizer], arguments


def optimizer_slots(config: Recipe) -> int:
    """Arrays the optimiser keeps per trainable weight: Adam's two moments, RMSprop's running
    mean of squared gradients, SGD's velocity (none without momentum)."""
    if config.optimizer == "adam":
        return 2
    if config.optimizer == "rmsprop":
        return 1
    return 1 if config.momentum > 0 else 0


def schedule_call(
    config: Recipe, learning_rate: Any, epochs: Any, warmup_epochs: Any, steps_per_epoch: Any
) -> tuple[str, dict[str, Any]] | None:
    """The `keras.optimizers.schedules` class and arguments; None for a constant rate.

    The warm-up starts from 0 and climbs linearly to the configured rate, which keeps the first
    large updates from destabilising freshly initialised weights (and batch-norm statistics).
    Keras advances schedules once per batch, hence the steps.
    """
    if config.schedule == "constant":
        return None
    if config.schedule == "cosine":
        return "CosineDecay", {
            "initial_learning_rate": learning_rate,
            "decay_steps": epochs * steps_per_epoch,
        }
    return "CosineDecay", {
        "initial_learning_rate": 0.0,
        "decay_steps": (epochs - warmup_epochs) * steps_per_epoch,
        "warmup_target": learning_rate,
        "warmup_steps": warmup_epochs * steps_per_epoch,
    }
