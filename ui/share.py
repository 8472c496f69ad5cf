"""Links that reopen exactly the view on screen, for sending to a colleague.

Every page keeps its state in the URL, so a link is the page path plus the current query
parameters. Behind a proxy, AGENTTIME_PUBLIC_URL gives the address people actually use.
"""

from __future__ import annotations

import os
import threading
from typing import Any
from urllib.parse import urlencode, urlsplit

import streamlit as st

PUBLIC_URL_ENV = "AGENTTIME_PUBLIC_URL"
_this_run = threading.local()  # each session's script runs on a thread of its own


def share_url(page_path: str, params: dict[str, str | list[str]] | None = None) -> str:
    """The link to `page_path`, the page on screen, with `params` as its query."""
    page = page_path.strip("/")
    base = os.environ.get(PUBLIC_URL_ENV) or _app_url(page) or server_url()
    url = f"{base.rstrip('/')}/{page}" if page else base.rstrip("/")
    query = urlencode(params or {}, doseq=True)
    return f"{url}?{query}" if query else url


def server_url() -> str:
    """Where this server is reached: AGENTTIME_PUBLIC_URL, else the scheme and host of the
    page on screen, else localhost on the port the server listens on."""
    if public := os.environ.get(PUBLIC_URL_ENV):
        return public.rstrip("/")
    base_path = (st.get_option("server.baseUrlPath") or "").strip("/")
    on_screen = urlsplit(st.context.url or "")
    if on_screen.scheme and on_screen.netloc:
        origin = f"{on_screen.scheme}://{on_screen.netloc}"
    else:
        origin = f"http://localhost:{st.get_option('server.port')}"
    return f"{origin}/{base_path}" if base_path else origin


def _app_url(page: str) -> str | None:
    """`st.context.url` is the address of the page on screen, its path included (Streamlit
    1.67); the link adds the page itself, so it is taken off here. Left on, every link
    doubled it (`/trajectory/trajectory?...`) and opened a blank page."""
    url = st.context.url
    if url is None:
        return None
    url = url.rstrip("/")
    return url.removesuffix(f"/{page}") if page else url


def current_params() -> dict[str, list[str]]:
    return {key: st.query_params.get_all(key) for key in st.query_params}


def show_copy_link(page_path: str) -> None:
    """The link to this exact view, in a code box with a copy button. It is drawn with the
    page's header, before the page's own widgets run; `refresh_copy_link` writes it again
    once they have (a drill-down picked on a chart, a run chosen for the user)."""
    with st.popover("Copy link", icon=":material/link:"):
        st.caption("Reopens this exact view (filters, trajectory, span):")
        slot = st.empty()
    _show_link(slot, page_path)
    _this_run.copy_link = (slot, page_path)


def refresh_copy_link() -> None:
    """At the end of a page's run (app.py): the link with the URL as the page left it."""
    pending, _this_run.copy_link = getattr(_this_run, "copy_link", None), None
    if pending is not None:
        _show_link(*pending)


def _show_link(slot: Any, page_path: str) -> None:
    slot.code(share_url(page_path, current_params()), language=None, wrap_lines=True)
