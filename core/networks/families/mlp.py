"""The multilayer perceptron of Keras' mnist_mlp.py: flatten the digit, then dense layers."""

from __future__ import annotations

from dataclasses import dataclass

from core.networks.families.base import DENSE_FIELDS, DenseLayer, Family, Group, add_dense
from core.networks.layers import Graph


@dataclass(frozen=True)
class MLP:
    hidden_layers: tuple[DenseLayer, ...] = (DenseLayer(), DenseLayer())


def build(network: MLP, graph: Graph) -> None:
    graph.add("Flatten", "flatten")
    for index, layer in enumerate(network.hidden_layers, start=1):
        add_dense(graph, layer, f"dense_{index}", f"dropout_{index}")


FAMILY = Family(
    name="mlp",
    label="MLP",
    network=MLP,
    groups=(Group("hidden_layers", "Layer", DenseLayer, DENSE_FIELDS, count=(1, 6), new_item=DenseLayer()),),
    build=build,
    describe=lambda network: "MLP " + "-".join(str(layer.units) for layer in network.hidden_layers),
)
