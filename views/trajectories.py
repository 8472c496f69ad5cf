"""Trajectories: every run that matches the sidebar filters, sortable and paged, one click
from its Trajectory page. Sort, direction and page live in the URL, like the filters.
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
from ui.fleet_common import page_header
from ui.names import verdict_names
from ui.report import summary_report
from ui.text import page_href
from ui.trajectory_sections import table_height

PAGE_SIZE = 100
# A bound selectbox keeps its displayed label in the URL, so the labels are the options.
SORT_BY_LABEL = {
    "Start time": "start_time",
    "Wall time": "wall_ms",
    "Turns": "turns",
    "Tokens": "tokens",
    "Cost": "cost_usd",
    "Wasted USD": "waste_usd",
    "Wasted tokens": "waste_tokens",
    "Score": "score",
}
DIRECTIONS = ("Descending", "Ascending")
COLUMNS = {
    "open": st.column_config.LinkColumn("Open", display_text=":material/open_in_new:", width=50),
    "start_time": st.column_config.DatetimeColumn("Started (UTC)", format="YYYY-MM-DD HH:mm"),
    "agent_name": st.column_config.TextColumn("Agent"),
    "task_key": st.column_config.TextColumn("Task"),
    "outcome": st.column_config.TextColumn("Outcome"),
    "verdict": st.column_config.TextColumn("Verdict"),
    "turns": st.column_config.NumberColumn("Turns", format="%d"),
    "wall_s": st.column_config.NumberColumn("Wall time (s)", format="%.1f"),
    "cost_usd": st.column_config.NumberColumn("Cost (USD)", format="$%.4f"),
    "waste_usd": st.column_config.NumberColumn("Waste (USD)", format="$%.4f"),
    "tokens": st.column_config.NumberColumn("Tokens", format="%,d"),
    "waste_tokens": st.column_config.NumberColumn("Waste (tokens)", format="%,d"),
    "models": st.column_config.TextColumn("Models (call order)"),
    "session_id": st.column_config.TextColumn("Session"),
}


@st.cache_data(max_entries=32)
def load_count(version: str, flt: TrajectoryFilter) -> int:
    return queries.trajectory_count(connection(), flt)


@st.cache_data(max_entries=32)
def load_page(
    version: str, flt: TrajectoryFilter, sort: str, descending: bool, page: int
) -> pl.DataFrame:
    offset = (page - 1) * PAGE_SIZE
    return queries.trajectory_list(connection(), flt, sort, descending, PAGE_SIZE, offset)


def display_frame(runs: pl.DataFrame) -> pl.DataFrame:
    """The list as the table shows it: a link per run, models joined, wall time in s."""
    return runs.with_columns(
        open=pl.col("trace_id").map_elements(
            lambda t: page_href("trajectory", trace=t), return_dtype=pl.String
        ),
        models=pl.col("models").list.join(" → "),
        wall_s=pl.col("wall_ms") / 1000,
        tokens=pl.col("input_tokens") + pl.col("output_tokens"),
        verdict=verdict_names(),
    ).select(list(COLUMNS))


def reset_page_when_the_view_changes(flt: TrajectoryFilter, sort: str, direction: str) -> None:
    """A new filter or sort starts at page 1; a link's own page number is kept."""
    view = (flt, sort, direction)
    previous = st.session_state.get("trajectories_view")
    if previous is not None and previous != view:
        st.session_state["page"] = 1
    st.session_state["trajectories_view"] = view


def show_controls(total: int) -> tuple[str, bool, int]:
    cols = st.columns([2, 2, 4], vertical_alignment="bottom")
    sort = cols[0].selectbox("Sort by", list(SORT_BY_LABEL), key="sort_by", bind="query-params")
    direction = cols[1].segmented_control(
        "Direction", DIRECTIONS, default=DIRECTIONS[0], key="direction", bind="query-params"
    )
    reset_page_when_the_view_changes(flt, sort, direction)
    with cols[2]:
        page = st.pagination(max(1, math.ceil(total / PAGE_SIZE)), key="page", bind="query-params")
    return SORT_BY_LABEL[sort], direction != "Ascending", page


def open_selected(runs: pl.DataFrame) -> None:
    rows = st.session_state["trajectory_table"].selection.rows
    if rows:
        st.session_state["open_trace"] = runs["trace_id"][rows[0]]


page_header(
    "Trajectories",
    "trajectories",
    "Every run in the sidebar's filter. Click a row to open it; sort, direction and page "
    "are part of the link.",
)
version = data_version()
flt = current_filter()
total = load_count(version, flt)
if total == 0:
    if flt == TrajectoryFilter():
        show_empty_store()
    else:
        st.info("No trajectories match the filters in the sidebar.")
    st.stop()
if trace := st.session_state.pop("open_trace", None):
    st.switch_page("views/trajectory.py", query_params={"trace": trace})
sort, descending, page = show_controls(total)
runs = load_page(version, flt, sort, descending, page)
first = (page - 1) * PAGE_SIZE + 1
caption, download = st.columns([5, 1], vertical_alignment="center")
caption.caption(
    f"Runs {first:,}–{first + runs.height - 1:,} of {total:,}. Click a row to open it; "
    f"{fmt.MISSING_CELL} means not recorded."
)
download.download_button(
    "Summary report",
    data=lambda: summary_report(connection(), flt),
    file_name="agenttime-summary.html",
    mime="text/html",
    icon=":material/download:",
    help="This filtered view's KPIs and runs as one self-contained HTML file.",
)
st.dataframe(
    display_frame(runs),
    height=table_height(runs.height, max_rows=25),
    hide_index=True,
    width="stretch",
    column_config=COLUMNS,
    placeholder=fmt.MISSING_CELL,
    key="trajectory_table",
    on_select=lambda: open_selected(runs),
    selection_mode="single-row",
)
