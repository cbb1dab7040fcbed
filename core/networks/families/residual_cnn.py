"""A residual CNN (He et al., 2016): blocks of two batch-normalised convolutions plus a skip.

Each block adds its input back to its output, so it only has to learn a correction; when the
block changes the number of channels, a 1x1 convolution projects the input to match. The head
reads the flattened feature maps: on 28x28 digits, global average pooling learned far slower in
short runs (94% against 64% validation accuracy after 3 epochs on 4,000 digits).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.networks.families.base import (
    BN_MOMENTUM,
    DENSE_FIELDS,
    DROPOUT,
    FILTERS,
    KERNEL_SIZE,
    DenseLayer,
    Family,
    Field,
    Group,
    add_head,
    add_pool_and_dropout,
)
from core.networks.layers import Graph


@dataclass(frozen=True)
class ResidualBlock:
    filters: int = 32
    kernel_size: int = 3
    pool: bool = True
    dropout: float = 0.0


@dataclass(frozen=True)
class ResidualCNN:
    blocks: tuple[ResidualBlock, ...] = (ResidualBlock(16), ResidualBlock(32))
    head: DenseLayer = DenseLayer(units=64, dropout=0.2)


def add_residual_block(graph: Graph, block: ResidualBlock, index: int) -> None:
    """conv-BN-ReLU-conv-BN, plus the input (projected where channels change), then ReLU.

    The convolutions have no bias because batch norm's offset replaces it."""
    block_input = shortcut = graph.output
    prefix = f"res{index}"
    conv = {"filters": block.filters, "kernel_size": block.kernel_size, "padding": "same", "use_bias": False}
    graph.add("Conv2D", f"{prefix}_conv_a", **conv)
    graph.add("BatchNormalization", f"{prefix}_bn_a", momentum=BN_MOMENTUM)
    graph.add("ReLU", f"{prefix}_relu_a")
    graph.add("Conv2D", f"{prefix}_conv_b", **conv)
    residual = graph.add("BatchNormalization", f"{prefix}_bn_b", momentum=BN_MOMENTUM)
    if graph.shape(block_input)[-1] != block.filters:
        projection = {"filters": block.filters, "kernel_size": 1, "padding": "same", "use_bias": False}
        graph.add("Conv2D", f"{prefix}_project", block_input, **projection)
        shortcut = graph.add("BatchNormalization", f"{prefix}_project_bn", momentum=BN_MOMENTUM)
    graph.add("Add", f"{prefix}_add", [residual, shortcut], note="the skip connection")
    graph.add("ReLU", f"{prefix}_relu")
    add_pool_and_dropout(graph, block, f"{prefix}_pool", f"{prefix}_dropout")


def build(network: ResidualCNN, graph: Graph) -> None:
    for index, block in enumerate(network.blocks, start=1):
        add_residual_block(graph, block, index)
    add_head(graph, network.head)


BLOCK_FIELDS = (FILTERS, KERNEL_SIZE, Field("pool", "max-pool", "bool"), DROPOUT)

FAMILY = Family(
    name="resnet",
    label="Residual CNN",
    network=ResidualCNN,
    groups=(
        Group(
            "blocks", "Residual block", ResidualBlock, BLOCK_FIELDS, count=(1, 4), new_item=ResidualBlock(64)
        ),
        Group("head", "Dense head", DenseLayer, DENSE_FIELDS),
    ),
    build=build,
    describe=lambda network: (
        "ResNet "
        + "-".join(f"{block.filters}r{block.kernel_size}" for block in network.blocks)
        + f" / {network.head.units}"
    ),
)
