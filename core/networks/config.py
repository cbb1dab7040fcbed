"""The model and training configuration.

One frozen object describes a run completely. It validates itself on creation, so an invalid
configuration cannot exist, and it round-trips through JSON so a run folder can rebuild its model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from core.networks.families import cnn, mlp, residual_cnn
from core.networks.families.base import ConfigError, DenseLayer, Family, check_range
from core.networks.families.cnn import CNN, ConvBlock
from core.networks.families.mlp import MLP
from core.networks.training import TRAIN_LIMIT_MIN, TRAINING_FIELDS, TRAINING_SET_SIZE, TrainingSettings

# Network settings sat at the top level of config.json before networks were described by
# family; such files still load, each family taking the keys that are its own.
LEGACY_NETWORK_KEYS = ("hidden_layers", "conv_blocks", "head")


# The network families, registered once: the designer, the config, the model builder, the exporter
# and the tests all iterate over `FAMILIES`.
FAMILIES: dict[str, Family] = {
    family.name: family for family in (mlp.FAMILY, cnn.FAMILY, residual_cnn.FAMILY)
}


def family_named(name: Any) -> Family:
    if name not in FAMILIES:
        raise ConfigError("architecture", f"must be one of {', '.join(FAMILIES)} (got {name!r})")
    return FAMILIES[name]


def family_of(network: Any) -> Family:
    """The family whose settings `network` is."""
    for family in FAMILIES.values():
        if type(network) is family.network:
            return family
    raise ConfigError("network", f"is not the settings of a known network family (got {network!r})")


@dataclass(frozen=True)
class ModelConfig(TrainingSettings):
    """Architecture and training settings of one run: a family's network here, and the training
    settings (`config.epochs`...) as core/networks/training.py declares them, defaults included."""

    network: Any = field(default_factory=MLP)  # One family's settings, e.g. MLP or CNN.

    def __post_init__(self) -> None:
        self.validate()

    @property
    def architecture(self) -> str:
        """The network family's name, e.g. "mlp"."""
        return family_of(self.network).name

    def validate(self) -> None:
        family_of(self.network).validate(self.network)
        for name, training_field in TRAINING_FIELDS.items():
            training_field.check(name, getattr(self, name))
        # What one setting's bounds cannot say: how it depends on another.
        check_range("warmup_epochs", self.warmup_epochs, (0, self.epochs - 1))
        if self.schedule == "warmup_cosine" and self.warmup_epochs == 0:
            raise ConfigError("warmup_epochs", "must be at least 1 with a warm-up schedule")
        if 0 < self.train_limit < TRAIN_LIMIT_MIN:
            raise ConfigError("train_limit", f"must be 0 (all digits) or at least {TRAIN_LIMIT_MIN}")
        if self.validation == "holdout" and self.training_samples < TRAIN_LIMIT_MIN:
            raise ConfigError(
                "validation_size", "leaves too few digits to train on; lower it or raise train_limit"
            )

    @property
    def training_samples(self) -> int:
        """Digits the model is fitted on, after the validation hold-out."""
        available = self.train_limit or TRAINING_SET_SIZE
        return available - self.validation_size if self.validation == "holdout" else available

    def describe(self) -> str:
        """A one-line architecture summary for tables and pickers."""
        return family_of(self.network).describe(self.network)

    def to_dict(self) -> dict[str, Any]:
        return {"architecture": self.architecture, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """The configuration a config.json describes, old (network keys at the top) or new."""
        if not isinstance(data, dict):
            raise ConfigError("config", "must be a set of named settings")
        values = dict(data)
        family = family_named(values.pop("architecture", "mlp"))
        legacy = {key: values.pop(key) for key in LEGACY_NETWORK_KEYS if key in values}
        own_legacy = {group.name: legacy[group.name] for group in family.groups if group.name in legacy}
        network = values.pop("network", own_legacy)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(unknown[0], "is not a known setting")
        try:
            return cls(network=family.parse(network), **values)
        except TypeError as error:
            raise ConfigError("config", f"malformed settings ({error})") from error

    def with_changes(self, **changes: Any) -> ModelConfig:
        return replace(self, **changes)


@dataclass(frozen=True)
class Preset:
    label: str
    description: str
    config: ModelConfig = field(default_factory=ModelConfig)


FAST_CNN = ModelConfig(
    network=CNN(
        conv_blocks=(
            ConvBlock(filters=16, kernel_size=5, batch_norm=False),
            ConvBlock(filters=32, kernel_size=3, batch_norm=False),
        ),
        head=DenseLayer(units=128, dropout=0.3),
    ),
    optimizer="adam",
    learning_rate=0.003,
    schedule="cosine",
    batch_size=128,
    epochs=5,
)

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
        config=FAST_CNN,
    ),
    "robust-cnn": Preset(
        label="Robust CNN",
        description="The fast CNN trained for 15 epochs on randomly turned, shifted, zoomed and "
        "sheared digits (99.38% test accuracy here). Steadier on rotated digits, phone photos and "
        "thick marker than the fast CNN, a little less so on blurry low-resolution scans: compare "
        "them on the Robustness page.",
        config=FAST_CNN.with_changes(
            epochs=15,
            augment=True,
            rotation_degrees=10.0,
            shift_fraction=0.1,
            zoom_fraction=0.1,
            shear_factor=0.1,
        ),
    ),
    "best-cnn": Preset(
        label="Best CNN (long)",
        description="Four batch-normalised conv blocks (32, 32, 64, 64 filters, pooling and dropout "
        "0.25 after the second and fourth), a 256-unit head, the robust CNN's augmentation, 30 epochs: "
        "99.63% test accuracy here, about 25 minutes on a quiet 2-core CPU.",
        config=FAST_CNN.with_changes(
            network=CNN(
                conv_blocks=(
                    ConvBlock(filters=32, kernel_size=3, pool=False),
                    ConvBlock(filters=32, kernel_size=3, dropout=0.25),
                    ConvBlock(filters=64, kernel_size=3, pool=False),
                    ConvBlock(filters=64, kernel_size=3, dropout=0.25),
                ),
                head=DenseLayer(units=256, dropout=0.4),
            ),
            epochs=30,
            augment=True,
            rotation_degrees=10.0,
            shift_fraction=0.1,
            zoom_fraction=0.1,
        ),
    ),
}
