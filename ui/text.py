"""Untrusted text (trace names, ids, models, comments) inside Markdown, shown as written.

Streamlit renders Markdown in titles, captions, metric values, link labels and more, and
its Markdown goes beyond CommonMark: `:material/…:` icons, `:red[…]` colours, `$…$` maths,
emoji shortcodes. Backslash-escaping every ASCII punctuation character makes all of it —
and every link, image, emphasis and HTML tag — literal characters. Control characters
(ANSI escapes, line breaks) become spaces so a label stays on one line.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

ASCII_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
LABEL_CHARS = 120
ELLIPSIS = "…"


def one_line(text: object, max_chars: int = LABEL_CHARS) -> str:
    """`text` without control characters, cut to `max_chars` with an ellipsis."""
    flat = CONTROL.sub(" ", ANSI_ESCAPE.sub("", str(text)))
    return flat if len(flat) <= max_chars else flat[: max_chars - 1] + ELLIPSIS


def escape_markdown(text: object, max_chars: int = LABEL_CHARS) -> str:
    """`text` as Markdown that renders exactly these characters, on one line."""
    return ASCII_PUNCTUATION.sub(r"\\\1", one_line(text, max_chars))


def short_id(identifier: str, keep: int = 12) -> str:
    return identifier if len(identifier) <= keep else identifier[:keep] + ELLIPSIS


def page_href(url_path: str, **params: str | None) -> str:
    """A relative link to a page of this app; every value is URL-encoded."""
    query = urlencode({key: value for key, value in params.items() if value})
    return f"{url_path}?{query}" if query else url_path


def markdown_link(label: object, href: str) -> str:
    """A Markdown link whose label is untrusted text; `href` must come from `page_href`."""
    return f"[{escape_markdown(label)}]({href})"
