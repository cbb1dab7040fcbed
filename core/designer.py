"""The model designer's form, as flat widget values, and its conversion to a ModelConfig.

The train page keeps one Streamlit widget per key below; loading a preset writes all of them,
and Start reads them back through `config_from_values`, which validates like the config does.
"""

from __future__ import annotations

from typing import Any

from core import config as cfg
from core.config import ConvBlock, DenseLayer, ModelConfig

MAX_HIDDEN_LAYERS = cfg.HIDDEN_LAYERS_RANGE[1]
MAX_CONV_BLOCKS = cfg.CONV_BLOCKS_RANGE[1]
DENSE_FIELDS = ("units", "dropout", "activation")
CONV_FIELDS = ("filters", "kernel_size", "batch_norm", "pool", "dropout")
TRAINING_FIELDS = (
    "optimizer",
    "learning_rate",
    "momentum",
    "schedule",
    "warmup_epochs",
    "batch_size",
    "epochs",
    "normalization",
    "augment",
    "early_stopping_patience",
    "validation",
    "validation_size",
    "train_limit",
    "seed",
)

# What the form shows for each choice.
CHOICE_LABELS = {
    "rmsprop": "RMSprop",
    "adam": "Adam",
    "sgd": "SGD with momentum",
    "constant": "constant",
    "cosine": "cosine decay",
    "warmup_cosine": "warm-up + cosine",
    "unit": "scale to [0, 1]",
    "standardize": "standardise (mean 0, std 1)",
    "holdout": "hold-out from training data",
    "test": "the test set (the seed's habit: optimistic)",
}


def widget_values(config: ModelConfig) -> dict[str, Any]:
    """Every form widget's value for `config`; slots beyond its layer count get sensible defaults."""
    values: dict[str, Any] = {"architecture": config.architecture}
    values["hidden_layer_count"] = len(config.hidden_layers)
    layers = list(config.hidden_layers) + [DenseLayer()] * MAX_HIDDEN_LAYERS
    for index, layer in enumerate(layers[:MAX_HIDDEN_LAYERS]):
        values.update({f"dense_{name}_{index}": getattr(layer, name) for name in DENSE_FIELDS})
    values["conv_block_count"] = len(config.conv_blocks)
    blocks = list(config.conv_blocks) + [ConvBlock(filters=64)] * MAX_CONV_BLOCKS
    for index, block in enumerate(blocks[:MAX_CONV_BLOCKS]):
        values.update({f"conv_{name}_{index}": getattr(block, name) for name in CONV_FIELDS})
    values.update({f"head_{name}": getattr(config.head, name) for name in DENSE_FIELDS})
    values.update({name: getattr(config, name) for name in TRAINING_FIELDS})
    return values


def config_from_values(values: dict[str, Any]) -> ModelConfig:
    """The config the form describes; raises ConfigError naming the bad field."""
    hidden_layers = tuple(
        DenseLayer(**{name: values[f"dense_{name}_{index}"] for name in DENSE_FIELDS})
        for index in range(int(values["hidden_layer_count"]))
    )
    conv_blocks = tuple(
        ConvBlock(**{name: values[f"conv_{name}_{index}"] for name in CONV_FIELDS})
        for index in range(int(values["conv_block_count"]))
    )
    head = DenseLayer(**{name: values[f"head_{name}"] for name in DENSE_FIELDS})
    return ModelConfig(
        architecture=values["architecture"],
        hidden_layers=hidden_layers,
        conv_blocks=conv_blocks,
        head=head,
        **{name: values[name] for name in TRAINING_FIELDS},
    )
