"""Trajectory: where one run's time and money went, which turns were wasted, and whether it
needed the bigger model — with every span one click away, and the view in the URL
(`?trace=…&span=…`) so a link shows a colleague exactly this.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from analysis import queries
from analysis import trajectory_queries as tq
from store.reviews import current_reviews
from ui import format as fmt
from ui import trajectory_figures as figures
from ui import trajectory_sections as sections
from ui.db import connection, data_version
from ui.empty import show_empty_store
from ui.fleet_common import page_header
from ui.report import trajectory_report
from ui.review_panel import show_pinned_reviews, show_review_panel
from ui.span_inspector import failed_spans, show_inspector, show_span_picker, span_labels
from ui.text import escape_markdown, one_line
from ui.timeline import build_timeline_figure, untimed_count


@st.cache_data(max_entries=64)
def load_run(version: str, trace_id: str) -> dict[str, Any] | None:
    return queries.trajectory(connection(), trace_id)


@st.cache_data(max_entries=8)
def load_count(version: str) -> int:
    return queries.trajectory_count(connection())


@st.cache_data(max_entries=32)
def load_detail(version: str, trace_id: str) -> dict[str, Any]:
    con = connection()
    turns, findings = tq.turn_rows(con, trace_id), tq.finding_rows(con, trace_id)
    spans = tq.timeline_spans(con, trace_id)
    untraced = turns.height and not (spans["kind"] == "tool").any()
    return {
        "models": tq.models_in_order(turns),
        "spans": spans,
        "requested_tools": tq.requested_tool_calls(con, trace_id) if untraced else 0,
        "reported": tq.reported_cost(spans),
        "turns": turns,
        "growth": tq.context_growth(turns),
        "findings": findings,
        "waste": tq.waste_summary(findings),
        "verdict": queries.verdict(con, trace_id),
        "siblings": tq.siblings(con, trace_id),
    }


@st.cache_data(max_entries=64)
def load_span(version: str, trace_id: str, span_id: str) -> dict[str, Any] | None:
    return tq.span(connection(), trace_id, span_id)


def select_span(span_id: str | None) -> None:
    if span_id:
        st.query_params["span"] = span_id
    else:
        st.query_params.pop("span", None)


def on_timeline_click() -> None:
    points = st.session_state["timeline"].selection.points
    if points and points[0].get("customdata"):
        select_span(points[0]["customdata"])


LAST_RUN = "last_run"  # the run (and span) this session last had open, for the sidebar link


def show_missing(trace_id: str | None) -> None:
    if trace_id is None:
        st.info("Choose a run on the Trajectories page; its link opens it here.")
    else:
        st.error(f"No trajectory with id {escape_markdown(trace_id)} in this store.")
    st.page_link("views/trajectories.py", label="Browse trajectories", icon=":material/list:")


def show_actions(run: dict[str, Any], siblings: pl.DataFrame) -> None:
    row = st.container(horizontal=True)
    if siblings.height:
        row.page_link(
            "views/compare.py",
            label=f"Compare with… ({siblings.height} other run{'s' * (siblings.height > 1)})",
            icon=":material/compare_arrows:",
            query_params={"a": run["trace_id"], "b": siblings["trace_id"][0]},
        )
    row.download_button(
        "HTML report",
        data=lambda: trajectory_report(connection(), run["trace_id"]) or "",
        file_name=f"trajectory-{one_line(run['trace_id'], 40)}.html",
        mime="text/html",
        icon=":material/download:",
        on_click="ignore",
    )


def show_timeline_and_inspector(
    detail: dict[str, Any],
    labels: dict[str, str],
    names: dict[str, str],
    reviews: pl.DataFrame,
    trace_id: str,
    span_id: str | None,
) -> dict[str, Any] | None:
    """The Gantt (model calls named by turn, as `names` has them) beside the inspector;
    returns the inspected span (None if none or unknown)."""
    left, right = st.columns([3, 2])
    with left:
        st.subheader("Timeline")
        st.plotly_chart(
            figures.highlight_span(build_timeline_figure(detail["spans"], names), span_id),
            key="timeline",
            on_select=on_timeline_click,
            selection_mode="points",
            config={"displaylogo": False},
        )
        untimed = untimed_count(detail["spans"])
        missing = (
            f" {fmt.counted(untimed, 'span')} with no recorded start or end "
            f"{'is' if untimed == 1 else 'are'} not drawn; the span picker has "
            f"{'it' if untimed == 1 else 'them'}."
            if untimed and untimed < detail["spans"].height
            else ""
        )
        st.caption(
            "Bars: indigo = model call, amber = tool, red outline = error. Click a bar." + missing
        )
    with right:
        st.subheader("Span inspector")
        show_span_picker(labels, span_id, select_span, failed_spans(detail["spans"]))
        span = load_span(version, trace_id, span_id) if span_id else None
        if span is not None:
            show_pinned_reviews(reviews, span_id)
        # scrolls within the timeline's height; with no span chosen, no empty 640 px below it
        with st.container(height=640 if span is not None else "content", border=False):
            show_inspector(span, span_id)
    return span


def show_turns_and_waste(detail: dict[str, Any], trace_id: str, unmeasured: list[int]) -> None:
    st.subheader("Turns")
    sections.show_turn_table(detail["turns"], select_span)
    st.subheader("Waste")
    sections.show_waste_summary(detail["waste"], unmeasured)
    if detail["turns"].height:
        st.plotly_chart(figures.build_turn_cost_figure(detail["turns"]), key="turn_cost")
    sections.show_findings(detail["findings"], trace_id, select_span)


def show_time_and_context(run: dict[str, Any], detail: dict[str, Any]) -> None:
    left, right = st.columns(2)
    with left:
        st.subheader("Time split")
        split = figures.time_split_frame(run)
        if split.is_empty():
            st.info("Time split: not recorded (some calls have no timestamps).")
        else:
            st.plotly_chart(figures.build_time_split_figure(split), key="time_split")
        sections.show_time_split_caption(run)
    with right:
        st.subheader("Context growth")
        if detail["growth"].is_empty():
            st.info("No model calls, so no context to grow.")
        else:
            figure = figures.build_context_growth_figure(detail["growth"])
            st.plotly_chart(figure, key="context_growth")


def show_verdict_and_siblings(detail: dict[str, Any], names: dict[str, str], trace_id: str) -> None:
    st.subheader("Was a bigger model needed?")
    sections.show_verdict(detail["verdict"], trace_id, names)
    siblings = detail["siblings"]
    if siblings.height:
        st.markdown("**Other runs of this task**")
        sections.show_siblings(siblings, trace_id)


page_header(
    "Trajectory",
    "trajectory",
    "One run: where its time and money went, which turns were wasted, and whether it "
    "needed the bigger model. Click a bar, a turn or a finding to inspect that span.",
)
version = data_version()
if "trace" not in st.query_params and (last := st.session_state.get(LAST_RUN)):
    st.query_params.update(last)  # back from another page through the sidebar: where it was
trace_id = st.query_params.get("trace") or None
span_id = st.query_params.get("span") or None
run = load_run(version, trace_id) if trace_id else None
if run is None:
    if load_count(version) == 0:
        show_empty_store()
    else:
        show_missing(trace_id)
    st.stop()
st.session_state[LAST_RUN] = {"trace": trace_id} | ({"span": span_id} if span_id else {})
detail = load_detail(version, trace_id)
names = sections.turn_names(detail["turns"])  # span id -> "turn n", for labels and links
sections.show_header(
    run, detail["models"], detail["turns"], detail["requested_tools"], detail["reported"]
)
unmeasured = sections.unmeasured_turns(detail["turns"])  # the headline and the Waste section
sections.show_headline(detail["verdict"], detail["findings"], unmeasured)
show_actions(run, detail["siblings"])
labels = span_labels(detail["spans"], names)  # span id -> "9. tool · run_tests", as picked
reviews = current_reviews(connection(), trace_id)  # fresh each run: reviews change often
span = show_timeline_and_inspector(detail, labels, names, reviews, trace_id, span_id)
show_turns_and_waste(detail, trace_id, unmeasured)
show_time_and_context(run, detail)
show_verdict_and_siblings(detail, names, trace_id)
st.subheader("Reviews")
# a review names its span as a turn where it is one, else by its label in the picker
show_review_panel(trace_id, reviews, span_id if span else None, labels | names)
