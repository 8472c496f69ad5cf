"""Charts of the Models & cost page: tokens by kind, listed against effective prices, spend
per model, and the price-reversal heatmap. Pure `build_*_figure(frame) -> go.Figure`
functions drawn the way `ui.fleet_figures` draws the other fleet pages' charts.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go
import polars as pl

from ui.fleet_figures import BASE, MUTED, axis_labels, bar_values, figure_layout
from ui.format import USD_AXIS
from ui.timeline import plotly_text

TOKEN_KINDS = (  # (column of build_tokens_by_kind_figure's input, label, colour)
    ("uncached_input", "Input, not cached", "#4f46e5"),
    ("cache_read_tokens", "Input, cache read", "#a5b4fc"),
    ("cache_write_tokens", "Input, cache write", "#06b6d4"),
    ("cache_unknown_input_tokens", "Input, cache not recorded", "#cbd5e1"),
    ("visible_output", "Output, visible", "#f59e0b"),
    ("reasoning_tokens", "Output, reasoning", "#ef4444"),
    ("reasoning_unknown_output_tokens", "Output, reasoning not recorded", "#e2e8f0"),
)
# Diverging with a step at 1x: any reversed pair is red, however small the gap.
REVERSAL_SCALE = [[0, "#059669"], [0.5, "#d1fae5"], [0.5, "#fee2e2"], [1, "#dc2626"]]


def token_kinds(stats: pl.DataFrame) -> pl.DataFrame:
    """Per model, tokens split into the kinds of TOKEN_KINDS (None where there are none):
    input and output of calls that recorded no cache or reasoning count form kinds of their
    own, so the chart never draws them as uncached input or visible output."""
    counts = (
        "input_tokens",
        "output_tokens",
        "reasoning_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "cache_unknown_input_tokens",
        "reasoning_unknown_output_tokens",
    )
    frame = stats.select("model", *(pl.col(c).cast(pl.Float64) for c in counts))
    known = {c: pl.col(c).fill_null(0) for c in counts}
    return frame.with_columns(
        uncached_input=pl.col("input_tokens")
        - known["cache_unknown_input_tokens"]
        - known["cache_read_tokens"]
        - known["cache_write_tokens"],
        visible_output=pl.col("output_tokens")
        - known["reasoning_unknown_output_tokens"]
        - known["reasoning_tokens"],
    ).with_columns(  # all of a model's input in the unknown kind: none in the others
        pl.when(pl.col(c) != 0).then(pl.col(c)).alias(c)
        for c in ("uncached_input", "visible_output")
    )


def build_tokens_by_kind_figure(stats: pl.DataFrame) -> go.Figure:
    """Stacked horizontal bars per model (`analysis.fleet.model_stats`) of tokens by kind."""
    kinds = token_kinds(stats)
    models = axis_labels(kinds, "model")
    figure = go.Figure()
    for column, label, color in TOKEN_KINDS:
        figure.add_trace(
            go.Bar(
                y=models,
                x=bar_values(kinds, column),
                name=label,
                orientation="h",
                marker_color=color,
            )
        )
    figure.update_layout(barmode="stack", legend={"y": 1.02, "yanchor": "bottom"})
    figure.update_xaxes(title_text="tokens")
    figure.update_yaxes(autorange="reversed")
    return figure_layout(figure, height=max(260, 40 * len(models) + 120))


def build_price_figure(stats: pl.DataFrame) -> go.Figure:
    """Per model: listed input and output $/Mtok beside the effective $/Mtok actually paid
    (cost of computed calls / their tokens, cache discounts included). Log scale."""
    models = axis_labels(stats, "model")
    series = (
        ("listed_input_per_mtok", "Listed input $/Mtok", "#a5b4fc"),
        ("listed_output_per_mtok", "Listed output $/Mtok", "#f59e0b"),
        ("effective_usd_per_mtok", "Effective $/Mtok (all tokens)", BASE),
    )
    figure = go.Figure(
        [
            go.Bar(
                y=models,
                x=bar_values(stats, column),
                name=label,
                marker_color=color,
                orientation="h",
            )
            for column, label, color in series
        ]
    )
    figure.update_layout(barmode="group", legend={"y": 1.02, "yanchor": "bottom"})
    figure.update_xaxes(
        title_text="USD per 1M tokens (log scale)", type="log", dtick=1, tickprefix="$"
    )
    figure.update_yaxes(autorange="reversed")
    return figure_layout(figure, height=max(300, 60 * len(models) + 120))


def build_spend_figure(stats: pl.DataFrame) -> go.Figure:
    """Where the money went: total cost (USD) of each model's calls, coloured by tier."""
    tier_colors = {"small": "#10b981", "medium": "#f59e0b", "large": "#ef4444"}
    figure = go.Figure(
        go.Bar(
            y=axis_labels(stats, "model"),
            x=bar_values(stats, "cost_usd"),
            orientation="h",
            marker_color=[tier_colors.get(t, MUTED) for t in stats["tier"].to_list()],
            text=[f"{t or 'no tier'}" for t in stats["tier"].to_list()],
            textposition="auto",
            hovertemplate="%{y}: $%{x:.4f} (%{text})<extra></extra>",
        )
    )
    figure.update_xaxes(title_text="cost of its calls (USD)", **USD_AXIS)
    figure.update_yaxes(autorange="reversed")
    return figure_layout(figure, height=max(240, 40 * stats.height + 100))


def build_reversal_figure(matrix: pl.DataFrame) -> go.Figure:
    """Heatmap of `analysis.reversal.reversal_matrix`: rows the cheaper-listed model, columns
    the pricier one, colour log2(cost ratio); above 1× (red) the pair is reversed."""
    matrix = matrix.with_columns(plotly_text("cheaper_model"), plotly_text("pricier_model"))
    rows = sorted(set(matrix["cheaper_model"].to_list()))
    cols = sorted(set(matrix["pricier_model"].to_list()))
    z = [[None] * len(cols) for _ in rows]
    text = [[""] * len(cols) for _ in rows]
    for pair in matrix.iter_rows(named=True):
        i, j = rows.index(pair["cheaper_model"]), cols.index(pair["pricier_model"])
        ratio = pair["magnitude"]
        z[i][j] = math.log2(ratio) if ratio else None
        verdict = "reversed" if pair["reversed"] else "as listed"
        label = f"{ratio:.2f}× · {verdict}<br>driver: {pair['driver']}"
        text[i][j] = label if ratio else "no cost"
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=cols,
            y=rows,
            text=text,
            texttemplate="%{text}",
            zmid=0,
            colorscale=REVERSAL_SCALE,
            colorbar={"title": {"text": "log2 cost ratio"}},
            hovertemplate="%{y} vs %{x}<br>%{text}<extra></extra>",
        )
    )
    figure.update_xaxes(title_text="pricier listed model")
    figure.update_yaxes(title_text="cheaper listed model")
    return figure_layout(figure, height=max(260, 70 * len(rows) + 120))
