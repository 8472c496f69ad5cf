"""Trajectories: every run that matches the sidebar filters, sortable and paged, one click
from its Trajectory page; a search narrows them to runs whose spans mention a phrase, and
opens each at its first matching span. Search, sort, direction and page live in the URL,
like the filters.
"""

from __future__ import annotations

import math
from dataclasses import replace

import polars as pl
import streamlit as st

from analysis import queries, search
from analysis.filters import TrajectoryFilter
from ui import format as fmt
from ui.db import connection, data_version
from ui.empty import show_empty_store
from ui.filters import current_filter, warn_if_not_offered
from ui.fleet_common import page_header
from ui.names import SORT_LABELS, models_in_order, task_names, verdict_names
from ui.report import summary_report
from ui.text import escape_markdown, page_href
from ui.trajectory_sections import ROW_PICKING, picked_row, table_height

PAGE_SIZE = 100
# A bound selectbox keeps its displayed label in the URL, so the labels are the options.
SORT_BY_LABEL = {label: key for key, label in SORT_LABELS.items()}
DIRECTIONS = ("Descending", "Ascending")
COLUMNS = {
    "open": st.column_config.LinkColumn("Open", display_text=":material/open_in_new:", width=50),
    "start_time": st.column_config.DatetimeColumn("Started (UTC)", format="YYYY-MM-DD HH:mm"),
    "agent_name": st.column_config.TextColumn("Agent"),
    "task_key": st.column_config.TextColumn("Task", width="medium"),
    "outcome": st.column_config.TextColumn("Outcome"),
    "score": st.column_config.NumberColumn("Score", format="%.2f"),  # a sort offered: shown
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
MATCH_COLUMNS = {
    "match": st.column_config.TextColumn(
        "First match", help="Where the run's first matching span mentions the phrase", width="large"
    ),
    "matching_spans": st.column_config.NumberColumn(
        "Spans found", format="%d", help="Spans of the run that mention the phrase"
    ),
}
SEARCH_HELP = (
    "Runs with a span whose name, tool, arguments, error, input or output contains this text, "
    "or whose trace, span or session id is it or begins with it (from 8 characters), in any "
    "case. A run opens at the span named after it, else the first that holds it."
)


@st.cache_data(max_entries=32)
def load_count(version: str, flt: TrajectoryFilter) -> int:
    return queries.trajectory_count(connection(), flt)


@st.cache_data(max_entries=32)
def load_page(
    version: str, flt: TrajectoryFilter, sort: str, descending: bool, page: int
) -> pl.DataFrame:
    offset = (page - 1) * PAGE_SIZE
    return queries.trajectory_list(connection(), flt, sort, descending, PAGE_SIZE, offset)


@st.cache_data(max_entries=16)
def load_hits(version: str, phrase: str) -> pl.DataFrame:
    return search.search_spans(connection(), phrase)


@st.cache_data(max_entries=32)
def load_snippets(version: str, phrase: str, pairs: tuple[tuple[str, str], ...]) -> list[str]:
    """Where each (trace_id, span_id) mentions `phrase`, in the order of `pairs`."""
    hits = pl.DataFrame(list(pairs), schema=["trace_id", "span_id"], orient="row")
    found = search.match_snippets(connection(), phrase, hits)
    return [found.get(pair, "") for pair in pairs]


def page_matches(version: str, phrase: str, hits: pl.DataFrame, runs: pl.DataFrame) -> pl.DataFrame:
    """The hits of the runs on this page, with where each first matched."""
    shown = hits.filter(pl.col("trace_id").is_in(runs["trace_id"].implode()))
    pairs = tuple(shown.select("trace_id", "span_id").iter_rows())
    return shown.with_columns(
        match=pl.Series(load_snippets(version, phrase, pairs), dtype=pl.String)
    )


def display_frame(runs: pl.DataFrame, matches: pl.DataFrame | None = None) -> pl.DataFrame:
    """The list as the table shows it: a link per run (to its first matching span when
    searching), models joined, wall time in s, and where each run matched."""
    if matches is None:
        frame, columns = runs.with_columns(span_id=pl.lit(None, pl.String)), list(COLUMNS)
    else:
        frame = runs.join(matches, on="trace_id", how="left", maintain_order="left")
        columns = ["open", *MATCH_COLUMNS, *list(COLUMNS)[1:]]  # what matched, first
    opens = [  # in Python, not map_elements: see ui.fleet_links.links
        page_href("trajectory", trace=trace, span=span)
        for trace, span in zip(frame["trace_id"], frame["span_id"], strict=True)
    ]
    return frame.with_columns(
        open=pl.Series(opens, dtype=pl.String),
        models=models_in_order(),
        wall_s=pl.col("wall_ms") / 1000,
        tokens=pl.col("input_tokens") + pl.col("output_tokens"),
        verdict=verdict_names(),
        task_key=task_names(),
    ).select(columns)


def reset_page_when_the_view_changes(flt: TrajectoryFilter, sort: str, direction: str) -> None:
    """A new filter or sort starts at page 1; a link's own page number is kept."""
    view = (flt, sort, direction)
    previous = st.session_state.get("trajectories_view")
    if previous is not None and previous != view:
        st.session_state["page"] = 1
    st.session_state["trajectories_view"] = view


def show_controls(total: int) -> tuple[str, bool, int]:
    pages = max(1, math.ceil(total / PAGE_SIZE))
    warn_if_not_offered("sort_by", "the sort", SORT_BY_LABEL)
    warn_if_not_offered("direction", "the direction", DIRECTIONS)
    if "trajectories_view" not in st.session_state:  # opened from a link: after a change
        warn_if_not_offered("page", "the page", range(1, pages + 1))  # the page resets
    cols = st.columns([2, 2, 4], vertical_alignment="bottom")
    sort = cols[0].selectbox("Sort by", list(SORT_BY_LABEL), key="sort_by", bind="query-params")
    direction = cols[1].segmented_control(
        "Direction", DIRECTIONS, default=DIRECTIONS[0], key="direction", bind="query-params"
    )
    reset_page_when_the_view_changes(flt, sort, direction)
    with cols[2]:
        page = st.pagination(pages, key="page", bind="query-params")
    return SORT_BY_LABEL[sort], direction != "Ascending", page


def open_selected(runs: pl.DataFrame, matches: pl.DataFrame | None) -> None:
    row = picked_row(st.session_state["trajectory_table"].selection, link_columns=("open",))
    if row is not None:
        trace = runs["trace_id"][row]
        st.session_state["open_run"] = {"trace": trace} | first_span(matches, trace)


def first_span(matches: pl.DataFrame | None, trace: str) -> dict[str, str]:
    """{"span": id} of the run's first matching span, when searching."""
    if matches is None:
        return {}
    found = matches.filter(pl.col("trace_id") == trace)["span_id"]
    return {"span": found[0]} if found.len() else {}


def searched_phrase() -> str | None:
    phrase = st.text_input(
        "Search spans",
        key="q",
        bind="query-params",
        placeholder="a tool argument, an error, words from a prompt or a reply, an id…",
        help=SEARCH_HELP,
        icon=":material/search:",
    )
    return phrase.strip() or None


page_header(
    "Trajectories",
    "trajectories",
    "Every run in the sidebar's filter, or those whose spans mention what you search. Click "
    "a row to open it; the search, sort, direction and page are part of the link.",
)
version = data_version()
flt = current_filter()
phrase = searched_phrase()
hits = None
if phrase:
    with st.spinner("Searching the spans…"):
        hits = load_hits(version, phrase)
    flt = replace(flt, trace_ids=tuple(hits["trace_id"]))
total = load_count(version, flt)
if total == 0:
    unsearched = replace(flt, trace_ids=None)
    if unsearched == TrajectoryFilter() and load_count(version, unsearched) == 0:
        show_empty_store()
    elif phrase:
        within = " in the sidebar's filter" if unsearched != TrajectoryFilter() else ""
        st.info(f"No run{within} has a span containing “{escape_markdown(phrase, 80)}”.")
    else:
        st.info("No trajectories match the filters in the sidebar.")
    st.stop()
if run := st.session_state.pop("open_run", None):
    st.switch_page("views/trajectory.py", query_params=run)
sort, descending, page = show_controls(total)
runs = load_page(version, flt, sort, descending, page)
matches = None if hits is None else page_matches(version, phrase, hits, runs)
first = (page - 1) * PAGE_SIZE + 1
found = f" with a span containing “{escape_markdown(phrase, 80)}”" if phrase else ""
caption, download = st.columns([4, 1], vertical_alignment="center")
caption.caption(
    f"Runs {first:,}–{first + runs.height - 1:,} of {total:,}{found}. Click a row to open it"
    f"{' at its first match' if phrase else ''}; {fmt.MISSING_CELL} means not recorded."
)
download.download_button(
    "Summary report",
    data=lambda: summary_report(connection(), flt, search=phrase, sort=sort, descending=descending),
    file_name="agenttime-summary.html",
    mime="text/html",
    icon=":material/download:",
    help="This filtered view's KPIs and runs as one self-contained HTML file.",
)
st.dataframe(
    display_frame(runs, matches),
    height=table_height(runs.height, max_rows=25),
    hide_index=True,
    width="stretch",
    column_config=COLUMNS | MATCH_COLUMNS,
    placeholder=fmt.MISSING_CELL,
    key="trajectory_table",
    on_select=lambda: open_selected(runs, matches),
    selection_mode=ROW_PICKING,
)
