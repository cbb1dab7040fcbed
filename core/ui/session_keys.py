"""Session-state keys that more than one page (or app.py) uses, with who writes and who reads them.

Keys a single page keeps to itself (its widgets' keys) stay on that page.
"""

FOCUS_RUN = "focus_run"
"""The run in view on every run picker. Written by the pickers (core/pickers.focused_run_picker: runs,
compare, run detail, export, insight), by train and present on starting a run, by export and import
on importing a model, by insight for a handed-over digit; cleared by compare on a delete."""

HANDOVER_DIGIT = "handover_digit"
"""The last 28x28 digit drawn or uploaded on predict (writes it); insight (reads it) explains it."""

HANDOVER_MODEL = "handover_model"
"""The id of the model that classified HANDOVER_DIGIT: written by predict, read by insight."""

ENSEMBLE_JOB = "ensembles_job"
"""The target of the ensemble job the ensembles page asked for (it writes and reads it), so the
page keeps showing its progress and result after a visit elsewhere."""

IMPORT_JOB = "io_import_job"
"""The target of the import job the export and import page asked for (it writes and reads it), so
the page keeps showing its progress and report after a visit elsewhere."""

OWNER = "owner_signed_in"
"""True once this session gave the owner password (the sidebar's sign-in in core.ui.owner writes it;
owner.who reads it). Not a widget key, so no browser message can set it."""

SIGN_IN_REFUSED = "owner_sign_in_refused"
"""Why the last owner password was refused: written by the sign-in callback, shown and dropped by
the sidebar (core.ui.owner)."""

VISITOR = "visitor_session"
"""This browser session's random id, written on first need by core/owner.who: the runs a
visitor starts are marked with it (meta.json), and only it may change them. Kept server-side,
never in the URL, so sharing a link shares no rights; a reload starts a new session and id."""

SHARED_LINKS = "shared_links"
"""Every URL state of each page's settings (by key prefix) this session wrote or applied
(core/url_state.opened_link and share_in_url), so only a URL never seen counts as a link opened."""

AT_WORK = "admission_at_work"
"""True once this session's first script run has ended (app.py writes and reads it): it no longer
waits for a newcomer's place (core/admission)."""

RERUN_BUDGET = "admission_rerun_budget"
"""This session's core.runs.admission.RerunBudget of whole-page reruns (app.py keeps and spends it)."""

DESIGN_PREFIX = "design_"
"""Prefix of the train page's network-design widgets; app.py keeps them across pages."""

EXPLORE_PREFIX = "explore_"
"""Prefix of the explore page's filter widgets; app.py keeps them across pages."""

COMPARE_OVERLAY = "compare_overlay"
"""The runs compare overlays (its widget, which it writes and prunes); app.py keeps it across pages,
compare drops it when a run is deleted."""


def kept_across_pages(key: object) -> bool:
    """Whether app.py keeps this widget's value while its page is not shown."""
    return str(key).startswith((DESIGN_PREFIX, EXPLORE_PREFIX)) or key == COMPARE_OVERLAY
