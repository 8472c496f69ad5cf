"""Overview: is the fleet of agent runs healthy, where did the money go, which runs stand out?"""

from __future__ import annotations

import polars as pl
import streamlit as st

from analysis import fleet, fleet_queries, queries
from analysis.filters import TrajectoryFilter
from ui import fleet_figures as figures
from ui import format as fmt
from ui.db import connection
from ui.fleet_common import UNKNOWN_CELLS, kpis_or_stop, page_header
from ui.fleet_links import trajectory_link_column, trajectory_url
from ui.names import CATEGORY_LABELS, models_in_order, task_names, task_text, verdict_names
from ui.text import escape_markdown
from ui.tiles import tile

WORST_ROWS = 10
HISTOGRAMS = (  # (measure, x axis title, scale)
    ("wall_ms", "wall time (s)", 1 / 1000),
    ("turns", "turns (LLM calls)", 1.0),
    ("cost_usd", "cost (USD)", 1.0),
)


@st.cache_data(max_entries=32)
def load_daily(version: str, flt: TrajectoryFilter) -> pl.DataFrame:
    return fleet_queries.daily(connection(), flt)


@st.cache_data(max_entries=96)
def load_histogram(version: str, flt: TrajectoryFilter, measure: str) -> pl.DataFrame:
    return fleet_queries.histogram(connection(), measure, flt)


@st.cache_data(max_entries=32)
def load_waste_by_category(version: str, flt: TrajectoryFilter) -> pl.DataFrame:
    return fleet.waste_by(connection(), "category", flt)


@st.cache_data(max_entries=32)
def load_verdicts(version: str, flt: TrajectoryFilter) -> pl.DataFrame:
    return fleet_queries.verdict_counts(connection(), flt)


@st.cache_data(max_entries=32)
def load_over_provisioned(
    version: str, flt: TrajectoryFilter
) -> tuple[fleet_queries.OverProvisionedSummary, pl.DataFrame]:
    """The totals, and the run with the largest extra cost (the only row shown here)."""
    con = connection()
    return fleet_queries.over_provisioned_summary(con, flt), fleet_queries.over_provisioned(
        con, flt, limit=1
    )


@st.cache_data(max_entries=64)
def load_worst(version: str, flt: TrajectoryFilter, sort: str) -> pl.DataFrame:
    return queries.trajectory_list(connection(), flt, sort=sort, limit=WORST_ROWS)


@st.cache_data(max_entries=32)
def load_escalations(version: str, flt: TrajectoryFilter) -> tuple[int, int]:
    return fleet_queries.escalation_count(connection(), flt)


def show_kpis(k: queries.Kpis, escalations: tuple[int, int]) -> None:
    row1, row2 = st.columns(4), st.columns(4)
    tile(row1[0], "Trajectories", fmt.count(k.trajectories))
    inferred = k.inferred_successes / k.successes if k.successes else None
    tile(
        row1[1],
        "Success rate",
        fmt.percent(k.success_rate),
        delta=f"{fmt.percent(inferred)} of successes inferred" if inferred is not None else None,
        delta_color="off",
        delta_arrow="off",
        help=f"{k.successes} of {k.judged} runs with a known outcome succeeded; "
        f"{k.inferred_successes} of those successes are inferred (finished without error, "
        "no explicit score).",
    )
    tile(row1[2], "Median wall time", fmt.duration(k.median_wall_ms))
    tile(row1[3], "Median turns", fmt.count(k.median_turns))
    tile(
        row2[0], "Total tokens", fmt.compact(k.total_tokens) if k.with_tokens else fmt.NOT_RECORDED
    )
    tile(row2[1], "Cost", fmt.usd(k.cost_usd) if k.with_cost else fmt.NOT_RECORDED)
    tile(
        row2[2],
        "Waste share",
        fmt.percent(k.waste_share),
        help="Wasted tokens / all tokens, over trajectories where both are recorded.",
    )
    escalated, known = escalations
    tile(
        row2[3],
        "Escalations",
        fmt.count(escalated) if known else fmt.NOT_RECORDED,
        help=f"Runs that switched to a larger tier, of {known} whose models have a known tier.",
    )
    if k.with_cost and k.with_cost < k.trajectories:
        st.caption(f"Cost known for {k.with_cost} of {k.trajectories} trajectories.")


MoneyLine = tuple[str, str, str]  # (Markdown, page to open, link label)


def money_lines(
    k: queries.Kpis,
    waste: pl.DataFrame,
    over: fleet_queries.OverProvisionedSummary,
    largest: pl.DataFrame,
) -> list[MoneyLine]:
    lines = []
    if k.with_cost and k.waste_usd is not None:
        totals = figures.waste_totals(waste).drop_nulls("usd").sort("usd", descending=True)
        top = totals.row(0, named=True) if totals.height else None
        biggest = (
            f", most of it {CATEGORY_LABELS[top['key']].lower()} "
            f"({figures.at_least(fmt.fine_usd(top['usd']), top['usd_unknown'], 'not counted')})"
            if top
            else ""
        )
        # the same runs on both sides, as the Waste page's share of cost
        spent = fmt.fine_usd(k.waste_base_usd)
        scope = (
            ""
            if k.with_waste_usd == k.with_cost
            else f" on the {fmt.counted(k.with_waste_usd, 'run')} whose waste was measured"
        )
        text = (
            f"**Waste:** {fmt.fine_usd(k.waste_usd)} of the {spent} spent{scope} went to "
            f"wasted tokens{biggest}."
        )
        lines.append((text, "views/waste.py", "Waste by category, agent, model and day"))
    if over.trajectories:
        text = (
            f"**Over-provisioned:** {fmt.counted(over.trajectories, 'run')} used a larger tier "
            "on a task a smaller tier solved elsewhere; "
            f"{'they' if over.trajectories > 1 else 'it'} cost {fmt.fine_usd(over.cost_usd or 0.0)}, "
            f"a net {fmt.fine_usd(over.extra_cost_usd or 0.0)} more than the smaller tier's "
            "successful runs." + _largest_gap(largest.drop_nulls("extra_cost_usd"))
        )
        lines.append((text, "views/escalation.py", "Which runs needed the bigger model"))
    return lines


def _largest_gap(largest: pl.DataFrame) -> str:
    """The sentence about the first over-provisioned run (largest extra cost first). Amounts
    below $1 keep 4 decimals here: "$0.01, $0.0094 more" read as if they did not add up."""
    if not largest.height:
        return ""
    top = largest.row(0, named=True)
    task, model = escape_markdown(task_text(top)), escape_markdown(top["model"] or "?")
    smaller = escape_markdown(top["smaller_model"] or "the smaller tier")
    return (
        f" Largest gap: {task} cost {fmt.fine_usd(top['cost_usd'])} on {model}, "
        f"{fmt.fine_usd(top['smaller_cost_usd'])} on {smaller}."
    )


def show_distributions(version: str, flt: TrajectoryFilter) -> None:
    st.subheader("Distributions")
    for column, (measure, title, scale) in zip(st.columns(3), HISTOGRAMS, strict=True):
        with column:
            bins = load_histogram(version, flt, measure)
            st.markdown(f"**{title[0].upper()}{title[1:]}**")
            if bins.height:
                st.plotly_chart(
                    figures.build_histogram_figure(bins, title, scale, usd=measure == "cost_usd"),
                    key=f"hist_{measure}",
                )
            else:
                st.caption(f"{title}: {fmt.NOT_RECORDED} for these trajectories.")


def worst_table(frame: pl.DataFrame, ranked_by: str) -> None:
    """The runs a table ranks, its measure first: on a narrow screen the long text columns
    (task, models) are the ones to scroll to."""
    numbers = ["waste_usd", "wall_s", "cost_usd", "turns"]
    numbers.remove(ranked_by)
    shown = frame.with_columns(wall_s=pl.col("wall_ms") / 1000).select(
        pl.Series("open", [trajectory_url(t) for t in frame["trace_id"]], dtype=pl.String),
        ranked_by,
        *numbers,
        "outcome",
        verdict_names(),
        task_names(),
        models_in_order(),
        "agent_name",
    )
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        column_config={
            "open": trajectory_link_column(),
            "task_key": st.column_config.TextColumn("Task", width="medium"),
            "agent_name": "Agent",
            "models": "Models (call order)",
            "waste_usd": st.column_config.NumberColumn("Waste (USD)", format="$%.4f"),
            "cost_usd": st.column_config.NumberColumn("Cost (USD)", format="$%.4f"),
            "wall_s": st.column_config.NumberColumn("Wall (s)", format="%.1f"),
            "turns": st.column_config.NumberColumn("Turns"),
            "outcome": "Outcome",
            "verdict": "Verdict",
        },
        placeholder=fmt.MISSING_CELL,
    )


page_header(
    "Overview",
    "",
    "All trajectories in the sidebar's filter: health, trends, where the money went, and the "
    "runs that stand out. Times in UTC.",
)
version, flt, k = kpis_or_stop()
show_kpis(k, load_escalations(version, flt))
waste = load_waste_by_category(version, flt)
for text, target, label in money_lines(k, waste, *load_over_provisioned(version, flt)):
    st.markdown(text)
    st.page_link(target, label=label, icon=":material/arrow_forward:")

st.subheader("Per day (UTC)")
st.plotly_chart(figures.build_trend_figure(load_daily(version, flt)), key="trend")
show_distributions(version, flt)

left, right = st.columns(2)
with left:
    st.subheader("Waste share by category")
    st.plotly_chart(
        figures.build_waste_category_figure(waste, k.waste_base_tokens), key="waste_share"
    )
with right:
    st.subheader("Was a bigger model needed?")
    st.plotly_chart(figures.build_verdict_figure(load_verdicts(version, flt)), key="verdicts")

st.subheader("Most wasteful trajectories")
worst_table(load_worst(version, flt, "waste_usd"), "waste_usd")
st.subheader("Longest wall time")
worst_table(load_worst(version, flt, "wall_ms"), "wall_s")
st.caption(UNKNOWN_CELLS)
