"""The only part of core that imports Streamlit: per-server caches, widgets by subject, the design
form, navigation, links, charts, pictures and the stage.

Importing it makes `st.secrets` the server's source of the owner's secrets (core.runs.access).
"""

import streamlit as st

from core.runs import access


def _streamlit_secret(key: str, default=None):
    try:
        return st.secrets.get(key, default)
    except FileNotFoundError:  # No secrets.toml (Streamlit's error is a FileNotFoundError).
        return default


access.read_secrets_with(_streamlit_secret)
