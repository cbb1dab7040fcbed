"""The model and training configuration.

One frozen object describes a run completely. It validates itself on creation, so an invalid
configuration cannot exist, and it round-trips through JSON so a run folder can rebuild its model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

ARCHITECTURES = ("mlp", "cnn")
ACTIVATIONS = ("relu", "gelu", "tanh", "sigmoid")
OPTIMIZERS = ("rmsprop", "adam", "sgd")
SCHEDULES = ("constant", "cosine", "warmup_cosine")
NORMALIZATIONS = ("unit", "standardize")
VALIDATION_SOURCES = ("holdout", "test")

UNITS_RANGE = (16, 2048)
DROPOUT_RANGE = (0.0, 0.8)
HIDDEN_LAYERS_RANGE = (1, 6)
CONV_BLOCKS_RANGE = (1, 4)
FILTERS_RANGE = (4, 256)
KERNEL_SIZES = (3, 5)
LEARNING_RATE_RANGE = (1e-5, 1.0)
MOMENTUM_RANGE = (0.0, 0.99)
BATCH_SIZE_RANGE = (16, 1024)
EPOCHS_RANGE = (1, 200)
PATIENCE_RANGE = (0, 50)
VALIDATION_SIZE_RANGE = (1000, 20000)
TRAIN_LIMIT_MIN = 500
SEED_RANGE = (0, 2**31 - 1)
TRAINING_SET_SIZE = 60000


class ConfigError(ValueError):
    """An invalid setting; `field` names it so the UI can point at the widget."""

    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.field = field_name


def _check_range(name: str, value: float, bounds: tuple[float, float]) -> None:
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ConfigError(name, f"must be between {low} and {high} (got {value!r})")


def _check_int(name: str, value: Any, bounds: tuple[int, int]) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(name, f"must be a whole number (got {value!r})")
    _check_range(name, value, bounds)


def _check_choice(name: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        raise ConfigError(name, f"must be one of {', '.join(map(str, choices))} (got {value!r})")


def _check_bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ConfigError(name, f"must be true or false (got {value!r})")


@dataclass(frozen=True)
class DenseLayer:
    """One hidden layer of an MLP, or the dense head of a CNN."""

    units: int = 512
    dropout: float = 0.2
    activation: str = "relu"

    def validate(self, prefix: str) -> None:
        _check_int(f"{prefix}.units", self.units, UNITS_RANGE)
        _check_range(f"{prefix}.dropout", self.dropout, DROPOUT_RANGE)
        _check_choice(f"{prefix}.activation", self.activation, ACTIVATIONS)


@dataclass(frozen=True)
class ConvBlock:
    """Convolution, optional batch norm, ReLU, optional 2x2 max-pool, then dropout."""

    filters: int = 32
    kernel_size: int = 3
    batch_norm: bool = True
    pool: bool = True
    dropout: float = 0.0

    def validate(self, prefix: str) -> None:
        _check_int(f"{prefix}.filters", self.filters, FILTERS_RANGE)
        _check_choice(f"{prefix}.kernel_size", self.kernel_size, KERNEL_SIZES)
        _check_bool(f"{prefix}.batch_norm", self.batch_norm)
        _check_bool(f"{prefix}.pool", self.pool)
        _check_range(f"{prefix}.dropout", self.dropout, DROPOUT_RANGE)


@dataclass(frozen=True)
class ModelConfig:
    """Architecture and training settings of one run."""

    architecture: str = "mlp"
    hidden_layers: tuple[DenseLayer, ...] = (DenseLayer(), DenseLayer())
    conv_blocks: tuple[ConvBlock, ...] = (ConvBlock(32), ConvBlock(64))
    head: DenseLayer = DenseLayer(units=128, dropout=0.3)
    optimizer: str = "rmsprop"
    learning_rate: float = 0.001
    momentum: float = 0.9
    schedule: str = "constant"
    warmup_epochs: int = 0
    batch_size: int = 128
    epochs: int = 20
    normalization: str = "unit"
    augment: bool = False
    early_stopping_patience: int = 0
    validation: str = "holdout"
    validation_size: int = 5000
    train_limit: int = 0
    seed: int = 42

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden_layers", tuple(self.hidden_layers))
        object.__setattr__(self, "conv_blocks", tuple(self.conv_blocks))
        self.validate()

    def validate(self) -> None:
        _check_choice("architecture", self.architecture, ARCHITECTURES)
        if self.architecture == "mlp":
            _check_int("hidden_layers (count)", len(self.hidden_layers), HIDDEN_LAYERS_RANGE)
            for i, layer in enumerate(self.hidden_layers):
                layer.validate(f"hidden_layers[{i}]")
        else:
            _check_int("conv_blocks (count)", len(self.conv_blocks), CONV_BLOCKS_RANGE)
            for i, block in enumerate(self.conv_blocks):
                block.validate(f"conv_blocks[{i}]")
            self.head.validate("head")
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_range("learning_rate", self.learning_rate, LEARNING_RATE_RANGE)
        _check_range("momentum", self.momentum, MOMENTUM_RANGE)
        _check_choice("schedule", self.schedule, SCHEDULES)
        _check_int("epochs", self.epochs, EPOCHS_RANGE)
        _check_int("warmup_epochs", self.warmup_epochs, (0, self.epochs - 1))
        if self.schedule == "warmup_cosine" and self.warmup_epochs == 0:
            raise ConfigError("warmup_epochs", "must be at least 1 with a warm-up schedule")
        _check_int("batch_size", self.batch_size, BATCH_SIZE_RANGE)
        _check_choice("normalization", self.normalization, NORMALIZATIONS)
        _check_bool("augment", self.augment)
        _check_int("early_stopping_patience", self.early_stopping_patience, PATIENCE_RANGE)
        _check_choice("validation", self.validation, VALIDATION_SOURCES)
        _check_int("validation_size", self.validation_size, VALIDATION_SIZE_RANGE)
        _check_int("train_limit", self.train_limit, (0, TRAINING_SET_SIZE))
        if 0 < self.train_limit < TRAIN_LIMIT_MIN:
            raise ConfigError("train_limit", f"must be 0 (all digits) or at least {TRAIN_LIMIT_MIN}")
        if self.validation == "holdout" and self.training_samples < TRAIN_LIMIT_MIN:
            raise ConfigError(
                "validation_size", "leaves too few digits to train on; lower it or raise train_limit"
            )
        _check_int("seed", self.seed, SEED_RANGE)

    @property
    def training_samples(self) -> int:
        """Digits the model is fitted on, after the validation hold-out."""
        available = self.train_limit or TRAINING_SET_SIZE
        return available - self.validation_size if self.validation == "holdout" else available

    def describe(self) -> str:
        """A one-line architecture summary for tables and pickers."""
        if self.architecture == "mlp":
            return "MLP " + "-".join(str(layer.units) for layer in self.hidden_layers)
        convs = "-".join(f"{b.filters}c{b.kernel_size}" for b in self.conv_blocks)
        return f"CNN {convs} / {self.head.units}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(unknown[0], "is not a known setting")
        values = dict(data)
        try:
            if "hidden_layers" in values:
                values["hidden_layers"] = tuple(DenseLayer(**d) for d in values["hidden_layers"])
            if "conv_blocks" in values:
                values["conv_blocks"] = tuple(ConvBlock(**d) for d in values["conv_blocks"])
            if "head" in values:
                values["head"] = DenseLayer(**values["head"])
        except TypeError as error:
            raise ConfigError("layers", f"malformed layer settings ({error})") from error
        return cls(**values)

    def with_changes(self, **changes: Any) -> ModelConfig:
        return replace(self, **changes)


@dataclass(frozen=True)
class Preset:
    label: str
    description: str
    config: ModelConfig = field(default_factory=ModelConfig)


PRESETS: dict[str, Preset] = {
    "seed-mlp": Preset(
        label="Keras mnist_mlp (seed)",
        description="The classic Keras example: 512-512 ReLU, dropout 0.2, RMSprop, batch 128, "
        "20 epochs. It reported 98.40% test accuracy.",
        config=ModelConfig(),
    ),
    "fast-cnn": Preset(
        label="Fast CNN",
        description="Two small conv blocks (16 5x5 and 32 3x3 filters), Adam with a cosine "
        "schedule, 5 epochs: at least 99.0% test accuracy in under a minute of training on a "
        "2-core CPU. Batch norm is left out because on a CPU it doubles the time per epoch.",
        config=ModelConfig(
            architecture="cnn",
            conv_blocks=(
                ConvBlock(filters=16, kernel_size=5, batch_norm=False),
                ConvBlock(filters=32, kernel_size=3, batch_norm=False),
            ),
            head=DenseLayer(units=128, dropout=0.3),
            optimizer="adam",
            learning_rate=0.003,
            schedule="cosine",
            batch_size=128,
            epochs=5,
        ),
    ),
}
