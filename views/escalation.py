"""Bigger model?: was each switch to a larger model needed, which runs used a larger model
than their task needed, and what a "small first, escalate after K stalled turns" policy
would have cost."""

from __future__ import annotations

import polars as pl
import streamlit as st

from analysis import fleet, fleet_queries, routing
from analysis.filters import TrajectoryFilter
from ui import fleet_figures as figures
from ui import format as fmt
from ui.db import connection
from ui.filters import warn_if_not_offered
from ui.fleet_common import (
    UNKNOWN_CELLS,
    filter_note,
    kpis_or_stop,
    page_header,
    signed_usd_column,
    signed_usd_values,
    table_page,
)
from ui.fleet_links import (
    compare_link_column,
    compare_url,
    links,
    narrowed_trajectories_url,
    trajectory_link_column,
    trajectory_url,
)
from ui.names import task_names, verdict_names

VERDICT_MEANING = {
    "escalation_needed": "Escalated after the small model stalled, then succeeded",
    "escalation_premature": "Escalated with no stall or error before it",
    "escalation_futile": "Escalated and still failed",
    "large_needed": "A smaller tier failed this task; a larger one succeeded",
    "over_provisioned": "A larger tier ran a task a smaller tier solved elsewhere",
    "small_sufficient": "The small tier did it",
    "undetermined": "Not enough evidence either way",
}
# fmt: off
OVER_ORDER = (
    "task_key", "extra_cost_usd", "ratio", "cost_usd", "smaller_cost_usd", "model",
    "smaller_model", "compare", "wall_s", "smaller_wall_s", "smaller_successes", "smaller_runs",
    "tier", "open",
)
ESCALATION_ORDER = (
    "task_key", "verdict", "signal_turns", "cost_before_usd", "cost_after_usd", "s_before",
    "s_after", "outcome", "from_model", "to_model", "open", "turns_before", "turns_after",
    "tool_errors_before", "waste_tokens_before",
)
PAIR_ORDER = (
    "task_key", "smaller_successes", "smaller_runs", "larger_successes", "larger_runs",
    "smaller_cost_usd", "larger_cost_usd", "larger_verdicts", "smaller_model", "larger_model",
    "compare", "smaller_wall_s", "larger_wall_s", "smaller_tier", "larger_tier",
)
# fmt: on
USD_PLACES = 4
K_CHOICES = range(1, 6)  # the routing simulator's K: stalled turns before escalating
RATE_PLACES = 1  # routing rates: 78.6% in the table and in the sentence above it
RATE_STEP = 10 ** -(RATE_PLACES + 2)  # the grid cuts (not rounds) to it: values are rounded first
USD = f"$%.{USD_PLACES}f"
SECONDS = "%.1f s"


ROUTING_COLUMNS = {
    "selected": st.column_config.CheckboxColumn("Selected K"),
    "policy": "Policy",
    "success_rate": st.column_config.NumberColumn("Success rate", format="percent", step=RATE_STEP),
    "cost_per_task": st.column_config.NumberColumn("Cost / task (USD)", format=USD),
    "wall_s": st.column_config.NumberColumn("Wall / task", format=SECONDS),
    "escalation_rate": st.column_config.NumberColumn(
        "Escalated",
        format="percent",
        step=RATE_STEP,
        help="Share of a task's small runs that reached K stalled turns, averaged over tasks",
    ),
    "tasks": "Tasks",
}


def usd(label: str, **kw) -> st.column_config.Column:
    return st.column_config.NumberColumn(label, format=USD, **kw)


def seconds(label: str) -> st.column_config.Column:
    return st.column_config.NumberColumn(label, format=SECONDS)


@st.cache_data(max_entries=32)
def load_verdicts(version: str, flt: TrajectoryFilter) -> pl.DataFrame:
    return fleet_queries.verdict_counts(connection(), flt)


@st.cache_data(max_entries=32)
def load_over_summary(version: str, flt: TrajectoryFilter) -> fleet_queries.OverProvisionedSummary:
    return fleet_queries.over_provisioned_summary(connection(), flt)


@st.cache_data(max_entries=32)
def load_over(version: str, flt: TrajectoryFilter, limit: int, offset: int) -> pl.DataFrame:
    return fleet_queries.over_provisioned(connection(), flt, limit, offset)


@st.cache_data(max_entries=32)
def load_escalation_count(version: str, flt: TrajectoryFilter) -> int:
    return fleet.escalation_event_count(connection(), flt)


@st.cache_data(max_entries=32)
def load_escalations(version: str, flt: TrajectoryFilter, limit: int, offset: int) -> pl.DataFrame:
    return fleet_queries.escalations(connection(), flt, limit, offset)


@st.cache_data(max_entries=32)
def load_pair_count(version: str, flt: TrajectoryFilter) -> int:
    return fleet_queries.tier_pair_count(connection(), flt)


@st.cache_data(max_entries=32)
def load_pairs(version: str, flt: TrajectoryFilter, limit: int, offset: int) -> pl.DataFrame:
    return fleet_queries.tier_pairs(connection(), flt, limit, offset)


@st.cache_data(max_entries=8)
def load_routing(version: str) -> pl.DataFrame:
    return routing.routing_table(connection())


def show_verdicts(version: str, flt: TrajectoryFilter) -> None:
    counts = load_verdicts(version, flt)
    left, right = st.columns([1, 2])
    with left:
        st.plotly_chart(figures.build_verdict_figure(counts), key="verdicts")
    with right:
        table = counts.with_columns(
            meaning=pl.col("verdict").replace_strict(VERDICT_MEANING, default=None),
            list=links(
                counts,
                lambda v: narrowed_trajectories_url(verdict=fmt.VERDICT_NAMES.get(v, v)),
                "verdict",
            ),
            verdict=verdict_names(),
        )
        st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            column_order=["verdict", "trajectories", "cost_usd", "list", "meaning"],
            column_config={
                "verdict": "Verdict",
                "meaning": st.column_config.TextColumn("Meaning"),
                "trajectories": "Runs",
                "cost_usd": usd("Cost (USD)"),
                "list": st.column_config.LinkColumn("Open", display_text="List them"),
            },
            placeholder=fmt.MISSING_CELL,
        )


def show_over_provisioned(version: str, flt: TrajectoryFilter) -> None:
    summary = load_over_summary(version, flt)
    st.subheader("Over-provisioned: a smaller tier solved the same task")
    if not summary.trajectories:
        st.caption("No run in these trajectories used a larger tier than its task needed.")
        return
    st.markdown(
        f"**{fmt.counted(summary.trajectories, 'run')}** cost "
        f"{fmt.fine_usd(summary.cost_usd or 0.0)}; the smaller tier's successful runs of the "
        f"same tasks cost {fmt.fine_usd(summary.smaller_cost_usd or 0.0)} (extra: "
        f"{fmt.fine_usd(summary.extra_cost_usd or 0.0)}). A negative extra means the smaller "
        "model cost more on that task (see price reversal on Models & cost)."
    )
    limit, offset = table_page(
        summary.trajectories, "over-provisioned runs (largest extra cost first)", "over_page"
    )
    over = load_over(version, flt, limit, offset)
    table = over.with_columns(
        open=links(over, trajectory_url, "trace_id"),
        compare=links(over, compare_url, "smaller_trace_id", "trace_id"),
        ratio=pl.col("cost_usd") / pl.col("smaller_cost_usd"),
        extra_cost_usd=signed_usd_values("extra_cost_usd", USD_PLACES),
        wall_s=pl.col("wall_ms") / 1000,
        smaller_wall_s=pl.col("smaller_wall_ms") / 1000,
        task_key=task_names(),
    )
    st.dataframe(
        table.select(OVER_ORDER),
        hide_index=True,
        width="stretch",
        column_config={
            "task_key": st.column_config.TextColumn("Task", width="medium"),
            "model": "Model used",
            "tier": "Tier",
            "cost_usd": usd("Cost (USD)"),
            "wall_s": seconds("Wall"),
            "smaller_model": "Smaller model",
            "smaller_successes": st.column_config.NumberColumn("Smaller: successes"),
            "smaller_runs": st.column_config.NumberColumn("of runs"),
            "smaller_cost_usd": usd("Smaller: cost (USD)", help="Mean over its successful runs"),
            "smaller_wall_s": seconds("Smaller: wall"),
            "extra_cost_usd": signed_usd_column(
                "Extra (USD)",
                USD_PLACES,
                help="Cost minus the smaller tier's mean; negative: this run was cheaper",
            ),
            "ratio": st.column_config.NumberColumn("Cost ×", format="%.1f×"),
            "compare": compare_link_column(),
            "open": trajectory_link_column(),
        },
        placeholder=fmt.MISSING_CELL,
    )


def show_escalations(version: str, flt: TrajectoryFilter) -> None:
    total = load_escalation_count(version, flt)
    st.subheader("Escalations: before and after the switch")
    if not total:
        st.caption("No run in these trajectories switched to a larger tier.")
        return
    limit, offset = table_page(total, "escalated runs (oldest first)", "escalations_page")
    events = load_escalations(version, flt, limit, offset)
    table = events.with_columns(
        open=links(events, trajectory_url, "trace_id", "escalation_span_id"),
        verdict=verdict_names(),
        s_before=pl.col("ms_before") / 1000,
        s_after=pl.col("ms_after") / 1000,
        task_key=task_names(),
    )
    st.dataframe(
        table.select(ESCALATION_ORDER),
        hide_index=True,
        width="stretch",
        column_config={
            "task_key": st.column_config.TextColumn("Task", width="medium"),
            "verdict": "Verdict",
            "from_model": "From",
            "to_model": "To",
            "turns_before": st.column_config.NumberColumn("Turns before"),
            "signal_turns": st.column_config.NumberColumn(
                "Stalled before", help="Stagnation, error-retry or errored turns before the switch"
            ),
            "tool_errors_before": st.column_config.NumberColumn("Tool errors before"),
            "cost_before_usd": usd("Cost before (USD)"),
            "s_before": seconds("Time before"),
            "waste_tokens_before": st.column_config.NumberColumn(
                "Waste before (tokens)", format="%,d"
            ),
            "turns_after": st.column_config.NumberColumn("Turns after"),
            "cost_after_usd": usd("Cost after (USD)"),
            "s_after": seconds("Time after"),
            "outcome": "Outcome",
            "open": trajectory_link_column("At the switch"),
        },
        placeholder=fmt.MISSING_CELL,
    )


PAIR_SIDE = {  # column suffix -> (label, number format or None for text)
    "tier": ("tier", None),
    "model": ("model", None),
    "successes": ("successes", "%d"),
    "runs": ("runs", "%d"),
    "cost_usd": ("mean cost (USD)", USD),
    "wall_s": ("mean wall (s)", "%.1f"),
}


def pair_columns() -> dict:
    config = {
        "task_key": st.column_config.TextColumn("Task", width="medium"),
        "compare": compare_link_column(),
        "larger_verdicts": "Larger: verdict",
    }
    for prefix, name in (("smaller", "Smaller"), ("larger", "Larger")):
        for column, (label, number) in PAIR_SIDE.items():
            title = f"{name}: {label}"
            config[f"{prefix}_{column}"] = (
                st.column_config.NumberColumn(title, format=number) if number else title
            )
    return config


def show_tier_pairs(version: str, flt: TrajectoryFilter) -> None:
    total = load_pair_count(version, flt)
    st.subheader("Tasks run on more than one tier")
    if not total:
        st.caption("No task in these trajectories ran on two tiers without escalating.")
        return
    limit, offset = table_page(total, "tasks (by task key)", "pairs_page")
    pairs = load_pairs(version, flt, limit, offset)
    table = pairs.with_columns(
        task_names(),
        smaller_wall_s=pl.col("smaller_wall_ms") / 1000,
        larger_wall_s=pl.col("larger_wall_ms") / 1000,
        compare=links(pairs, compare_url, "smaller_trace_id", "larger_trace_id"),
        larger_verdicts=pl.col("larger_verdicts")
        .list.eval(pl.element().replace(fmt.VERDICT_NAMES))
        .list.join(", "),
    )

    st.dataframe(
        table.select(PAIR_ORDER),
        hide_index=True,
        width="stretch",
        column_config=pair_columns(),
        placeholder=fmt.MISSING_CELL,
    )


def show_routing(version: str, flt: TrajectoryFilter) -> None:
    st.subheader("Routing simulator: small first, escalate after K stalled turns")
    st.caption(
        "Replays the recorded small-tier runs of tasks that also ran on the large tier: a run "
        "that reaches K stalled turns is stopped there and the task goes to the large model, "
        "which starts over. An estimate from recorded runs, not a re-run."
    )
    filter_note(flt)
    with st.spinner("Replaying the recorded small-tier runs…"):
        table = load_routing(version)
    if not table.height:
        st.info("No task has non-escalated runs on both the small and the large tier yet.")
        return
    warn_if_not_offered("k", "K", K_CHOICES)
    k = st.slider(
        "K: stalled turns before escalating",
        K_CHOICES[0],
        K_CHOICES[-1],
        2,
        key="k",
        bind="query-params",
    )
    st.markdown(routing_sentence(table, k))
    shown = table.with_columns(
        policy=pl.Series(
            [figures.policy_label(p, n) for p, n in zip(table["policy"], table["k"], strict=True)]
        ),
        selected=(pl.col("k") == k).fill_null(False),
        wall_s=pl.col("wall_ms_per_task") / 1000,
        success_rate=pl.col("success_rate").round(RATE_PLACES + 2),
        escalation_rate=pl.col("escalation_rate").round(RATE_PLACES + 2),
    )
    st.dataframe(
        shown.select(list(ROUTING_COLUMNS)),
        hide_index=True,
        width="stretch",
        column_config=ROUTING_COLUMNS,
        placeholder=fmt.MISSING_CELL,
    )
    show_frontiers(table, k)


def show_frontiers(table: pl.DataFrame, k: int) -> None:
    left, right = st.columns(2)
    with left:
        figure = figures.build_frontier_figure(table, "cost_per_task", k, "cost per task (USD)")
        st.plotly_chart(figure, key="frontier_cost")
    with right:
        figure = figures.build_frontier_figure(
            table, "wall_ms_per_task", k, "wall time per task (s)", 1 / 1000
        )
        st.plotly_chart(figure, key="frontier_time")


def routing_sentence(table: pl.DataFrame, k: int) -> str:
    rows = {r["policy"]: r for r in table.iter_rows(named=True)}
    chosen, small, large = rows[f"small_then_large_k{k}"], rows["all_small"], rows["all_large"]

    def say(row) -> str:
        success = fmt.percent(row["success_rate"], RATE_PLACES)
        cost = fmt.fine_usd(row["cost_per_task"])
        return f"{success} success at {cost} per task"

    return (
        f"Over **{chosen['tasks']} tasks**: with **K={k}**, {say(chosen)}, escalating "
        f"{fmt.percent(chosen['escalation_rate'], RATE_PLACES)} of a task's small runs on "
        f"average — all small: {say(small)}; all large: {say(large)}."
    )


page_header(
    "Bigger model?",
    "escalation",
    "Whether each run needed the model it used: escalations judged on the turns before the "
    "switch, other runs against runs of the same task on other tiers.",
)
version, flt, _ = kpis_or_stop()
st.subheader("Verdicts")
show_verdicts(version, flt)
show_over_provisioned(version, flt)
show_escalations(version, flt)
show_tier_pairs(version, flt)
st.caption(UNKNOWN_CELLS)
show_routing(version, flt)
