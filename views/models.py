"""Models & cost: what each model was asked, what it cost, what it bought, and whether the
cheaper-listed model really is cheaper per task (price reversal)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from analysis import fleet, reversal
from analysis.filters import TrajectoryFilter
from analysis.reversal import FACTORS
from ui import format as fmt
from ui import model_figures as figures
from ui.db import connection
from ui.fleet_common import (
    UNKNOWN_CELLS,
    filter_note,
    kpis_or_stop,
    page_header,
    signed_usd_column,
    signed_usd_values,
)
from ui.text import escape_markdown

MAIN_MODEL = "the model with most calls in the run"
PERCENT = "%.1f%%"  # of fractions scaled by 100 (`show_models`): one place in every row
PERCENT_COLUMNS = ("cache_hit_rate", "reasoning_share", "success_rate")
MODEL_COLUMNS = {
    "model": "Model",
    "tier": "Tier",
    "calls": st.column_config.NumberColumn("Calls", format="%,d"),
    "trajectories": st.column_config.NumberColumn(
        "Runs as main model", help=f"Runs where it was the main model ({MAIN_MODEL})"
    ),
    "input_tokens": st.column_config.NumberColumn("Input tokens", format="%,d"),
    "cache_read_tokens": st.column_config.NumberColumn("Cached input", format="%,d"),
    "cache_write_tokens": st.column_config.NumberColumn("Cache writes", format="%,d"),
    "output_tokens": st.column_config.NumberColumn("Output tokens", format="%,d"),
    "reasoning_tokens": st.column_config.NumberColumn("Reasoning tokens", format="%,d"),
    "cache_hit_rate": st.column_config.NumberColumn("Cache hit rate", format=PERCENT),
    "reasoning_share": st.column_config.NumberColumn("Reasoning share", format=PERCENT),
    "cost_usd": st.column_config.NumberColumn("Cost (USD)", format="$%.4f"),
    "cost_per_trajectory": st.column_config.NumberColumn(
        "Cost / run as main",
        format="$%.4f",
        help=f"Mean whole-run cost of the runs where it was the main model ({MAIN_MODEL}), "
        "other models' calls in them included",
    ),
    "cost_per_success": st.column_config.NumberColumn(
        "Cost / success as main",
        format="$%.4f",
        help="Whole-run cost of its judged runs (where it was the main model) / their successes",
    ),
    "success_rate": st.column_config.NumberColumn(
        "Success rate as main", format=PERCENT, help="Of the runs where it was the main model"
    ),
    "score_per_1k_tokens": st.column_config.NumberColumn(
        "Score (0–100) / 1k tokens",
        format="%.2f",
        help="Mean score (0–100) per 1,000 tokens, over runs with a score and token counts",
    ),
    "listed_input_per_mtok": st.column_config.NumberColumn("Listed input $/Mtok", format="$%.3f"),
    "listed_output_per_mtok": st.column_config.NumberColumn("Listed output $/Mtok", format="$%.3f"),
    "effective_usd_per_mtok": st.column_config.NumberColumn(
        "Effective $/Mtok",
        format="$%.3f",
        help="Cost of its priced calls / their tokens (input + output), cache discounts included",
    ),
}
# The money first; token counts, drawn in the chart below, last.
MODEL_ORDER = (
    "model",
    "tier",
    "calls",
    "trajectories",
    "cost_usd",
    "cost_per_trajectory",
    "cost_per_success",
    "success_rate",
    "cache_hit_rate",
    "reasoning_share",
    "effective_usd_per_mtok",
    "listed_input_per_mtok",
    "listed_output_per_mtok",
    "score_per_1k_tokens",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "output_tokens",
    "reasoning_tokens",
)
GAP_PLACES = 5
REVERSALS_NAMED = 3  # in the sentence above the table; the table has them all
PAIR_COLUMNS = {  # the verdict first, the evidence behind it after
    "cheaper_model": "Cheaper listed",
    "pricier_model": "Pricier listed",
    "reversed": st.column_config.CheckboxColumn("Reversed"),
    "magnitude": st.column_config.NumberColumn("Cost ratio", format="%.2f×"),
    "tasks_reversed": st.column_config.NumberColumn(
        "Tasks it cost more",
        help="Shared tasks on which the cheaper-listed model cost more: a mean carried by one "
        "task is a weak reversal",
    ),
    "shared_tasks": st.column_config.NumberColumn("Shared tasks"),
    "cheaper_runs": st.column_config.NumberColumn("Cheaper: runs"),
    "pricier_runs": st.column_config.NumberColumn("Pricier: runs"),
    "driver": "Driving factor",
    "cheaper_cost_per_task": st.column_config.NumberColumn("Cheaper: USD / task", format="$%.4f"),
    "pricier_cost_per_task": st.column_config.NumberColumn("Pricier: USD / task", format="$%.4f"),
    "cheaper_listed_per_mtok": st.column_config.NumberColumn(
        "Cheaper: listed $/Mtok", format="$%.2f"
    ),
    "pricier_listed_per_mtok": st.column_config.NumberColumn(
        "Pricier: listed $/Mtok", format="$%.2f"
    ),
    **{
        f"gap_{f}": signed_usd_column(
            f"Gap from {f} (USD)",
            GAP_PLACES,
            help=f"The part of (cheaper-listed model's cost per task − the pricier one's) due to "
            f"{f}: positive parts push toward a reversal. The five parts add up to the gap.",
        )
        for f in FACTORS
    },
}


@st.cache_data(max_entries=32)
def load_model_stats(version: str, flt: TrajectoryFilter) -> pl.DataFrame:
    stats = fleet.model_stats(connection(), flt)
    return stats.with_columns(success_rate=pl.col("successes") / pl.col("judged"))


@st.cache_data(max_entries=8)
def load_reversal(version: str) -> pl.DataFrame:
    return reversal.reversal_matrix(connection())


def show_models(stats: pl.DataFrame) -> None:
    st.dataframe(
        stats.select(MODEL_ORDER).with_columns(pl.col(PERCENT_COLUMNS) * 100),
        hide_index=True,
        width="stretch",
        column_config=MODEL_COLUMNS,
        placeholder=fmt.MISSING_CELL,
    )
    st.caption(
        "Money first; scroll the table sideways for cache hits, reasoning, listed and effective "
        "prices and token counts."
    )
    left, right = st.columns(2)
    with left:
        st.markdown("**Where the money went: cost of each model's calls (USD)**")
        st.plotly_chart(
            figures.build_spend_figure(stats.sort("cost_usd", descending=True, nulls_last=True)),
            key="spend",
        )
    with right:
        st.markdown("**Tokens by kind**")
        st.plotly_chart(figures.build_tokens_by_kind_figure(stats), key="tokens")
    st.markdown("**Listed price vs effective cost per 1M tokens (USD, log scale)**")
    prices = ("listed_input_per_mtok", "listed_output_per_mtok", "effective_usd_per_mtok")
    if stats.select(pl.any_horizontal(pl.col(prices).is_not_null()).any()).item():
        st.plotly_chart(figures.build_price_figure(stats), key="prices")
    else:
        st.info(
            "No model in this view has a price: add one on Settings to see listed and "
            "effective prices (and computed costs).",
            icon=":material/sell:",
        )
    st.caption(
        "Effective $/Mtok blends input and output at each model's own mix, after cache discounts: "
        "a model whose traffic is mostly cached input pays far less than its listed prices."
    )


def reversal_sentence(matrix: pl.DataFrame) -> str:
    summary = reversal.summary(matrix)
    rate = fmt.percent(summary.reversal_rate)
    text = (
        f"**Reversal rate: {rate}** — {summary.reversed_pairs} of {summary.comparable_pairs} "
        "comparable model pairs cost more per task on the model with the lower listed price."
    )
    drivers = matrix.filter(pl.col("reversed"))["driver"].value_counts(sort=True)
    if drivers.height:
        text += f" Driving factor of the reversals: **{drivers['driver'][0]}**."
    for row in matrix.filter(pl.col("reversed")).head(REVERSALS_NAMED).iter_rows(named=True):
        text += (
            f"  \n{escape_markdown(row['cheaper_model'])} costs {row['magnitude']:.2f}× "
            f"{escape_markdown(row['pricier_model'])} per task on the mean, and more on "
            f"{row['tasks_reversed']} of {row['shared_tasks']} shared tasks "
            f"({fmt.counted(row['cheaper_runs'], 'run')} against {row['pricier_runs']:,})."
        )
    return text


def show_reversal(version: str, flt: TrajectoryFilter) -> None:
    st.subheader("Price reversal")
    st.caption(
        "Two models that ran the same tasks (single-model runs with known cost): is the one with "
        "the lower listed price (input + output $/Mtok) really cheaper per task? The gap is split "
        "over turns, context, output, reasoning and price; the driving factor contributes most."
    )
    filter_note(flt)
    matrix = load_reversal(version)
    if not matrix.height:
        st.info("No two models with different listed prices ran the same task yet.")
        return
    st.markdown(reversal_sentence(matrix))
    st.plotly_chart(figures.build_reversal_figure(matrix), key="reversal")
    st.dataframe(
        matrix.select(list(PAIR_COLUMNS)).with_columns(
            signed_usd_values(f"gap_{f}", GAP_PLACES) for f in FACTORS
        ),
        hide_index=True,
        width="stretch",
        column_config=PAIR_COLUMNS,
        placeholder=fmt.MISSING_CELL,
    )


page_header(
    "Models & cost",
    "models",
    "Per model: calls, tokens by kind, cache hit rate, reasoning share, cost per trajectory and "
    "per success, and what a million tokens really cost. Prices and tiers are on Settings.",
)
version, flt, k = kpis_or_stop()
stats = load_model_stats(version, flt)
if stats.height:
    show_models(stats)
else:
    st.info("These trajectories record no model name.")
st.caption(UNKNOWN_CELLS)
show_reversal(version, flt)
