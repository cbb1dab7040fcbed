"""Dense layers: the hidden layers of an MLP and the head of every convolutional family."""

from __future__ import annotations

from dataclasses import dataclass

from core.families.base import Field
from core.layers import Graph

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
