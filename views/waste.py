"""Waste: which tokens bought nothing, in which category, by which agent and model, and when.

Every chart leads to the trajectories behind it: clicking a bar picks it in "Show the
trajectories behind", a selectbox bound to the URL, so the drilled-down view is a link too.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from analysis import fleet, fleet_queries, queries
from analysis.filters import TrajectoryFilter
from ui import fleet_figures as figures
from ui import format as fmt
from ui.db import connection
from ui.filters import warn_if_not_offered
from ui.fleet_common import UNKNOWN_CELLS, kpis_or_stop, page_header
from ui.fleet_links import narrowed_trajectories_url, trajectory_link_column, trajectory_url
from ui.names import CATEGORY_LABELS, models_in_order, task_names, verdict_names
from ui.tiles import tile

GROUPS = {"category": "Category", "agent": "Agent", "model": "Model", "day": "Day"}
MEASURES = {"USD": "usd", "Tokens": "tokens"}
DRILL_SEPARATOR = ": "
CATEGORY_KEYS = {name: key for key, name in CATEGORY_LABELS.items()}
TOP_ROWS = 50
BEHIND_ROWS = 200
# fmt: off
TOP_ORDER = (  # the waste first: a narrow screen scrolls to the text
    "open", "waste_usd", "waste_tokens", "cost_usd", "task_key", "waste_stagnation_tokens",
    "waste_error_retry_tokens", "waste_repeated_tokens", "waste_uncached_tokens", "outcome",
    "verdict", "agent_name", "models",
)
# fmt: on


@st.cache_data(max_entries=128)
def load_waste(version: str, flt: TrajectoryFilter, by: str) -> pl.DataFrame:
    return fleet.waste_by(connection(), by, flt)


@st.cache_data(max_entries=64)
def load_behind(version: str, flt: TrajectoryFilter, by: str, key: str) -> pl.DataFrame:
    return fleet_queries.waste_behind(connection(), by, key, flt, limit=BEHIND_ROWS)


@st.cache_data(max_entries=32)
def load_top(version: str, flt: TrajectoryFilter) -> pl.DataFrame:
    return queries.trajectory_list(connection(), flt, sort="waste_usd", limit=TOP_ROWS)


def drill_label(by: str, key) -> str:
    """The drill-down option (and its URL value) of one bar: a category by its name."""
    shown = CATEGORY_LABELS.get(key, key) if by == "category" else key
    return f"{GROUPS[by]}{DRILL_SEPARATOR}{shown}"


def parse_drill(label: str) -> tuple[str, str]:
    name, key = label.split(DRILL_SEPARATOR, 1)
    by = {v: k for k, v in GROUPS.items()}[name]
    return by, CATEGORY_KEYS.get(key, key) if by == "category" else key


def on_bar_click(by: str) -> None:
    """A clicked bar becomes the drill-down (before the selectbox is drawn in the rerun)."""
    points = st.session_state[f"chart_{by}"]["selection"]["points"]
    if points:
        point = points[0]
        # a bar's customdata is its group key; none for runs whose agent or model is not
        # recorded, which no drill-down can select
        key = point.get("customdata")
        if key is not None:
            st.session_state["drill"] = drill_label(by, key)


def show_kpis(k: queries.Kpis) -> None:
    cols = st.columns(5)
    tile(
        cols[0], "Wasted tokens", fmt.compact(k.waste_tokens) if k.with_waste else fmt.NOT_RECORDED
    )
    tile(cols[1], "Waste (USD)", fmt.usd(k.waste_usd))
    tile(cols[2], "Share of tokens", fmt.percent(k.waste_share))
    tile(
        cols[3],
        "Share of cost",
        fmt.percent(k.waste_cost_share),
        help="Wasted USD / cost, over the runs whose waste is known in dollars.",
    )
    tile(
        cols[4],
        "Runs wasting turns",
        fmt.count(k.with_waste_turns),
        help="Runs where some turn was stuck in a loop, retried a failed tool call or repeated "
        "an earlier one. Re-sent uncached context is waste counted in tokens, not in turns, so "
        "a run with only that is not counted here.",
    )
    if k.with_waste < k.trajectories or k.with_waste_usd < k.trajectories:
        st.caption(coverage_text(k))


def coverage_text(k: queries.Kpis) -> str:
    """Which runs the waste totals cover: a run's waste is unknown when a turn lacks token
    or cache counts (in dollars: or a price)."""
    if not k.with_waste:
        runs = "this run: it lacks" if k.trajectories == 1 else "these runs: they lack"
        return f"Waste cannot be measured for {runs} token or cache counts."
    tokens = f"Waste is measured in tokens for {k.with_waste:,} of {k.trajectories:,} runs"
    dollars = (
        "" if k.with_waste_usd == k.with_waste else f" and in dollars for {k.with_waste_usd:,}"
    )
    return (
        f"{tokens}{dollars}: the others lack token or cache counts"
        f"{' or a price' if dollars else ''}; the totals above cover only the measured runs."
    )


def show_chart(version: str, flt: TrajectoryFilter, by: str, measure: str, k) -> list[str]:
    waste = load_waste(version, flt, by)
    if by == "category":
        figure = figures.build_waste_category_figure(waste, k.waste_base_tokens)
    else:
        figure = figures.build_waste_by_figure(waste, measure, by)
    if waste.height:
        st.plotly_chart(
            figure,
            key=f"chart_{by}",
            on_select=lambda: on_bar_click(by),
            selection_mode="points",
        )
    else:
        st.caption("No wasted turns found in these trajectories.")
    keys = figures.waste_totals(waste)["key"].drop_nulls().to_list()
    return [drill_label(by, key) for key in keys]


def with_links(frame: pl.DataFrame) -> pl.DataFrame:
    links = pl.Series("open", [trajectory_url(t) for t in frame["trace_id"]], dtype=pl.String)
    named = [verdict_names()] if "verdict" in frame.columns else []
    named += [task_names()] if "task_text" in frame.columns else []
    return frame.with_columns(links, models_in_order(), *named)


COLUMNS = {
    "open": trajectory_link_column(),
    "task_key": st.column_config.TextColumn("Task", width="medium"),
    "agent_name": "Agent",
    "models": "Models (call order)",
    "group_waste_tokens": st.column_config.NumberColumn("Waste here (tokens)", format="%,d"),
    "group_waste_usd": st.column_config.NumberColumn("Waste here (USD)", format="$%.4f"),
    "waste_tokens": st.column_config.NumberColumn("All waste (tokens)", format="%,d"),
    "waste_usd": st.column_config.NumberColumn("All waste (USD)", format="$%.4f"),
    **{
        f"waste_{key}_tokens": st.column_config.NumberColumn(f"{label} (tokens)", format="%,d")
        for key, label in (
            ("stagnation", "Stagnation"),
            ("error_retry", "Error retries"),
            ("repeated", "Repeated calls"),
            ("uncached", "Uncached context"),
        )
    },
    "cost_usd": st.column_config.NumberColumn("Cost (USD)", format="$%.4f"),
    "outcome": "Outcome",
    "verdict": "Verdict",
}


def show_behind(version: str, flt: TrajectoryFilter, label: str) -> None:
    by, key = parse_drill(label)
    frame = load_behind(version, flt, by, key)
    if frame.height == BEHIND_ROWS:
        st.caption(f"The {BEHIND_ROWS} trajectories with the most waste here.")
    st.dataframe(
        with_links(frame).select(c for c in COLUMNS if c in frame.columns or c == "open"),
        hide_index=True,
        width="stretch",
        column_config=COLUMNS,
        placeholder=fmt.MISSING_CELL,
    )
    list_filter = {
        "agent": {"agent": key},
        "model": {"model": key},
        "day": {"since": key, "until": key},
    }
    if by in list_filter:
        note = " (every run that called this model)" if by == "model" else ""
        # A link, not st.switch_page: switching pages while a sidebar filter (a widget bound
        # to the URL) is set raises in Streamlit 1.67. The list opens in a new tab, filtered.
        url = narrowed_trajectories_url(**list_filter[by])
        st.markdown(f"[Open these in the Trajectories list{note}]({url})")


def show_top(version: str, flt: TrajectoryFilter) -> None:
    frame = load_top(version, flt)
    st.dataframe(
        with_links(frame).select(TOP_ORDER),  # only what is shown crosses the wire
        hide_index=True,
        width="stretch",
        column_config=COLUMNS,
        placeholder=fmt.MISSING_CELL,
    )


page_header(
    "Waste",
    "waste",
    "Tokens that bought nothing: stagnation (turns inside a stuck loop), error retries, repeated "
    "tool calls and context sent again without a cache hit. A token counts in one category at "
    "most. Click a bar to list the trajectories behind it.",
)
version, flt, k = kpis_or_stop()
show_kpis(k)
warn_if_not_offered("measure", "measure", MEASURES)
measure_label = st.segmented_control(
    "Measure", list(MEASURES), default="USD", key="measure", bind="query-params", required=True
)
measure = MEASURES[measure_label or "USD"]

drill_options: list[str] = []
for row in (("category", "agent"), ("model", "day")):
    for column, by in zip(st.columns(2), row, strict=True):
        with column:
            title = (
                "Share of all tokens, by category"
                if by == "category"
                else f"Wasted {'USD' if measure == 'usd' else 'tokens'} by {GROUPS[by].lower()}"
            )
            st.markdown(f"**{title}**")
            drill_options += show_chart(version, flt, by, measure, k)

st.subheader("Trajectories behind a bar")
warn_if_not_offered("drill", "the bar to list", drill_options)
drill = st.selectbox(
    "Show the trajectories behind",
    drill_options,
    index=None,
    placeholder="Click a bar above, or pick one here",
    key="drill",
    bind="query-params",
)
if drill:
    show_behind(version, flt, drill)
st.subheader("Most wasteful trajectories")
show_top(version, flt)
st.caption(UNKNOWN_CELLS + " Waste per category in tokens.")
