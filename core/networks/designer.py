"""The model designer's form, as flat widget values, and its conversion to a ModelConfig.

The train page keeps one Streamlit widget per network field and per training setting (declared in
core/networks/training.py); loading a preset writes all of them, and Start reads them back through
`config_from_values`, which validates like the config does.
"""

from __future__ import annotations

from typing import Any

from core.networks.config import FAMILIES, ConfigError, ModelConfig, family_named
from core.networks.families.base import Family, Group, check_range
from core.networks.training import TRAINING_FIELDS, TRAINING_SET_SIZE

# What the form shows for each choice of a training setting, as declared with it.
CHOICE_LABELS = {
    choice: label
    for declared in TRAINING_FIELDS.values()
    for choice, label in zip(declared.choices, declared.choice_labels, strict=True)
}


def group_key(family: Family, group: Group, field: str, index: int | None = None) -> str:
    """The widget key of one field, e.g. `cnn_conv_blocks_filters_0` or `cnn_head_units`."""
    return f"{family.name}_{group.name}_{field}" + ("" if index is None else f"_{index}")


def count_key(family: Family, group: Group) -> str:
    return f"{family.name}_{group.name}_count"


def widget_values(config: ModelConfig) -> dict[str, Any]:
    """Every form widget's value for `config`. The other families keep their defaults, and rows
    beyond a list's length the group's new item, so switching family or adding a row starts
    from something sensible."""
    values: dict[str, Any] = {"architecture": config.architecture}
    for family in FAMILIES.values():
        network = config.network if family.name == config.architecture else family.network()
        for group in family.groups:
            value = getattr(network, group.name)
            if group.count is None:
                values.update(
                    {group_key(family, group, f.name): getattr(value, f.name) for f in group.fields}
                )
                continue
            values[count_key(family, group)] = len(value)
            rows = list(value) + [group.new_item] * group.count[1]
            for index, item in enumerate(rows[: group.count[1]]):
                values.update(
                    {group_key(family, group, f.name, index): getattr(item, f.name) for f in group.fields}
                )
    values.update({name: getattr(config, name) for name in TRAINING_FIELDS})
    return values


def config_from_values(values: dict[str, Any]) -> ModelConfig:
    """The config the form describes; raises ConfigError naming the bad field."""
    family = family_named(values["architecture"])

    def item(group: Group, index: int | None = None) -> Any:
        return group.item(**{f.name: values[group_key(family, group, f.name, index)] for f in group.fields})

    def rows(group: Group) -> tuple:
        # The count first: the form holds rows up to the group's most, and a link may say more.
        count = values[count_key(family, group)]
        if isinstance(count, bool) or not isinstance(count, int):
            raise ConfigError(f"{group.name} (count)", "must be a whole number")
        check_range(f"{group.name} (count)", count, group.count)
        return tuple(item(group, index) for index in range(count))

    network = family.network(
        **{group.name: item(group) if group.count is None else rows(group) for group in family.groups}
    )
    return ModelConfig(network=network, **{name: values[name] for name in TRAINING_FIELDS})


def link_values(values: dict[str, Any]) -> dict[str, Any]:
    """What a shareable link needs to rebuild the design: the family, its settings (list rows up
    to their count) and the training settings; the other families' hidden values stay out."""
    family = family_named(values["architecture"])
    keys = ["architecture"]
    for group in family.groups:
        if group.count is None:
            keys += [group_key(family, group, f.name) for f in group.fields]
            continue
        keys.append(count_key(family, group))
        for index in range(int(values[count_key(family, group)])):
            keys += [group_key(family, group, f.name, index) for f in group.fields]
    return {key: values[key] for key in [*keys, *TRAINING_FIELDS]}


def from_link(settings: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The form's values a link's settings make, only those the link describes; raises
    ConfigError (naming the field) if the design they make cannot be used."""
    merged = {**values, **settings}
    config_from_values(merged)
    return {key: merged[key] for key in link_values(merged)}


def training_digits_note(config: ModelConfig) -> str:
    """Where the summary's training digits come from, said where a hold-out takes some away
    (12,000 chosen show as 7,000 otherwise unexplained)."""
    available = config.train_limit or TRAINING_SET_SIZE
    chosen = f"{available:,} chosen" if config.train_limit else f"all {available:,}"
    if config.validation != "holdout":
        return f"Training digits: {chosen}; validation uses the 10,000 test digits."
    return (
        f"Training digits: {config.training_samples:,} = {chosen} minus the "
        f"{config.validation_size:,} held out to validate on."
    )
