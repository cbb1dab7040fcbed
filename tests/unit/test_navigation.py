"""The page declarations app.py, Home and every link are built from."""

from pathlib import Path

from core.ui import navigation, session_keys

ROOT = Path(__file__).resolve().parents[2]


def test_every_declared_page_has_its_file_and_every_page_file_is_declared():
    declared = [page.file for page in navigation.PAGES]
    assert len(set(declared)) == len(declared)
    assert all((ROOT / file).is_file() for file in declared)
    assert {f"pages/{path.name}" for path in (ROOT / "pages").glob("*.py")} == set(declared)


def test_widget_values_kept_across_pages():
    assert session_keys.kept_across_pages("design_epochs") and session_keys.kept_across_pages(
        "explore_digits"
    )
    assert session_keys.kept_across_pages(session_keys.COMPARE_OVERLAY)
    assert not session_keys.kept_across_pages(session_keys.FOCUS_RUN) and not session_keys.kept_across_pages(
        "compare_delete"
    )


def test_a_session_on_a_page_url_is_sent_through_app_once(monkeypatch):
    """Streamlit's pages/ flag, set because the folder exists, is cleared and the run restarted
    through app.py; once cleared, later runs go on untouched."""
    from streamlit.runtime.pages_manager import PagesManager

    reruns = []
    monkeypatch.setattr(navigation.st, "rerun", lambda: reruns.append(1))
    monkeypatch.setattr(PagesManager, "uses_pages_directory", True)
    navigation.route_every_session_through_app()
    assert (PagesManager.uses_pages_directory, len(reruns)) == (False, 1)
    navigation.route_every_session_through_app()
    assert len(reruns) == 1
