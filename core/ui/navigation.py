"""The dashboard's pages, declared once: app.py's navigation, Home's links and every link or
switch between pages are built from `PAGES`, so adding a page is one `Page` here plus its file.

Imports nothing from core and no TensorFlow; only Streamlit, for the links themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st


@dataclass(frozen=True)
class Page:
    name: str  # How code refers to the page: navigation.link("predict").
    title: str
    icon: str
    section: str  # The heading it sits under in the sidebar.
    summary: str  # What Home says it offers.

    @property
    def file(self) -> str:
        """The script, relative to app.py; Streamlit names the page's URL after it (/predict)."""
        return f"pages/{self.name}.py"


PAGES = (
    Page(
        "home",
        "Home",
        ":material/home:",
        "Overview",
        "What the dashboard does, the data and the training device",
    ),
    Page(
        "present",
        "Present",
        ":material/co_present:",
        "Overview",
        "a big canvas and the answer, for a projector",
    ),
    Page(
        "replay",
        "Replay a run",
        ":material/replay:",
        "Overview",
        "a finished run's curves, replayed for a talk",
    ),
    Page(
        "explore",
        "Explore digits",
        ":material/grid_view:",
        "Data",
        "browse samples by digit, zoom into one digit's pixels",
    ),
    Page(
        "statistics",
        "Dataset statistics",
        ":material/bar_chart:",
        "Data",
        "class balance, mean digits, normalisation",
    ),
    Page(
        "train",
        "Design and train",
        ":material/model_training:",
        "Train",
        "presets, layers, dropout, optimiser, schedule; start a run",
    ),
    Page(
        "runs",
        "Training runs",
        ":material/monitoring:",
        "Train",
        "live curves and progress, stop or cancel, logs",
    ),
    Page(
        "search",
        "Search",
        ":material/travel_explore:",
        "Train",
        "an Optuna study of many short runs: trials live, best settings",
    ),
    Page(
        "predict",
        "Predict",
        ":material/online_prediction:",
        "Models",
        "draw or upload a digit and see the class probabilities",
    ),
    Page(
        "model_io",
        "Export and import",
        ":material/import_export:",
        "Models",
        "models, configs, metrics, a standalone Keras script",
    ),
    Page(
        "compare",
        "Compare runs",
        ":material/leaderboard:",
        "Compare",
        "leaderboard, overlaid curves, rename, notes, delete",
    ),
    Page(
        "run_detail",
        "Run detail",
        ":material/grid_on:",
        "Compare",
        "confusion matrix, per-class scores, misclassified digits",
    ),
    Page(
        "robustness",
        "Robustness",
        ":material/shield:",
        "Compare",
        "accuracy on scans, pencil, photos and more, beside clean MNIST",
    ),
    Page(
        "ensembles",
        "Ensembles",
        ":material/join:",
        "Models",
        "several runs answering together with averaged probabilities",
    ),
    Page(
        "insight",
        "What the model looks at",
        ":material/visibility:",
        "Compare",
        "saliency maps and first-layer weights",
    ),
)
HOME = PAGES[0]
_BY_NAME = {page.name: page for page in PAGES}


def page(name: str) -> Page:
    """The declared page called `name`; KeyError names a page nobody declared."""
    return _BY_NAME[name]


def sections() -> dict[str, list[st.Page]]:
    """The pages as `st.navigation` takes them, by section in declaration order; Home opens first."""
    grouped: dict[str, list[st.Page]] = {}
    for declared in PAGES:
        grouped.setdefault(declared.section, []).append(
            st.Page(declared.file, title=declared.title, icon=declared.icon, default=declared is HOME)
        )
    return grouped


def link(name: str, label: str | None = None) -> None:
    """A link to the page, labelled with its title unless told otherwise, with its icon."""
    declared = page(name)
    st.page_link(declared.file, label=label or declared.title, icon=declared.icon)


def switch_to(name: str) -> None:
    """Open the page now (ends this script run)."""
    st.switch_page(page(name).file)


def route_every_session_through_app() -> None:
    """Run every session through app.py's navigation, even one opened on a page's own URL.

    Streamlit 1.67 has no public way to say so: a `pages/` folder beside the entry point makes
    `PagesManager` assume an old-style multipage app (class flag `uses_pages_directory`, set from
    the folder's existence, no config option) until some session calls `st.navigation`. A first
    visitor on /statistics of a fresh server would then run the bare page, without app.py's
    navigation and scheduler. Clearing the flag, as `st.navigation` itself does, and rerunning
    sends the run through app.py. Called on importing the `core` package (core/__init__.py).
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
