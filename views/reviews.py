"""Review queue: what to review next, what reviewers said, and whether the verdicts agree."""

from __future__ import annotations

import polars as pl
import streamlit as st

from analysis import review_queries as rq
from analysis.filters import TrajectoryFilter
from ui import format as fmt
from ui.access import reviewer_name
from ui.db import connection, data_version, review_version
from ui.empty import show_empty_store
from ui.filters import current_filter, warn_if_not_offered
from ui.fleet_common import page_header
from ui.fleet_links import trajectory_url
from ui.names import review_verdict_names, task_names, verdict_names
from ui.text import escape_markdown

LINK = st.column_config.LinkColumn("Open", display_text="open")
# The column labels both tables share, as the other pages word them.
LABELS = {
    "trace_id": st.column_config.TextColumn("Trajectory"),
    "agent_name": st.column_config.TextColumn("Agent"),
    "primary_model": st.column_config.TextColumn("Model"),
    "task_key": st.column_config.TextColumn("Task", width="medium"),
    "outcome": st.column_config.TextColumn("Outcome"),
    "computed_verdict": st.column_config.TextColumn("Computed verdict"),
    "human_verdict": st.column_config.TextColumn("Review verdict"),
    "author": st.column_config.TextColumn("Reviewer"),
    "reviewers": st.column_config.TextColumn("Reviewers"),
    "comment": st.column_config.TextColumn("Comment"),
    "span_id": st.column_config.TextColumn("Pinned span"),
    "waste_usd": st.column_config.NumberColumn("Waste (USD)", format="$%.4f"),
    "cost_usd": st.column_config.NumberColumn("Cost (USD)", format="$%.4f"),
    "waste_tokens": st.column_config.NumberColumn("Wasted tokens", format="%,d"),
    "turns": st.column_config.NumberColumn("Turns"),
    "start_time": st.column_config.DatetimeColumn("Started (UTC)", format="YYYY-MM-DD HH:mm"),
    "created_at": st.column_config.DatetimeColumn("Saved (UTC)", format="YYYY-MM-DD HH:mm"),
    "versions": st.column_config.NumberColumn(
        "Versions", help="1 + the edits made to this review (the CSV has the first one's time)"
    ),
}


@st.cache_data(max_entries=16)
def load_queue(
    version: str, priority: str, flt: TrajectoryFilter, reviewer: str | None
) -> pl.DataFrame:
    return rq.review_queue(connection(), priority, flt, reviewer=reviewer)


@st.cache_data(max_entries=16)
def load_reviewed(version: str, flt: TrajectoryFilter) -> pl.DataFrame:
    return rq.reviewed(connection(), flt)


def named(frame: pl.DataFrame) -> pl.DataFrame:
    """Computed and reviewers' verdicts by name, and tasks by their text, where the frame has
    them."""
    names = [verdict_names("computed_verdict"), review_verdict_names("human_verdict")]
    frame = frame.with_columns(name for name in names if name.meta.output_name() in frame.columns)
    if "task_text" in frame.columns:
        frame = frame.with_columns(task_names()).drop("task_text")
    return frame


def with_links(frame: pl.DataFrame) -> pl.DataFrame:
    """The table as shown: a link per run, verdicts by name."""
    hrefs = [trajectory_url(trace) for trace in frame["trace_id"].to_list()]
    return (
        named(frame)
        .with_columns(pl.Series("open", hrefs, dtype=pl.String))
        .select("open", pl.exclude("open"))
    )


def show_queue(queue: pl.DataFrame, reviewer: str | None) -> None:
    st.subheader(f"To review ({queue.height}{'+' if queue.height == 200 else ''})")
    if queue.is_empty():
        who = "a review of yours" if reviewer else "a review"
        st.success(f"Every trajectory that matches the filters has {who}.")
        return
    st.dataframe(
        with_links(queue),
        hide_index=True,
        width="stretch",
        column_config={"open": LINK, **LABELS},
        placeholder=fmt.MISSING_CELL,
    )


def show_agreement(reviewed: pl.DataFrame) -> None:
    agreement = rq.agreement(reviewed)
    cols = st.columns(3)
    cols[0].metric("Reviewed trajectories", fmt.count(reviewed["trace_id"].n_unique()))
    cols[1].metric("Reviews", fmt.count(reviewed.height))
    cols[2].metric(
        "Human vs computed verdict agreement",
        fmt.percent(agreement.rate) if agreement.comparable else "none yet",
        help="Over reviews whose verdict is good / needs a bigger model / over-provisioned and whose "
        f"run has a computed verdict ({agreement.comparable} comparable, {agreement.agreeing} agree).",
    )


def show_reviewed(reviewed: pl.DataFrame, filtered: bool) -> None:
    st.subheader("Reviewed")
    if reviewed.is_empty():
        where = " of the runs in the sidebar's filter" if filtered else ""
        st.info(f"No reviews{where} yet. Open a trajectory and leave a verdict or a comment.")
        return
    show_agreement(reviewed)
    st.dataframe(
        with_links(reviewed).drop("review_id", "first_created_at"),  # both in the CSV
        hide_index=True,
        width="stretch",
        column_config={"open": LINK, **LABELS},
        placeholder=fmt.MISSING_CELL,
    )
    disputed = rq.disagreements(reviewed)
    if disputed.height:
        runs = disputed["trace_id"].n_unique()
        st.warning(
            f"Reviewers disagree on {fmt.counted(runs, 'run')}: worth settling together.",
            icon=":material/forum:",
        )
        st.dataframe(
            with_links(disputed),
            hide_index=True,
            width="stretch",
            column_config={"open": LINK, **LABELS},
        )
    st.download_button(
        "Download reviews as CSV",
        rq.reviews_csv(reviewed),
        file_name="agenttime-reviews.csv",
        mime="text/csv",
        icon=":material/download:",
        help=rq.CSV_HELP,
    )
    with st.expander("Human verdict × computed verdict", key="agreement", bind="query-params"):
        st.dataframe(
            named(rq.confusion(reviewed)),
            hide_index=True,
            column_config={"reviews": st.column_config.NumberColumn("Reviews"), **LABELS},
            placeholder=fmt.MISSING_CELL,
        )


page_header(
    "Review queue",
    "reviews",
    "Runs no one has reviewed yet, most worth a look first; what reviewers said; and how often "
    "they agree with the computed verdict.",
)
version = f"{data_version()}|{review_version()}"
flt = current_filter()
warn_if_not_offered("priority", "priority", rq.PRIORITIES)
left, right = st.columns([2, 3], vertical_alignment="bottom")
priority = left.selectbox("Priority", list(rq.PRIORITIES), key="priority", bind="query-params")
me = reviewer_name()
mine = bool(me) and right.toggle(
    f"Only runs {escape_markdown(me or '')} has not reviewed",
    key="not_reviewed_by_me",
    help="For a team that reviews each run twice: runs others reviewed stay in your queue.",
    bind="query-params",  # a link opens whoever follows it on their own queue
)
reviewer = me if mine else None
queue = load_queue(version, priority, flt, reviewer)
reviewed = load_reviewed(version, flt)
if queue.is_empty() and reviewed.is_empty() and flt == TrajectoryFilter():
    show_empty_store()
    st.stop()
show_queue(queue, reviewer)
show_reviewed(reviewed, filtered=flt != TrajectoryFilter())
