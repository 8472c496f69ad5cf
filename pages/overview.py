"""Overview: is the fleet of agent runs healthy, and where are the outliers?"""

from __future__ import annotations

import polars as pl
import streamlit as st

from analysis import queries
from analysis.filters import TrajectoryFilter
from ui import format as fmt
from ui.db import connection, data_version
from ui.empty import show_empty_store
from ui.filters import current_filter

# A bound selectbox keeps its displayed label in the URL, so the labels are the options.
SORT_BY_LABEL = {
    "Newest first": "start_time",
    "Longest wall time": "wall_ms",
    "Most turns": "turns",
    "Highest cost": "cost_usd",
    "Most tokens": "tokens",
}


@st.cache_data(max_entries=32)
def load_kpis(version: str, flt: TrajectoryFilter) -> queries.Kpis:
    return queries.kpis(connection(), flt)


@st.cache_data(max_entries=32)
def load_trajectories(version: str, flt: TrajectoryFilter, sort: str) -> pl.DataFrame:
    return queries.trajectory_list(connection(), flt, sort=sort, limit=500)


def show_kpis(k: queries.Kpis) -> None:
    cols = st.columns(6)
    cols[0].metric("Trajectories", fmt.count(k.trajectories))
    cols[1].metric("Success rate", fmt.percent(k.success_rate))
    cols[2].metric("Median wall time", fmt.duration(k.median_wall_ms))
    cols[3].metric("Median turns", fmt.count(k.median_turns))
    cols[4].metric(
        "Total tokens", fmt.compact(k.total_tokens) if k.with_tokens else fmt.NOT_RECORDED
    )
    cols[5].metric("Cost", fmt.usd(k.cost_usd) if k.with_cost else fmt.NOT_RECORDED)
    if k.with_cost and k.with_cost < k.trajectories:
        st.caption(f"Cost known for {k.with_cost} of {k.trajectories} trajectories.")


def show_table(frame: pl.DataFrame) -> None:
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={
            "trace_id": st.column_config.TextColumn("Trace"),
            "wall_ms": st.column_config.NumberColumn("Wall (ms)", format="%.0f"),
            "cost_usd": st.column_config.NumberColumn("Cost (USD)", format="$%.4f"),
            "input_tokens": st.column_config.NumberColumn("Input tokens"),
            "output_tokens": st.column_config.NumberColumn("Output tokens"),
            "start_time": st.column_config.DatetimeColumn("Started (UTC)"),
        },
    )


st.title("Overview")
version = data_version()
flt = current_filter()
k = load_kpis(version, flt)
if k.trajectories == 0:
    if flt == TrajectoryFilter():
        show_empty_store()
    else:
        st.info("No trajectories match the filters in the sidebar.")
    st.stop()
show_kpis(k)
st.subheader("Trajectories")
sort = st.selectbox("Sort by", list(SORT_BY_LABEL), key="sort", bind="query-params")
show_table(load_trajectories(version, flt, SORT_BY_LABEL[sort]))
