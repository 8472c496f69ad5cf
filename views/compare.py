"""Compare: two runs side by side, aligned by turn — typically the same task on the small and
the large model. The pair lives in the URL (`?a=…&b=…`); without `b`, a sibling of `a`
on the same task is chosen.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from analysis import queries
from analysis import trajectory_queries as tq
from analysis.filters import TrajectoryFilter
from ui import compare_view
from ui.db import connection, data_version
from ui.empty import show_empty_store
from ui.filters import current_filter
from ui.fleet_common import page_header
from ui.names import task_text
from ui.text import escape_markdown, one_line
from ui.timeline import build_timeline_figure
from ui.trajectory_figures import build_cumulative_cost_figure

CHOICES = 300


@st.cache_data(max_entries=16)
def load_choices(version: str, flt: TrajectoryFilter) -> pl.DataFrame:
    runs = queries.trajectory_list(connection(), flt, "start_time", True, CHOICES)
    return runs.select("trace_id", "task_key", "task_text", "primary_model", "start_time")


@st.cache_data(max_entries=64)
def load_run(version: str, trace_id: str) -> dict[str, Any] | None:
    return queries.trajectory(connection(), trace_id)


@st.cache_data(max_entries=32)
def load_siblings(version: str, trace_id: str) -> pl.DataFrame:
    return tq.siblings(connection(), trace_id)


@st.cache_data(max_entries=32)
def load_turns(version: str, trace_id: str) -> pl.DataFrame:
    return tq.turn_rows(connection(), trace_id)


@st.cache_data(max_entries=32)
def load_spans(version: str, trace_id: str) -> pl.DataFrame:
    return tq.timeline_spans(connection(), trace_id)


def run_label(row: dict[str, Any]) -> str:
    """What tells runs apart first (a picker cuts the end on a narrow screen), the task last."""
    when = row["start_time"].strftime("%m-%d %H:%M") if row.get("start_time") else "no time"
    task = row.get("task_text") or row.get("task_key") or "no task"
    return one_line(
        f"{when} · {row.get('primary_model') or 'no model'} · {row['trace_id'][:8]} · {task}",
        110,
    )


def picker(side: str, options: pl.DataFrame, current: str | None, help_text: str) -> None:
    """A run picker kept in step with `?<side>=`; labels only on screen, ids in the URL."""
    labels = {row["trace_id"]: run_label(row) for row in options.iter_rows(named=True)}
    ids = list(labels)
    if current and current not in labels:  # older than the latest CHOICES runs: named all the same
        ids.insert(0, current)
        if (run := load_run(data_version(), current)) is not None:
            labels[current] = run_label(run)
    key = f"pick_{side}"
    st.session_state[key] = current
    st.selectbox(
        f"Run {side.upper()}",
        ids,
        format_func=lambda trace_id: labels.get(trace_id, one_line(trace_id, 60)),
        key=key,
        placeholder="Choose a run",
        help=help_text,
        on_change=lambda: _set_param(side, st.session_state[key]),
    )


def _set_param(side: str, value: str | None) -> None:
    if value:
        st.query_params[side] = value
    else:
        st.query_params.pop(side, None)


def b_options(choices: pl.DataFrame, siblings: pl.DataFrame) -> pl.DataFrame:
    """Siblings on the same task first, then the other recent runs."""
    same_task = siblings.select(choices.columns)
    rest = choices.filter(~pl.col("trace_id").is_in(same_task["trace_id"].implode()))
    return pl.concat([same_task, rest])


def show_side(side: str, run: dict[str, Any], longest_ms: float | None) -> None:
    st.markdown(f"**{side}** · {escape_markdown(task_text(run))}")
    st.page_link(
        "views/trajectory.py",
        label=f"Open run {side}",
        icon=":material/open_in_new:",
        query_params={"trace": run["trace_id"]},
    )
    figure = build_timeline_figure(load_spans(version, run["trace_id"]))
    if longest_ms:  # one time scale for both runs, so bar lengths compare
        figure.update_xaxes(range=[0, longest_ms])
    st.plotly_chart(
        figure,
        key=f"timeline_{side}",
        config={"displaylogo": False},
    )


page_header(
    "Compare runs",
    "compare",
    "Two runs side by side, aligned by turn: typically the same task on a small and a large "
    "model. Differences are B − A.",
)
version = data_version()
choices = load_choices(version, current_filter())
if choices.is_empty() and queries.trajectory_count(connection()) == 0:
    show_empty_store()
    st.stop()
a_id = st.query_params.get("a") or None
siblings = load_siblings(version, a_id) if a_id else pl.DataFrame()
if a_id and not st.query_params.get("b") and siblings.height:
    st.query_params["b"] = siblings["trace_id"][0]
b_id = st.query_params.get("b") or None
left, right = st.columns(2)
with left:
    picker(
        "a",
        choices,
        a_id,
        f"The run to start from: one of the latest {CHOICES} runs in the sidebar's filter, "
        "or any run by its Trajectory page's “Compare with…”.",
    )
with right:
    picker(
        "b",
        b_options(choices, siblings) if a_id else choices,
        b_id,
        "Runs of the same task as A come first.",
    )
a_run = load_run(version, a_id) if a_id else None
b_run = load_run(version, b_id) if b_id else None
missing = [
    (side, trace)
    for side, trace, run in (("A", a_id, a_run), ("B", b_id, b_run))
    if trace and run is None
]
for side, trace in missing:
    st.error(f"Run {side}: no trajectory with id {escape_markdown(trace)} in this store.")
if a_run is None or b_run is None:
    if not missing:
        st.info(
            "Choose two runs to compare — for example the same task on a small and a "
            "large model (the Trajectory page links to them)."
        )
    st.stop()
if a_id == b_id:
    st.warning("A and B are the same run: choose another run as B to see differences.")
st.subheader("Key facts")
compare_view.show_facts(a_run, b_run)
aligned = tq.aligned_turns(load_turns(version, a_id), load_turns(version, b_id))
st.subheader("Turn by turn")
compare_view.show_aligned(aligned)
st.markdown("**Cost so far, turn by turn (USD)**")
st.plotly_chart(build_cumulative_cost_figure(aligned), key="cumulative_cost")
st.subheader("Timelines")
walls = [run["wall_ms"] for run in (a_run, b_run)]
longest = max(walls) if None not in walls else None
cols = st.columns(2)
for col, side, run in ((cols[0], "A", a_run), (cols[1], "B", b_run)):
    with col:
        show_side(side, run, longest)
