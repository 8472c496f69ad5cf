"""Figures of one trajectory (and of two side by side): pure data -> `go.Figure` functions.

Each takes the frame an `analysis` read returns and draws it without Streamlit, so its
trace data can be asserted exactly in a unit test. Unknown values stay unknown: a turn
without cache data is drawn as "cache not recorded", never as zero cached tokens.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import polars as pl

from ui.format import USD_AXIS
from ui.names import category_names
from ui.timeline import KIND_COLORS, plotly_text

TIME_PART_COLORS = {
    "model": KIND_COLORS["llm"],
    "tool": KIND_COLORS["tool"],
    "idle": "#cbd5e1",
    "first token": "#a5b4fc",
    "generation": KIND_COLORS["llm"],
}
CACHED_COLOR, UNCACHED_COLOR, UNKNOWN_COLOR = "#10b981", "#4f46e5", "#cbd5e1"
WASTED_COLOR, USEFUL_COLOR = "#dc2626", "#94a3b8"
SIDE_COLORS = {"A": "#4f46e5", "B": "#f59e0b"}
WALL_ROW, MODEL_ROW = "wall time", "model time"


def time_split_frame(run: dict[str, Any]) -> pl.DataFrame:
    """(row, part, ms) for a trajectory row: model/tool/idle, and TTFT where recorded.

    Empty when the time split is unknown; the "model time" row appears only when every
    LLM call recorded its time to first token (a partial sum would mislead).
    """
    parts = [(WALL_ROW, part, run.get(f"{part}_ms")) for part in ("model", "tool", "idle")]
    if any(ms is None for _, _, ms in parts):
        return pl.DataFrame(schema={"row": pl.String, "part": pl.String, "ms": pl.Float64})
    ttft, calls = run.get("ttft_ms"), run.get("ttft_calls") or 0
    if ttft is not None and calls and calls == run.get("llm_calls"):
        model_ms = run["model_ms"]
        parts += [(MODEL_ROW, "first token", ttft), (MODEL_ROW, "generation", model_ms - ttft)]
    return pl.DataFrame(parts, schema=["row", "part", "ms"], orient="row")


def build_time_split_figure(split: pl.DataFrame) -> go.Figure:
    """Stacked horizontal bars: where the wall-clock time went, in ms."""
    figure = go.Figure()
    total = split.filter(pl.col("row") == WALL_ROW)["ms"].sum() or 1.0
    for part in split["part"].unique(maintain_order=True).to_list():
        rows = split.filter(pl.col("part") == part)
        figure.add_trace(
            go.Bar(
                orientation="h",
                name=part,
                y=rows["row"].to_list(),
                x=rows["ms"].to_list(),
                marker_color=TIME_PART_COLORS.get(part, UNKNOWN_COLOR),
                text=[f"{part} {ms / total:.0%}" for ms in rows["ms"].to_list()],
                textposition="inside",
                hovertemplate=f"{part}: %{{x:,.0f}} ms<extra></extra>",
            )
        )
    figure.update_layout(
        barmode="stack",
        height=120 + 40 * split["row"].n_unique(),
        margin={"l": 10, "r": 10, "t": 30, "b": 40},
        xaxis_title="ms",
        yaxis={"autorange": "reversed"},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "traceorder": "normal"},
    )
    return figure


def highlight_span(figure: go.Figure, span_id: str | None) -> go.Figure:
    """Dim every Gantt bar but the selected span's (a no-op when it has no bar of its own)."""
    bar = figure.data[0] if figure.data else None
    ids = list(bar.customdata) if bar is not None and bar.customdata is not None else []
    if span_id in ids:
        bar.selectedpoints = [ids.index(span_id)]
        bar.unselected = {"marker": {"opacity": 0.3}}
    return figure


def context_parts(turns: pl.DataFrame) -> pl.DataFrame:
    """Per turn: cached, not-cached and cache-not-recorded input tokens."""
    known = pl.col("cache_read_tokens").is_not_null()
    return turns.select(
        "turn",
        plotly_text("model").alias("model"),  # trace text shown in a hover: made literal
        cached=pl.when(known).then(pl.col("cache_read_tokens")),
        not_cached=pl.when(known).then(pl.col("input_tokens") - pl.col("cache_read_tokens")),
        cache_unknown=pl.when(~known).then(pl.col("input_tokens")),
    )


def build_context_growth_figure(turns: pl.DataFrame) -> go.Figure:
    """Input tokens per turn, split into the part read from cache and the rest."""
    parts = context_parts(turns)
    figure = go.Figure()
    for column, name, color in (
        ("cached", "cached input", CACHED_COLOR),
        ("not_cached", "input not cached", UNCACHED_COLOR),
        ("cache_unknown", "input, cache not recorded", UNKNOWN_COLOR),
    ):
        if parts[column].null_count() == parts.height:
            continue
        figure.add_trace(
            go.Bar(
                name=name,
                x=parts["turn"].to_list(),
                y=parts[column].to_list(),
                marker_color=color,
                customdata=parts["model"].to_list(),
                hovertemplate=f"turn %{{x}} · %{{customdata}}<br>{name}: %{{y:,}} tokens"
                "<extra></extra>",
            )
        )
    return _turn_layout(figure, "input tokens", parts.height)


def build_turn_cost_figure(turns: pl.DataFrame) -> go.Figure:
    """Cost per turn in USD, the wasted part stacked in red, waste tags in the hover; a turn
    whose waste could not be measured is drawn apart, never as "not wasted"."""
    measured = pl.col("waste_usd").is_not_null()
    rows = turns.select(
        "turn",
        wasted=pl.col("waste_usd"),
        rest=pl.when(measured).then(pl.col("cost_usd") - pl.col("waste_usd")),
        unmeasured=pl.when(~measured).then(pl.col("cost_usd")),
        tags=pl.when(measured)
        .then(category_names("waste_tags").fill_null("").replace("", "none"))
        .otherwise(pl.lit("not measurable (token or cache counts missing)")),
    )
    figure = go.Figure()
    for column, name, color in (
        ("wasted", "wasted", WASTED_COLOR),
        ("rest", "not wasted", USEFUL_COLOR),
        ("unmeasured", "waste not measurable", UNKNOWN_COLOR),
    ):
        if column == "unmeasured" and rows[column].null_count() == rows.height:
            continue
        figure.add_trace(
            go.Bar(
                name=name,
                x=rows["turn"].to_list(),
                y=rows[column].to_list(),
                marker_color=color,
                customdata=rows["tags"].to_list(),
                hovertemplate=f"turn %{{x}}<br>{name}: $%{{y:.5f}}<br>waste: %{{customdata}}"
                "<extra></extra>",
            )
        )
    return _turn_layout(figure, "USD", rows.height, USD_AXIS)


def build_cumulative_cost_figure(aligned: pl.DataFrame) -> go.Figure:
    """Cumulative cost per turn of two aligned runs (`a_cost_usd`, `b_cost_usd`)."""
    figure = go.Figure()
    for side in ("A", "B"):
        cost = aligned[f"{side.lower()}_cost_usd"]
        present = aligned.filter(cost.is_not_null())
        figure.add_trace(
            go.Scatter(
                name=f"{side}",
                x=present["turn"].to_list(),
                y=present[f"{side.lower()}_cost_usd"].cum_sum().to_list(),
                mode="lines+markers",
                line_color=SIDE_COLORS[side],
                hovertemplate=f"{side} turn %{{x}}: $%{{y:.4f}} so far<extra></extra>",
            )
        )
    return _turn_layout(figure, "cumulative USD", aligned.height, USD_AXIS)


# A tick on every turn up to this many turns; beyond, plotly's own (whole-number) ticks. One
# tick per turn of a 1,381-turn run froze the browser for minutes while plotly measured and
# hid overlapping labels, and drew them as a grey smear.
TICK_EVERY_TURN_UP_TO = 30


def _turn_layout(
    figure: go.Figure, y_title: str, turns: int, y_axis: dict | None = None
) -> go.Figure:
    ticks = {"dtick": 1} if turns <= TICK_EVERY_TURN_UP_TO else {"tickformat": "d"}
    figure.update_layout(
        barmode="stack",
        height=320,
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
        xaxis={"title": "turn", "rangemode": "nonnegative", **ticks},
        yaxis={"title": y_title, "rangemode": "nonnegative", **(y_axis or {})},
        legend={"orientation": "h", "y": 1.12},
    )
    return figure
