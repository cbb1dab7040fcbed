"""The training settings every family shares, declared once.

Each setting's kind, bounds or choices, label, help, place in the designer and whether a search
may vary it are said here; `ModelConfig.validate`, the designer's widget values, the train page's
form and the search space all iterate `TRAINING_FIELDS`. Adding a training setting touches this
declaration only, its default included: `TrainingSettings`, the training half of `ModelConfig`, is
made from it (tests/unit/test_training_fields.py checks every user picks a new setting up).
"""

from __future__ import annotations

from dataclasses import dataclass, field, make_dataclass
from typing import Any

from core.networks.families.base import Field
from core.networks.recipe import OPTIMIZER_CLASSES

TRAINING_SET_SIZE = 60000
TRAIN_LIMIT_MIN = 500  # Fewer digits than this train nothing worth comparing.
MOST_EPOCHS = 200
LEFT, RIGHT = 0, 1  # The designer's two columns.


@dataclass(frozen=True)
class TrainingField(Field):
    """A family's `Field` plus what the designer and a search need to know about a training setting."""

    default: Any = None  # What a new configuration starts with.
    choice_labels: tuple = ()  # What the form shows for each of `choices`, in their order.
    help: str = ""
    format: str = ""  # A float typed in with this format (a learning rate spans 5 orders) rather than slid.
    column: int = LEFT
    shown_when: tuple = ()  # (setting, value): the widget shows only then, e.g. momentum with SGD.
    search: str = "never"  # "allowed": a space file may vary it; "default": default spaces vary it too.


AUGMENTING = ("augment", True)

TRAINING_FIELDS: dict[str, TrainingField] = {
    field.name: field
    for field in (
        TrainingField(
            "optimizer",
            "Optimiser",
            "choice",
            choices=tuple(OPTIMIZER_CLASSES),
            search="default",
            default="rmsprop",
            choice_labels=("RMSprop", "Adam", "SGD with momentum"),
        ),
        TrainingField(
            "learning_rate",
            "Learning rate",
            "float",
            (1e-5, 1.0),
            step=0.0001,
            format="%.5f",
            column=RIGHT,
            search="default",
            default=0.001,
        ),
        TrainingField(
            "momentum",
            "Momentum",
            "float",
            (0.0, 0.99),
            step=0.01,
            shown_when=("optimizer", "sgd"),
            search="allowed",
            default=0.9,
        ),
        TrainingField(
            "schedule",
            "Schedule",
            "choice",
            choices=("constant", "cosine", "warmup_cosine"),
            default="constant",
            choice_labels=("constant", "cosine decay", "warm-up + cosine"),
        ),
        TrainingField("epochs", "Epochs", "int", (1, MOST_EPOCHS), column=RIGHT, default=20),
        # Below the epochs too, and at least 1 with a warm-up schedule: ModelConfig.validate says so.
        TrainingField(
            "warmup_epochs",
            "Warm-up epochs",
            "int",
            (0, MOST_EPOCHS - 1),
            column=RIGHT,
            shown_when=("schedule", "warmup_cosine"),
            default=0,
        ),
        TrainingField("batch_size", "Batch size", "int", (16, 1024), step=16, search="default", default=128),
        TrainingField(
            "normalization",
            "Input normalisation",
            "choice",
            choices=("unit", "standardize"),
            help="Standardise: mean 0 and deviation 1 over the training digits.",
            column=RIGHT,
            default="unit",
            choice_labels=("scale to [0, 1]", "standardise"),
        ),
        TrainingField(
            "early_stopping_patience",
            "Early-stopping patience (0 = off)",
            "int",
            (0, 50),
            help="Stops when validation loss has not improved for this many epochs and keeps the best "
            "weights.",
            default=0,
        ),
        TrainingField(
            "augment",
            "Augment training digits",
            "bool",
            help="Random changes of each training digit, by up to the amounts below, in training only.",
            column=RIGHT,
            search="default",
            default=False,
        ),
        TrainingField(
            "rotation_degrees",
            "Rotation (degrees)",
            "float",
            (0.0, 45.0),
            step=1.0,
            column=RIGHT,
            shown_when=AUGMENTING,
            default=10.0,
        ),
        TrainingField(
            "shift_fraction",
            "Shift (of the side)",
            "float",
            (0.0, 0.3),
            step=0.01,
            column=RIGHT,
            shown_when=AUGMENTING,
            default=0.1,
        ),
        TrainingField(
            "zoom_fraction",
            "Zoom",
            "float",
            (0.0, 0.5),
            step=0.01,
            column=RIGHT,
            shown_when=AUGMENTING,
            default=0.0,
        ),
        TrainingField(
            "shear_factor",
            "Shear",
            "float",
            (0.0, 0.5),
            step=0.01,
            column=RIGHT,
            shown_when=AUGMENTING,
            default=0.0,
        ),
        TrainingField(
            "validation",
            "Validate on",
            "choice",
            choices=("holdout", "test"),
            help="Hold-out digits are set aside from the training digits. The seed example validates "
            "on the test set, which then no longer measures digits the choices never saw.",
            default="holdout",
            choice_labels=("hold-out digits", "test set (optimistic)"),
        ),
        TrainingField(
            "validation_size", "Hold-out size", "int", (1000, 20000), step=500, column=RIGHT, default=5000
        ),
        # 0 means all of them; otherwise at least TRAIN_LIMIT_MIN, which ModelConfig.validate checks.
        TrainingField(
            "train_limit",
            "Training digits (0 = all 60,000)",
            "int",
            (0, TRAINING_SET_SIZE),
            step=1000,
            help=f"A smaller subset trains faster; at least {TRAIN_LIMIT_MIN}.",
            default=0,
        ),
        TrainingField("seed", "Random seed", "int", (0, 2**31 - 1), column=RIGHT, default=42),
        # Every visible GPU (mirrored, the batch split across them), the first GPU only, or the CPU
        # alone. Without a GPU all three train on the CPU.
        TrainingField(
            "devices",
            "Train on",
            "choice",
            choices=("all", "one", "cpu"),
            help="Several GPUs train one model, each on an equal share of every batch. "
            "Without a GPU every choice trains on the CPU.",
            default="all",
            choice_labels=("all GPUs", "one GPU", "the CPU"),
        ),
    )
}


_TYPES = {"int": int, "float": float, "bool": bool, "choice": str}

# The training half of core.networks.config.ModelConfig, one attribute per declared setting with
# its declared default, so a new setting is declared once, here.
TrainingSettings = make_dataclass(
    "TrainingSettings",
    [
        (name, _TYPES[declared.kind], field(default=declared.default))
        for name, declared in TRAINING_FIELDS.items()
    ],
    frozen=True,
)
