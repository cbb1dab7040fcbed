"""A page's settings shared in its URL, and read back once from a link that was opened."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from core.ui import links, session_keys


def _url_params(prefix: str) -> links.Params:
    return {key: st.query_params.get_all(key) for key in st.query_params if key.startswith(prefix)}


def _seen(prefix: str) -> set[tuple]:
    """Every URL state of a page's settings this session wrote or already applied."""
    return st.session_state.setdefault(session_keys.SHARED_LINKS, {}).setdefault(prefix, set())


def opened_link(prefix: str, like: Mapping[str, Any]) -> dict[str, Any] | None:
    """A page's settings (keys starting with `prefix`) from a link opened: URL parameters this
    session never saw, so they win over the settings it holds, once. A URL it wrote itself is
    never one: a quick second change can arrive with the URL from before the first one's."""
    params = _url_params(prefix)
    if not params or links.frozen(params) in _seen(prefix):
        return None
    _seen(prefix).add(links.frozen(params))
    return links.decode(params, like)


def share_in_url(prefix: str, values: Mapping[str, Any]) -> None:
    """Puts a page's settings in the address bar, so copying it shares them; after a link is
    opened, the user's own changes replace it there."""
    params = {key: value for key, value in links.encode(values).items() if value}
    _seen(prefix).add(links.frozen(params))
    if _url_params("") != params:  # Another page's settings, carried along by a page switch, go.
        st.query_params.from_dict(params)
