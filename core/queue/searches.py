"""The dashboard's request for a search: a study checked and created, then its job queued."""

from __future__ import annotations

from typing import Any

from core.networks.config import ConfigError
from core.queue import jobs, scheduler
from core.runs import access, layout, limits
from core.search.studies import (
    SETTINGS_ATTR,
    STARTED_BY_ATTR,
    SearchSettings,
    check_may_change,
    open_study,
    study_settings,
)

TRIALS_RANGE = (1, 200)  # Trials one dashboard request may ask for.


def request_search(name: str, settings: SearchSettings, trials: int, who: access.Who) -> dict[str, Any]:
    """Create study `name` (or check `settings` are its own) and queue the dashboard's search job
    for it; limits.Refused says why a visitor may not."""
    refused = limits.search_refusal(who)
    if refused:
        raise limits.Refused(refused)
    if not jobs.TARGET_PATTERN.match(name):
        raise ConfigError("study", "must be letters, digits, dots, dashes or underscores, up to 120")
    if not TRIALS_RANGE[0] <= trials <= TRIALS_RANGE[1]:
        raise ConfigError("trials", f"must be between {TRIALS_RANGE[0]} and {TRIALS_RANGE[1]}")
    study = open_study(name)
    if SETTINGS_ATTR not in study.user_attrs and not who.owner:  # A new study: the visitor's own.
        study.set_user_attr(STARTED_BY_ATTR, who.session)
    check_may_change(study, who)
    study_settings(study, settings, {"preset", "epochs", "train_limit", "space"})  # Listed now.
    payload = {"trials": trials, "visitor": None if who.owner else who.session}
    return scheduler.request("search", name, layout.now_iso(), payload)
