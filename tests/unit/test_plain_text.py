"""User text shown as the text it is: in Markdown (no link, image, heading or colour, no bare
address turned into a link), in Plotly labels (no `<a href>`), and never two same picker labels."""

import re

from core.ui import messages
from tests import as_read

NAME = "![b](http://host/x.png) [t](www.host.org) a@b.co :red[x] # <a href='http://h'>c</a>"


def test_markdown_gets_every_mark_escaped_and_no_address_left_whole():
    shown = messages.plain(NAME)
    assert as_read(shown) == NAME
    assert re.search(r"(?<!\\)[!\[\]()#<>*_`]", shown) is None  # Every mark escaped.
    for address in ("http://", "www.", "a@b"):
        assert address not in shown.replace("\\", "")  # Split by an invisible joiner.


def test_figure_labels_show_tags_as_text():
    assert (
        messages.figure_text("<a href='http://h'>c</a> & co")
        == "&lt;a href='http://h'&gt;c&lt;/a&gt; &amp; co"
    )


def test_picker_labels_shared_by_two_runs_get_their_ids():
    labels = messages.distinct({"run-1": "mine · MLP", "run-2": "mine · MLP", "run-3": "other · MLP"})
    assert labels == {"run-1": "mine · MLP · run-1", "run-2": "mine · MLP · run-2", "run-3": "other · MLP"}
