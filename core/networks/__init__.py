"""Networks as data, without TensorFlow: configurations, families, layer graphs and what they cost.

Imports nothing else of core: every other package builds on it.
"""
