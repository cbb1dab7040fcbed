"""What a search may change in a configuration, and where: ranges derived from a family's declared
fields, or read from a JSON file that is checked as hostile input.

A space names, per network group, a range for the item count and for each field (shared by every
item of a list group), and ranges for the training settings core/networks/training.py declares
searchable. Settings it leaves out keep the base configuration's values. Nothing here imports
Optuna: `sample` asks a callable for each value, which a search passes as an Optuna trial's
`suggest_*` calls.

JSON form (every key optional):
  {"family": "cnn",
   "network": {"conv_blocks": {"count": {"low": 1, "high": 3},
                               "filters": {"low": 8, "high": 64, "log": true},
                               "kernel_size": {"choices": [3, 5]}}},
   "training": {"learning_rate": {"low": 0.0003, "high": 0.01, "log": true}}}
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from core.networks.config import FAMILIES, ModelConfig, family_named, family_of
from core.networks.families.base import ConfigError, Family, Field, Group
from core.networks.training import TRAINING_FIELDS

# The training settings a space may vary, and those a default space does: the settings that most
# change what a short run learns.
SEARCHABLE_TRAINING = {name: field for name, field in TRAINING_FIELDS.items() if field.search != "never"}
DEFAULT_TRAINING = tuple(name for name, field in TRAINING_FIELDS.items() if field.search == "default")
LOG_RATIO = 50  # A numeric field whose bounds span this factor or more is searched on a log scale.
LOG_FACTOR = 4  # Default log ranges: the base value divided and multiplied by this.
LINEAR_SHARE = 0.25  # Default linear ranges: the base value give or take this share of the bounds.
MAX_SPACE_BYTES = 64_000
MAX_CHOICES = 16
RANGE_KEYS = {"low", "high", "log", "choices"}
Ask = Callable[[str, "Range"], Any]


@dataclass(frozen=True)
class Range:
    """Where one setting is searched: `choices`, or `low`..`high` (an int or float `kind`)."""

    kind: str  # "int", "float" or "choice"
    low: float = 0
    high: float = 0
    log: bool = False
    choices: tuple = ()

    @property
    def fixed(self) -> bool:
        return self.kind == "choice" and len(self.choices) == 1

    def suggest(self, trial: Any, name: str) -> Any:
        """The value an Optuna trial picks for it."""
        if self.kind == "choice":
            return trial.suggest_categorical(name, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(name, self.low, self.high, log=self.log)

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "choice":
            return {"choices": list(self.choices)}
        return {"low": self.low, "high": self.high, **({"log": True} if self.log else {})}


@dataclass(frozen=True)
class SearchSpace:
    family: str
    network: dict[str, dict[str, Range]]  # group -> {"count" or field name -> range}
    training: dict[str, Range]

    def to_dict(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "network": {
                group: {name: bounds.to_dict() for name, bounds in ranges.items()}
                for group, ranges in self.network.items()
            },
            "training": {name: bounds.to_dict() for name, bounds in self.training.items()},
        }


def _numeric(field: Field, values: list[float]) -> Range:
    """A range around the base values, within the field's bounds."""
    low, high = field.bounds
    log = low > 0 and high / low >= LOG_RATIO
    if log:
        start, stop = min(values) / LOG_FACTOR, max(values) * LOG_FACTOR
    else:
        share = LINEAR_SHARE * (high - low)
        start, stop = min(values) - share, max(values) + share
    start, stop = max(low, round(start, 6)), min(high, round(stop, 6))
    if field.kind == "int":
        start, stop = math.ceil(start), math.floor(stop)
    return Range(field.kind, start, stop, log=log)


def _default_range(field: Field, values: list[Any], *, switches_fixed: bool) -> Range:
    if field.kind == "choice":
        return Range("choice", choices=field.choices)
    if field.kind == "bool":
        # A network switch (pooling, batch norm) changes a trial's cost many times over: kept.
        return Range("choice", choices=tuple(dict.fromkeys(values)) if switches_fixed else (False, True))
    return _numeric(field, values)


def _items(group: Group, value: Any) -> list[Any]:
    return list(value) if group.count is not None else [value]


def default_space(base: ModelConfig) -> SearchSpace:
    """Ranges around `base` for every declared field of its family, so any family can be searched:
    item counts one either side, sizes a factor of 4 (log scale), rates a quarter of their bounds,
    every choice; network switches stay as they are."""
    family = family_of(base.network)
    network = {}
    for group in family.groups:
        items = _items(group, getattr(base.network, group.name))
        ranges = {}
        if group.count is not None:
            fewest, most = group.count
            ranges["count"] = Range("int", max(fewest, len(items) - 1), min(most, len(items) + 1))
        for field in group.fields:
            values = [getattr(item, field.name) for item in items]
            ranges[field.name] = _default_range(field, values, switches_fixed=True)
        network[group.name] = ranges
    training = {
        name: _default_range(SEARCHABLE_TRAINING[name], [getattr(base, name)], switches_fixed=False)
        for name in DEFAULT_TRAINING
    }
    return SearchSpace(family.name, network, training)


def _template(group: Group, items: list[Any], index: int) -> Any:
    """The item a sampled one starts from: the base's own, else what the designer adds."""
    if index < len(items):
        return items[index]
    return group.new_item if group.new_item is not None else items[-1]


def sample(base: ModelConfig, space: SearchSpace, ask: Ask) -> ModelConfig:
    """The configuration `ask(name, range)` picks within `space`; a fixed range is not asked.

    Names are "conv_blocks.count", "conv_blocks.2.filters" (1-based), "head.units",
    "learning_rate". Validation is always on the hold-out, so the test set never chooses.
    """
    family = family_named(space.family)
    network = base.network if family_of(base.network) is family else family.network()

    def pick(name: str, bounds: Range) -> Any:
        return bounds.choices[0] if bounds.fixed else ask(name, bounds)

    groups = {}
    for group in family.groups:
        ranges = space.network.get(group.name, {})
        items = _items(group, getattr(network, group.name))
        count = pick(f"{group.name}.count", ranges["count"]) if "count" in ranges else len(items)
        chosen = []
        for index in range(count):
            prefix = f"{group.name}.{index + 1}." if group.count is not None else f"{group.name}."
            changes = {
                field.name: pick(prefix + field.name, ranges[field.name])
                for field in group.fields
                if field.name in ranges
            }
            chosen.append(replace(_template(group, items, index), **changes))
        groups[group.name] = tuple(chosen) if group.count is not None else chosen[0]
    training = {name: pick(name, bounds) for name, bounds in space.training.items()}
    return base.with_changes(network=family.network(**groups), validation="holdout", **training)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _number(path: str, value: Any, field: Field) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(path, f"must be a number (got {_short(value)})")
    if field.kind == "int" and not isinstance(value, int):
        raise ConfigError(path, f"must be a whole number (got {_short(value)})")
    low, high = field.bounds
    if not low <= value <= high:
        raise ConfigError(path, f"must be between {low} and {high} (got {_short(value)})")
    return value


def _parse_range(path: str, data: Any, field: Field) -> Range:
    if not isinstance(data, dict):
        raise ConfigError(path, 'must be {"low": ..., "high": ...} or {"choices": [...]}')
    unknown = sorted(set(data) - RANGE_KEYS, key=str)
    if unknown:
        raise ConfigError(f"{path}.{_short(unknown[0])}", f"is not one of {', '.join(sorted(RANGE_KEYS))}")
    if "choices" in data:
        if set(data) != {"choices"}:
            raise ConfigError(path, "takes either choices or low and high, not both")
        choices = data["choices"]
        if not isinstance(choices, list) or not 1 <= len(choices) <= MAX_CHOICES:
            raise ConfigError(f"{path}.choices", f"must be a list of 1 to {MAX_CHOICES} values")
        for index, choice in enumerate(choices):
            try:
                field.check(f"{path}.choices[{index}]", choice)
            except ConfigError as error:
                raise ConfigError(error.field, str(error).split(": ", 1)[1][:120]) from None
        if len({json.dumps(choice) for choice in choices}) != len(choices):
            raise ConfigError(f"{path}.choices", "lists a value twice")
        return Range("choice", choices=tuple(choices))
    if field.kind not in ("int", "float"):
        raise ConfigError(path, "is not a number: give its choices")
    if set(data) - {"log"} != {"low", "high"}:
        raise ConfigError(path, "needs both low and high")
    low, high = (_number(f"{path}.{key}", data[key], field) for key in ("low", "high"))
    if low > high:
        raise ConfigError(path, f"low ({low}) is above high ({high})")
    log = data.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(f"{path}.log", "must be true or false")
    if log and low <= 0:
        raise ConfigError(f"{path}.log", "needs a low above 0")
    return Range(field.kind, low, high, log=log)


def _parse_object(path: str, data: Any, known: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ConfigError(path, "must be a set of named ranges")
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"{path}.{_short(unknown[0])}", f"is unknown; known: {', '.join(known)}")
    return data


def _parse_group(group: Group, data: Any) -> dict[str, Range]:
    path = f"network.{group.name}"
    count_field = Field("count", "count", "int", group.count) if group.count is not None else None
    known = {
        **({"count": count_field} if count_field else {}),
        **{field.name: field for field in group.fields},
    }
    data = _parse_object(path, data, known)
    return {name: _parse_range(f"{path}.{name}", value, known[name]) for name, value in data.items()}


def parse_space(data: Any, base: ModelConfig) -> SearchSpace:
    """A space from its JSON form; ConfigError names the first wrong key."""
    data = _parse_object("space", data, {"family": None, "network": None, "training": None})
    family_name = data.get("family", base.architecture)
    if family_name not in FAMILIES:
        raise ConfigError("family", f"must be one of {', '.join(FAMILIES)} (got {_short(family_name)})")
    family: Family = FAMILIES[family_name]
    groups = {group.name: group for group in family.groups}
    network = _parse_object("network", data.get("network", {}), groups)
    training = _parse_object("training", data.get("training", {}), SEARCHABLE_TRAINING)
    return SearchSpace(
        family.name,
        {name: _parse_group(groups[name], value) for name, value in network.items()},
        {
            name: _parse_range(f"training.{name}", value, SEARCHABLE_TRAINING[name])
            for name, value in training.items()
        },
    )


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def read_space(path: Path, base: ModelConfig) -> SearchSpace:
    """A space from a JSON file of at most MAX_SPACE_BYTES."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_SPACE_BYTES + 1)
    except OSError as error:
        raise ConfigError("space", f"cannot be read ({error.strerror or error})") from None
    return space_from_json(raw, base)


def space_from_json(raw: bytes, base: ModelConfig) -> SearchSpace:
    """A space from JSON text (a file's, or the Search page's), at most MAX_SPACE_BYTES."""
    if len(raw) > MAX_SPACE_BYTES:
        raise ConfigError("space", f"is larger than {MAX_SPACE_BYTES // 1000} KB: not a search space")
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:
        raise ConfigError("space", f"is not valid JSON ({str(error)[:120]})") from None
    return parse_space(data, base)
