"""Who this session is (owner or visitor), and the sidebar where the owner signs in."""

from __future__ import annotations

import secrets

import streamlit as st

from core.runs import access
from core.ui import session_keys


def local_mode() -> bool:
    """Whether this session is local: a loopback-only server reached by a loopback name."""
    headers = st.context.headers
    proxied = any(headers.get(name) for name in access.PROXY_HEADERS)
    return access.is_local(st.get_option("server.address"), headers.get("host"), proxied)


def who() -> access.Who:
    """Who this browser session is: the owner (local mode, or after the owner password), else a
    visitor known by this session's random id."""
    if local_mode() or (st.session_state.get(session_keys.OWNER) and access.owner_password()):
        return access.OWNER
    if session_keys.VISITOR not in st.session_state:
        st.session_state[session_keys.VISITOR] = secrets.token_hex(16)
    return access.Who(owner=False, session=st.session_state[session_keys.VISITOR])


def _sign_in() -> None:
    """The password form's callback: it runs before the next script run, so every page of that
    run already sees the owner."""
    refused = access.GATE.check(
        st.session_state.get("owner_password", ""),
        access.owner_password() or "",
        session=st.session_state.get(session_keys.VISITOR, ""),
    )
    if refused:
        st.session_state[session_keys.SIGN_IN_REFUSED] = refused
    else:
        st.session_state[session_keys.OWNER] = True


def owner_sidebar() -> None:
    """The sidebar's word on who this session is: the owner password field for a visitor, or
    how to set a password where none is set."""
    password = access.owner_password()
    with st.sidebar:
        if password is None:
            if local_mode():
                st.caption(":material/lock_open: Local mode: this computer only, everything allowed.")
            else:
                st.info(
                    "Visitor mode: no owner password is set, so nobody can delete or import. The owner "
                    "sets `owner_password` in `.streamlit/secrets.toml` (or the app's secrets on "
                    "Streamlit Community Cloud, or `MNIST_OWNER_PASSWORD`) and restarts.",
                    icon=":material/lock:",
                )
        elif st.session_state.get(session_keys.OWNER):
            st.caption(":material/admin_panel_settings: Owner mode: everything allowed.")
            st.button(
                "Leave owner mode",
                icon=":material/logout:",
                key="owner_leave",
                on_click=lambda: st.session_state.pop(session_keys.OWNER, None),
            )
        else:
            with st.form("owner_sign_in", clear_on_submit=True, border=False):
                st.text_input("Owner password", type="password", key="owner_password")
                st.form_submit_button("Sign in as owner", icon=":material/key:", on_click=_sign_in)
            refused = st.session_state.pop(session_keys.SIGN_IN_REFUSED, None)
            if refused:
                st.error(refused, icon=":material/block:")
