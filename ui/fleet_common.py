"""What every fleet page starts with: its title and copy-link, the KPIs of the current
filter, and the empty state (nothing stored yet, or nothing matching the filters).

The KPI read is cached per (data version, filter) like every page loader, so a page that
only needs to know whether anything matches pays one small query once.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from analysis import queries
from analysis.filters import TrajectoryFilter
from ui.db import connection, data_version
from ui.empty import show_empty_store
from ui.filters import current_filter
from ui.share import show_copy_link

NO_MATCH_TEXT = "No trajectories match the filters in the sidebar."
TABLE_ROWS = 500  # rows sent to the browser per table (DESIGN performance notes: <= 10k)
UNKNOWN_CELLS = "An empty cell means *not recorded* (never zero)."


@st.cache_data(max_entries=32)
def load_kpis(version: str, flt: TrajectoryFilter) -> queries.Kpis:
    return queries.kpis(connection(), flt)


def page_header(title: str, page_path: str, intro: str) -> None:
    left, right = st.columns([5, 1], vertical_alignment="bottom")
    left.title(title)
    with right:
        show_copy_link(page_path)
    st.caption(intro)


def kpis_or_stop() -> tuple[str, TrajectoryFilter, queries.Kpis]:
    """(data version, filter, KPIs); stops the page with the right message when empty."""
    version, flt = data_version(), current_filter()
    k = load_kpis(version, flt)
    if k.trajectories == 0:
        if flt == TrajectoryFilter():
            show_empty_store()
        else:
            st.info(NO_MATCH_TEXT)
        st.stop()
    return version, flt, k


def filter_note(flt: TrajectoryFilter) -> None:
    """Say that a fleet-wide figure ignores the sidebar filters, when some are set."""
    if flt != TrajectoryFilter():
        st.caption("Computed over all stored trajectories: the sidebar filters do not apply here.")


def first_rows(frame: pl.DataFrame, what: str, limit: int = TABLE_ROWS) -> pl.DataFrame:
    """At most `limit` rows of `frame` for a table, saying so when some are left out."""
    if frame.height > limit:
        st.caption(f"Showing the first {limit:,} of {frame.height:,} {what}.")
    return frame.head(limit)
