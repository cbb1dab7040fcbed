"""The network families, registered once here: the designer, the config, the model builder, the
exporter and the tests all iterate over `FAMILIES`."""

from __future__ import annotations

from typing import Any

from core.families import cnn, mlp, residual_cnn
from core.families.base import ConfigError, Family

FAMILIES: dict[str, Family] = {
    family.name: family for family in (mlp.FAMILY, cnn.FAMILY, residual_cnn.FAMILY)
}


def named(name: Any) -> Family:
    if name not in FAMILIES:
        raise ConfigError("architecture", f"must be one of {', '.join(FAMILIES)} (got {name!r})")
    return FAMILIES[name]


def of(network: Any) -> Family:
    """The family whose settings `network` is."""
    for family in FAMILIES.values():
        if type(network) is family.network:
            return family
    raise ConfigError("network", f"is not the settings of a known network family (got {network!r})")
