"""The network families, one module each; `core.networks.config.FAMILIES` registers them.

A family declares its settings (fields in groups, core.networks.families.base) and how it builds
its layer graph; the parts families share are in `base` too.
"""
