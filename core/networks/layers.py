"""Networks as plain data: a graph of Keras layer specs, worked out without TensorFlow.

A network family describes its layers once, by adding specs to a `Graph`. Everything else is
derived from that one description: `core.jobs.models` builds the Keras model from it, `core.runs.export`
writes it out as Keras code, and `core.networks.architecture` reads its shapes, parameters and work.
Each spec names a built-in Keras layer class and the keyword arguments of its constructor, so
the Keras model is `getattr(keras.layers, spec.type)(**spec.args, name=spec.name)` applied to its
inputs, and the layer rules below only need to know output shapes and weight sizes.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Shape = tuple[int, ...]
_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")


class Code:
    """A value that the exported script spells as an expression, e.g. `10 / 360` or `pixel_std`.

    `value` is what the Keras model gets; it is None for a name only the script knows (its
    training digits' statistics, its `--epochs`), and arithmetic on such a name stays symbolic.
    """

    def __init__(self, text: str, value: float | None = None):
        self.text, self.value = text, value

    def __repr__(self) -> str:
        return self.text

    def _combine(self, other: Any, symbol: str, op: Callable, swapped: bool = False) -> Code:
        left, right = (other, self) if swapped else (self, other)
        values = [side.value if isinstance(side, Code) else side for side in (left, right)]
        value = None if None in values else op(*values)
        return Code(f"{_operand(left)} {symbol} {_operand(right)}", value)

    def __mul__(self, other):
        return self._combine(other, "*", operator.mul)

    def __rmul__(self, other):
        return self._combine(other, "*", operator.mul, swapped=True)

    def __truediv__(self, other):
        return self._combine(other, "/", operator.truediv)

    def __rtruediv__(self, other):
        return self._combine(other, "/", operator.truediv, swapped=True)

    def __sub__(self, other):
        return self._combine(other, "-", operator.sub)

    def __rsub__(self, other):
        return self._combine(other, "-", operator.sub, swapped=True)

    def __neg__(self):
        return Code(f"-{_operand(self)}", None if self.value is None else -self.value)


def _operand(value: Any) -> str:
    text = repr(value)
    return f"({text})" if isinstance(value, Code) and " " in text else text


def value_of(argument: Any) -> Any:
    """The number a Keras constructor gets for a spec argument."""
    if isinstance(argument, Code):
        if argument.value is None:
            raise ValueError(f"{argument.text} has no value outside the exported script")
        return argument.value
    return argument


@dataclass(frozen=True)
class LayerSpec:
    """One Keras layer: its class, constructor arguments, inputs, and what it produces."""

    type: str
    name: str
    args: dict[str, Any]
    inputs: tuple[str, ...]
    shape: Shape
    # (size, trainable) of each weight array, in the order Keras creates them.
    weights: tuple[tuple[int, bool], ...]
    # Multiply-adds times two for one image's forward pass; 0 where negligible.
    flops: int
    note: str = ""

    @property
    def params(self) -> int:
        return sum(size for size, _ in self.weights)

    @property
    def trainable_params(self) -> int:
        return sum(size for size, trainable in self.weights if trainable)

    @property
    def trainable_arrays(self) -> int:
        return sum(trainable for _, trainable in self.weights)


@dataclass(frozen=True)
class LayerRule:
    """What a Keras layer class does to shapes and which weights it creates."""

    shape: Callable[[list[Shape], dict], Shape]
    weights: Callable[[list[Shape], dict], tuple] = lambda shapes, args: ()
    flops: Callable[[list[Shape], Shape, dict], int] = lambda shapes, shape, args: 0
    # Arguments the script writes without their keyword, as Keras' own examples do.
    positional: tuple[str, ...] = ()


def _same(shapes: list[Shape], args: dict) -> Shape:
    return shapes[0]


def _add(shapes: list[Shape], args: dict) -> Shape:
    if len(set(shapes)) != 1:
        raise ValueError(f"Add needs inputs of one shape, got {shapes}")
    return shapes[0]


def _conv_shape(shapes: list[Shape], args: dict) -> Shape:
    if args.get("padding") != "same" or args.get("strides", 1) != 1:
        raise ValueError("only 'same' padding with stride 1 is described")
    height, width, _ = shapes[0]
    return (height, width, args["filters"])


def _conv_weights(shapes: list[Shape], args: dict) -> tuple:
    kernel = (args["kernel_size"] ** 2 * shapes[0][-1] * args["filters"], True)
    return (kernel, (args["filters"], True)) if args.get("use_bias", True) else (kernel,)


def _conv_flops(shapes: list[Shape], shape: Shape, args: dict) -> int:
    return 2 * args["kernel_size"] ** 2 * shapes[0][-1] * math.prod(shape)


def _dense_shape(shapes: list[Shape], args: dict) -> Shape:
    return (*shapes[0][:-1], args["units"])


def _dense_weights(shapes: list[Shape], args: dict) -> tuple:
    inputs, units = shapes[0][-1], args["units"]
    return ((inputs * units, True), (units, True))


def _batch_norm_weights(shapes: list[Shape], args: dict) -> tuple:
    # gamma and beta learn; the moving mean and variance are updated, not trained.
    channels = shapes[0][-1]
    return ((channels, True), (channels, True), (channels, False), (channels, False))


LAYER_RULES: dict[str, LayerRule] = {
    "Rescaling": LayerRule(_same, positional=("scale",)),
    "RandomTranslation": LayerRule(_same, positional=("height_factor", "width_factor")),
    "RandomRotation": LayerRule(_same, positional=("factor",)),
    "RandomZoom": LayerRule(_same, positional=("height_factor",)),
    "RandomShear": LayerRule(_same),
    "Flatten": LayerRule(lambda shapes, args: (math.prod(shapes[0]),)),
    "Dense": LayerRule(
        _dense_shape,
        _dense_weights,
        lambda shapes, shape, args: 2 * shapes[0][-1] * math.prod(shape),
        positional=("units",),
    ),
    "Dropout": LayerRule(_same, positional=("rate",)),
    "Conv2D": LayerRule(_conv_shape, _conv_weights, _conv_flops, positional=("filters", "kernel_size")),
    "BatchNormalization": LayerRule(_same, _batch_norm_weights),
    "ReLU": LayerRule(_same),
    "MaxPooling2D": LayerRule(
        lambda shapes, args: (
            shapes[0][0] // args["pool_size"],
            shapes[0][1] // args["pool_size"],
            shapes[0][2],
        ),
        positional=("pool_size",),
    ),
    "Add": LayerRule(_add),
}


class Graph:
    """Layer specs in the order Keras creates them, starting from the input."""

    def __init__(self, input_name: str, input_shape: Shape):
        self.layers = [LayerSpec("InputLayer", input_name, {}, (), input_shape, (), 0)]

    @property
    def output(self) -> str:
        """The name of the last layer added: the default input of the next."""
        return self.layers[-1].name

    def shape(self, name: str) -> Shape:
        return self._layer(name).shape

    def add(self, type: str, name: str, inputs: str | list[str] | None = None, note: str = "", **args) -> str:
        """Append a layer reading `inputs` (default: the last layer); returns its name."""
        if not _NAME.match(name) or any(layer.name == name for layer in self.layers):
            raise ValueError(f"layer name {name!r} is not a new identifier")
        names = (self.output,) if inputs is None else (inputs,) if isinstance(inputs, str) else tuple(inputs)
        shapes = [self.shape(input_name) for input_name in names]
        rule = LAYER_RULES[type]
        shape = rule.shape(shapes, args)
        layer = LayerSpec(
            type, name, args, names, shape, rule.weights(shapes, args), rule.flops(shapes, shape, args), note
        )
        self.layers.append(layer)
        return name

    def _layer(self, name: str) -> LayerSpec:
        return next(layer for layer in self.layers if layer.name == name)


def python_lines(graph: Graph) -> list[str]:
    """The graph as Keras functional-API code: `x` carries the flow, a branch gets a name.

    A layer's output that a later layer other than the next one reads (a skip connection) is
    also kept in a variable named after the layer.
    """
    readers: dict[str, list[int]] = {}
    for position, layer in enumerate(graph.layers):
        for name in layer.inputs:
            readers.setdefault(name, []).append(position)
    first = graph.layers[0]
    lines = [f'{first.name} = keras.Input(shape={first.shape}, name="{first.name}")', f"x = {first.name}"]
    for position, layer in enumerate(graph.layers[1:], start=1):
        previous = graph.layers[position - 1].name
        sources = ["x" if name == previous else name for name in layer.inputs]
        source = sources[0] if len(sources) == 1 else "[" + ", ".join(sources) + "]"
        if layer.note:
            lines.append(f"# {layer.note[0].upper()}{layer.note[1:]}.")
        lines += call_lines(f"x = keras.layers.{layer.type}", _arguments(layer), f"({source})")
        if any(reader != position + 1 for reader in readers.get(layer.name, [])):
            lines.append(f"{layer.name} = x")
    return lines


def call_lines(callee: str, arguments: list[str], tail: str = "", width: int = 100) -> list[str]:
    """`callee(arguments)tail` on one line, or one argument per line when that is too long."""
    line = f"{callee}({', '.join(arguments)}){tail}"
    if len(line) <= width:
        return [line]
    return [f"{callee}(", *(f"    {argument}," for argument in arguments), f"){tail}"]


def _arguments(layer: LayerSpec) -> list[str]:
    positional = LAYER_RULES[layer.type].positional
    parts = [_literal(layer.args[key]) for key in positional if key in layer.args]
    parts += [f"{key}={_literal(value)}" for key, value in layer.args.items() if key not in positional]
    return [*parts, f'name="{layer.name}"']


def _literal(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)
