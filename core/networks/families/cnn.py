"""A plain convolutional network: conv blocks, then a dense head on the flattened feature maps."""

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
class ConvBlock:
    """Convolution, optional batch norm, ReLU, optional 2x2 max-pool, then dropout."""

    filters: int = 32
    kernel_size: int = 3
    batch_norm: bool = True
    pool: bool = True
    dropout: float = 0.0


@dataclass(frozen=True)
class CNN:
    conv_blocks: tuple[ConvBlock, ...] = (ConvBlock(32), ConvBlock(64))
    head: DenseLayer = DenseLayer(units=128, dropout=0.3)


def add_conv_block(graph: Graph, block: ConvBlock, index: int) -> None:
    """With batch norm the convolution has no bias: normalisation subtracts the mean right away,
    so a bias would be a wasted parameter that batch norm's own offset already provides."""
    graph.add(
        "Conv2D",
        f"conv_{index}",
        filters=block.filters,
        kernel_size=block.kernel_size,
        padding="same",
        use_bias=not block.batch_norm,
    )
    if block.batch_norm:
        graph.add("BatchNormalization", f"batch_norm_{index}", momentum=BN_MOMENTUM)
    graph.add("ReLU", f"relu_{index}")
    add_pool_and_dropout(graph, block, f"pool_{index}", f"conv_dropout_{index}")


def build(network: CNN, graph: Graph) -> None:
    for index, block in enumerate(network.conv_blocks, start=1):
        add_conv_block(graph, block, index)
    add_head(graph, network.head)


CONV_FIELDS = (
    FILTERS,
    KERNEL_SIZE,
    Field("batch_norm", "batch norm", "bool"),
    Field("pool", "max-pool", "bool"),
    DROPOUT,
)

FAMILY = Family(
    name="cnn",
    label="CNN",
    network=CNN,
    groups=(
        Group("conv_blocks", "Block", ConvBlock, CONV_FIELDS, count=(1, 4), new_item=ConvBlock(filters=64)),
        Group("head", "Dense head", DenseLayer, DENSE_FIELDS),
    ),
    build=build,
    describe=lambda network: (
        "CNN "
        + "-".join(f"{block.filters}c{block.kernel_size}" for block in network.conv_blocks)
        + f" / {network.head.units}"
    ),
)
