"""What every fleet page starts with: its title and copy-link, the KPIs of the current
filter, and the empty state (nothing stored yet, or nothing matching the filters).

The KPI read is cached per (data version, filter) like every page loader, so a page that
only needs to know whether anything matches pays one small query once.
"""

from __future__ import annotations

import math

import polars as pl
import streamlit as st

from analysis import queries
from analysis.filters import TrajectoryFilter
from ui import format as fmt
from ui.db import connection, data_version
from ui.empty import show_empty_store
from ui.filters import current_filter
from ui.share import show_copy_link

NO_MATCH_TEXT = "No trajectories match the filters in the sidebar."
TABLE_ROWS = 500  # rows sent to the browser per table (DESIGN performance notes: <= 10k)
UNKNOWN_CELLS = f"A {fmt.MISSING_CELL} in a table means *not recorded* (never zero)."


def signed_usd_column(label: str, places: int, **kw) -> st.column_config.Column:
    """Dollars that may be negative: -$0.0410 (printf's `$%.4f` prints $-0.0410). The grid cuts
    such a column's values to `step` rather than rounding them: show `signed_usd_values`."""
    return st.column_config.NumberColumn(label, format="dollar", step=10**-places, **kw)


def signed_usd_values(column: str, places: int) -> pl.Expr:
    """`column` rounded to `places` for a `signed_usd_column`, an amount that rounds to zero
    from below as 0.0, not -0.0 (it read "-$0.00000")."""
    rounded = pl.col(column).round(places)
    return pl.when(rounded == 0).then(0.0).otherwise(rounded).alias(column)


@st.cache_data(max_entries=32)
def load_kpis(version: str, flt: TrajectoryFilter) -> queries.Kpis:
    return queries.kpis(connection(), flt)


def page_header(title: str, page_path: str, intro: str) -> None:
    left, right = st.columns([3, 1], vertical_alignment="bottom")  # room for "Copy link" at 1100 px
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


def table_page(total: int, what: str, key: str) -> tuple[int, int]:
    """(limit, offset) of the page of a long table to read: a pager (bound to the URL under
    `key`) appears when `total` rows do not fit one page, with a caption saying which rows
    of how many are shown, so a page never sends more than TABLE_ROWS rows."""
    size = TABLE_ROWS
    pages = max(1, math.ceil(total / size))
    if pages == 1:
        return size, 0
    page = min(max(1, st.pagination(pages, key=key, bind="query-params")), pages)
    first = (page - 1) * size + 1
    st.caption(f"Showing {what} {first:,}–{min(first + size - 1, total):,} of {total:,}.")
    return size, first - 1
