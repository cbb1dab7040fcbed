"""What the user reads: their text shown as plain text, refusals as messages, labels made distinct."""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from core.runs import atomic_files, layout, limits

_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


_WORD_JOINER = "\u2060"  # Invisible; splits "http://", "www." and "a@b.c" for the link finder.


def _escaped(mark: re.Match) -> str:
    return (_WORD_JOINER if mark[1] in ":@." else "") + "\\" + mark[1]


def plain(text: object) -> str:
    """User text (a run name, notes, a file name) for Streamlit's Markdown, shown as the text it is.

    Every ASCII punctuation mark is escaped, so it never becomes a link, an image that every
    visitor's browser fetches, a heading or a colour. Escapes do not stop GitHub Markdown from
    turning bare addresses into links after parsing, so an invisible word joiner goes before
    each `:`, `@` and `.`.
    """
    return _MARKDOWN_PUNCTUATION.sub(_escaped, str(text))


def figure_text(text: str) -> str:
    """User text for a Plotly figure, whose labels read a little HTML (`<a href>` links among it):
    its marks as entities, which Plotly shows as the characters they are."""
    return html.escape(text, quote=False)


# What a page's action may meet that the user can do something about: a visitor limit, the
# registry's word on a run (gone, still training, shipped) and a full disk. Their messages are
# written for the user and name no server path.
REFUSALS = (limits.Refused, layout.RegistryError, atomic_files.DiskFullError)


@contextmanager
def refusals_shown(*also: type[Exception]) -> Iterator[None]:
    """Runs a page's action (the block); a refusal (`REFUSALS`, `also`) or any error writing to
    the disk shows its message where the block is, and the rest of the block is skipped, so no
    action ends in a traceback and no message that the core wrote for the user is lost."""
    try:
        yield
    except (*REFUSALS, *also) as error:
        st.error(plain(error), icon=":material/block:")
    except OSError as error:  # One that no core code turned into a message: its path stays out.
        if atomic_files.is_disk_full(error):
            message = str(atomic_files.DiskFullError("your change"))
        else:
            message = f"Your change could not be saved: {error.strerror or 'the disk refused it'}."
        st.error(plain(message), icon=":material/error:")


def distinct(labels: dict[str, str]) -> dict[str, str]:
    """Picker labels by run id, with the id added where two runs would read the same, so a
    visitor cannot dress a run up as another one."""
    counts = Counter(labels.values())
    return {key: label if counts[label] == 1 else f"{label} · {key}" for key, label in labels.items()}
