"""Visitor limits on time, not only per epoch: one run's epochs times the epoch's estimate, and
every visitor run waiting or training together; the estimate calibrated on this machine's runs."""

from dataclasses import replace

from core.networks import architecture
from core.networks.config import PRESETS
from core.runs import access, limits, registry

SEED = PRESETS["seed-mlp"].config
FAST_CNN = PRESETS["fast-cnn"].config
VISITOR = access.Who(owner=False, session="a" * 32)


def test_the_epoch_estimate_is_within_one_and_a_half_of_epochs_measured_here():
    """Full 55,000-digit epochs under `python -m core.train` on this machine (BENCHMARKS.md)."""
    for config, measured in ((SEED, 6.8), (SEED, 9.6), (FAST_CNN, 19.6)):
        assert 1 / 1.5 <= architecture.epoch_seconds(config) / measured <= 1.5


def test_a_200_epoch_cnn_is_refused_for_its_hours_not_its_epoch():
    long_cnn = replace(FAST_CNN, epochs=200)
    assert limits.design_refusal(long_cnn, limits.Limits()) is None  # Each epoch is within the limit.
    refused = limits.time_refusal(long_cnn, [], limits.Limits())
    assert "about 65 minutes (200 epochs)" in refused and "up to 30 minutes" in refused
    assert limits.time_refusal(FAST_CNN, [], limits.Limits()) is None


def test_visitor_runs_already_queued_count_together(runs_dir):
    twenty_minutes = replace(FAST_CNN, epochs=62)
    for _ in range(2):
        registry.create_run(twenty_minutes, meta_changes=VISITOR.run_meta())
    registry.create_run(replace(FAST_CNN, epochs=200))  # The owner's: not the visitors' share.
    runs = registry.list_runs(include_shipped=False)
    refused = limits.time_refusal(twenty_minutes, runs, limits.Limits())
    assert "already waiting or training take about 40 minutes" in refused
    assert limits.time_refusal(twenty_minutes, runs, limits.Limits(queue_minutes=61)) is None
    assert "already waiting" in limits.refusal(
        twenty_minutes,
        access.Who(owner=False, session="b" * 32),
        limits.Limits(waiting_runs=10, runs_folder_mb=10**6),
    )
