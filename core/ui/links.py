"""Shareable links: a page's settings as URL query parameters, and back.

Only settings go in a URL (the network design, the explorer's filters, the ids of compared runs),
never who the user is: no password, no session id. Each parameter is named by its widget's key,
so pages never read one another's settings. Values are plain text; a list repeats its parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Params = dict[str, list[str]]

# No setting is longer: a run id, a preset's key, a number. A longer value is no setting, and
# echoing 100 KB of it in a warning took a visitor's tab 38 s to draw.
MAX_VALUE_CHARS = 200
# More values than any list setting holds (the digits, the runs to overlay).
MAX_VALUES = 50


def encode(values: Mapping[str, Any]) -> Params:
    """Settings by key as URL values: booleans as true/false, lists as repeated parameters."""
    return {
        key: [_text(item) for item in value] if isinstance(value, list | tuple) else [_text(value)]
        for key, value in values.items()
    }


def frozen(params: Params) -> tuple:
    """URL parameters as one hashable value, whatever their order."""
    return tuple(sorted((key, tuple(texts)) for key, texts in params.items()))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def parse(text: str, like: Any) -> Any:
    """`text` read as the type of `like` (bool, int, float or str); ValueError if it is not one."""
    if isinstance(like, bool):
        if text not in ("true", "false"):
            raise ValueError(f"not true or false: {text!r}")
        return text == "true"
    if isinstance(like, int):
        return int(text)
    if isinstance(like, float):
        number = float(text)
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError(f"not a finite number: {text!r}")
        return number
    return text


def decode(params: Mapping[str, list[str]], like: Mapping[str, Any]) -> dict[str, Any]:
    """The settings of `like`'s keys that `params` holds, each parsed as the type of its value in
    `like` (a list's items as its first item's type, else text); a value that does not parse, or
    is longer than any setting, is left out, so a mistyped link changes nothing it cannot read.
    Bounds are the page's to check (`designer.from_link`, `explore.usable_filters`)."""
    settings = {}
    for key, texts in params.items():
        if key not in like or len(texts) > MAX_VALUES or any(len(text) > MAX_VALUE_CHARS for text in texts):
            continue
        example = like[key]
        try:
            if isinstance(example, list | tuple):
                settings[key] = [parse(text, example[0] if example else "") for text in texts]
            elif len(texts) == 1:
                settings[key] = parse(texts[0], example)
        except ValueError:
            continue
    return settings
