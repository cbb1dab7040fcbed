"""What a network family declares: its settings as fields, grouped as the designer shows them;
and the parts every family shares (dense layers, the dense head, a block's pool and dropout).

The same field declarations validate a configuration, parse it from JSON and lay out the
designer's widgets, so a family's bounds and choices are written once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, Protocol


class Graph(Protocol):
    """What a family's builder calls on core.networks.layers.Graph, which this module, imported
    by every family, does not import: appending a layer after the last, or after `inputs`."""

    def add(
        self, type: str, name: str, inputs: str | list[str] | None = None, note: str = "", **args
    ) -> str: ...


class ConfigError(ValueError):
    """An invalid setting; `field` names it so the UI can point at the widget."""

    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.field = field_name


@dataclass(frozen=True)
class Field:
    """One setting: an int or float within `bounds`, one of `choices`, or a bool."""

    name: str
    label: str
    kind: str  # "int", "float", "choice" or "bool"
    bounds: tuple[float, float] = (0, 0)
    choices: tuple = ()
    step: float = 1

    def check(self, path: str, value: Any) -> None:
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise ConfigError(path, f"must be true or false (got {value!r})")
        elif self.kind == "choice":
            if value not in self.choices:
                raise ConfigError(path, f"must be one of {', '.join(map(str, self.choices))} (got {value!r})")
        else:
            if self.kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
                raise ConfigError(path, f"must be a whole number (got {value!r})")
            check_range(path, value, self.bounds)


def check_range(path: str, value: Any, bounds: tuple[float, float]) -> None:
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ConfigError(path, f"must be between {low} and {high} (got {value!r})")


@dataclass(frozen=True)
class Group:
    """A network setting made of fields: one item (a dense head) or a list of them (conv blocks)."""

    name: str
    label: str
    item: type
    fields: tuple[Field, ...]
    count: tuple[int, int] | None = None  # (fewest, most) items; None for a single item
    new_item: Any = None  # What the designer offers for a row beyond the configured ones.

    def validate(self, value: Any) -> None:
        if self.count is None:
            self._validate_item(value, self.name)
            return
        if not isinstance(value, (tuple, list)):
            raise ConfigError(self.name, "must be a list")
        check_range(f"{self.name} (count)", len(value), self.count)
        for index, item in enumerate(value):
            self._validate_item(item, f"{self.name}[{index}]")

    def _validate_item(self, item: Any, path: str) -> None:
        if not isinstance(item, self.item):
            raise ConfigError(path, f"must be {self.item.__name__} settings")
        for field in self.fields:
            field.check(f"{path}.{field.name}", getattr(item, field.name))

    def parse(self, data: Any) -> Any:
        """The group's value from its JSON form (a dict, or a list of dicts)."""
        if self.count is None:
            return self._parse_item(data, self.name)
        if not isinstance(data, (list, tuple)):
            raise ConfigError(self.name, "must be a list")
        return tuple(self._parse_item(item, f"{self.name}[{index}]") for index, item in enumerate(data))

    def _parse_item(self, data: Any, path: str) -> Any:
        if not isinstance(data, dict):
            raise ConfigError(path, "must be a set of named settings")
        known = {field.name for field in fields(self.item)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{path}.{unknown[0]}", "is not a known setting")
        return self.item(**data)


@dataclass(frozen=True)
class Family:
    """A kind of network: its settings (a frozen dataclass of groups) and how it lays out layers.

    `build` adds the family's layers to a graph that already holds the input and its
    normalisation; the classifier (10 softmax units) is added after it for every family.
    """

    name: str
    label: str
    network: type
    groups: tuple[Group, ...]
    build: Callable[[Any, Graph], None]
    describe: Callable[[Any], str]

    def validate(self, network: Any) -> None:
        for group in self.groups:
            group.validate(getattr(network, group.name))

    def parse(self, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ConfigError("network", "must be a set of named settings")
        unknown = sorted(set(data) - {group.name for group in self.groups})
        if unknown:
            raise ConfigError(unknown[0], f"is not a setting of the {self.label} family")
        return self.network(
            **{group.name: group.parse(data[group.name]) for group in self.groups if group.name in data}
        )


# --- Parts the families share ---------------------------------------------------------------

ACTIVATIONS = ("relu", "gelu", "tanh", "sigmoid")
DROPOUT = Field("dropout", "dropout", "float", (0.0, 0.8), step=0.05)
DENSE_FIELDS = (
    Field("units", "units", "int", (16, 2048)),
    DROPOUT,
    Field("activation", "activation", "choice", choices=ACTIVATIONS),
)


@dataclass(frozen=True)
class DenseLayer:
    """A fully connected layer, then dropout if its rate is above 0."""

    units: int = 512
    dropout: float = 0.2
    activation: str = "relu"


def add_dense(graph: Graph, layer: DenseLayer, name: str, dropout_name: str) -> None:
    graph.add("Dense", name, units=layer.units, activation=layer.activation)
    if layer.dropout > 0:
        graph.add("Dropout", dropout_name, rate=layer.dropout)


def add_head(graph: Graph, head: DenseLayer) -> None:
    """The feature maps flattened into the dense head; the classifier follows for every family."""
    graph.add("Flatten", "flatten")
    add_dense(graph, head, "head", "head_dropout")


FILTERS = Field("filters", "filters", "int", (4, 256))
KERNEL_SIZE = Field("kernel_size", "kernel", "choice", choices=(3, 5))
# Keras' default of 0.99 leaves batch norm's moving statistics near their initial values for the
# first few hundred batches, so a short run predicts badly; at 0.9 they settle within ~30.
BN_MOMENTUM = 0.9


def add_pool_and_dropout(graph: Graph, block, pool_name: str, dropout_name: str) -> None:
    """A block's optional 2x2 max-pool, then its dropout if its rate is above 0."""
    if block.pool:
        graph.add("MaxPooling2D", pool_name, pool_size=2)
    if block.dropout > 0:
        graph.add("Dropout", dropout_name, rate=block.dropout)
