"""Links from the fleet pages to one trajectory, a compared pair or a filtered list.

Built on `ui.text.page_href`, so every value is URL-encoded and stays one parameter, and
links are relative (they keep working behind a proxy's path prefix). The sidebar filters
read the same parameters, so a link to `trajectories?agent=…` opens that list filtered.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from ui.filters import FILTER_KEYS
from ui.text import page_href


def links(frame: pl.DataFrame, build, *columns: str) -> pl.Series:
    """`build(*row)` per row of `columns`, None where one of them is missing.

    Built in Python, never with `map_elements`: polars would call `build` from its thread
    pool, which needs the GIL, while another session's script thread holds the GIL waiting
    on that pool (Streamlit converting a frame): both sessions, and the server, hang."""
    rows = zip(*(frame[c].to_list() for c in columns), strict=True)
    return pl.Series([build(*row) if all(row) else None for row in rows], dtype=pl.String)


def trajectory_url(trace_id: str, span_id: str | None = None) -> str:
    return page_href("trajectory", trace=trace_id, span=span_id)


def compare_url(a: str, b: str) -> str:
    return page_href("compare", a=a, b=b)


def trajectories_url(**filters: str | None) -> str:
    """The Trajectories list with sidebar filters set (keys as in ui.filters)."""
    return page_href("trajectories", **filters)


def narrowed_trajectories_url(**filters: str | None) -> str:
    """The Trajectories list with the sidebar filters of this view, narrowed by `filters`."""
    current = {key: st.query_params.get(key) for key in FILTER_KEYS}
    return trajectories_url(**(current | filters))


def trajectory_link_column(label: str = "Trajectory") -> st.column_config.Column:
    """A dataframe column of `trajectory_url`s that shows the trace id and opens it."""
    return st.column_config.LinkColumn(label, display_text=r"trace=([^&]*)", width="medium")


def compare_link_column(label: str = "Compare") -> st.column_config.Column:
    return st.column_config.LinkColumn(label, display_text="Side by side", width="small")
