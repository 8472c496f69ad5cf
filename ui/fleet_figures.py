"""Charts of the fleet pages: pure `build_*_figure(frame) -> go.Figure` functions.

Each takes the frame an `analysis` read returns and draws one trace per series (never one
per row), so a figure stays small however many trajectories are behind it. Unknown values
stay gaps (None), never zero bars. Bars that lead to trajectories carry their group key in
`customdata`, which the page reads back when a bar is clicked (none on the bar of runs
whose agent or model is not recorded: there is nothing to drill into). Model and agent
names come from traces and Plotly reads HTML in labels and hovers, so they are drawn
through `ui.timeline.plotly_text`; `customdata` keeps the raw key.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from analysis.waste import CATEGORIES
from ui.format import NOT_RECORDED, USD_AXIS, VERDICT_NAMES
from ui.names import CATEGORY_LABELS
from ui.timeline import plotly_text

CATEGORY_COLORS = {
    "stagnation": "#ef4444",
    "error_retry": "#f59e0b",
    "repeated_tool_call": "#8b5cf6",
    "uncached_context": "#06b6d4",
}
VERDICT_COLORS = {
    "escalation_needed": "#10b981",
    "escalation_premature": "#f59e0b",
    "escalation_futile": "#ef4444",
    "large_needed": "#4f46e5",
    "over_provisioned": "#f97316",
    "small_sufficient": "#22c55e",
    "undetermined": "#94a3b8",
}
HIGHLIGHT = "#ef4444"
BASE = "#4f46e5"
MUTED = "#94a3b8"


def figure_layout(figure: go.Figure, height: int = 320, **extra) -> go.Figure:
    figure.update_layout(
        height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10}, legend_orientation="h", **extra
    )
    return figure


def axis_labels(frame: pl.DataFrame, column: str) -> list[str | None]:
    """`column` of trace text as Plotly labels that show exactly its characters."""
    return frame.select(plotly_text(column)).to_series().to_list()


def bar_values(frame: pl.DataFrame, column: str) -> list:
    return [
        None if v is None or (isinstance(v, float) and math.isnan(v)) else v
        for v in frame[column].to_list()
    ]


TREND_DAYS = 90
HALF_DAY = timedelta(hours=12)
DAY_MS = 86_400_000
BAR_MS = 0.8 * DAY_MS  # a day's bar, also when it is the only one (plotly would draw a hairline)
FEW_DAYS = 10  # up to this many days apart, a day axis ticks every day (not every few hours)


def day_axis(figure: go.Figure, days: list, fit: bool = False) -> None:
    """Dates without times on a per-day axis; a short range gets one tick per day and half a
    day either side, so one day is one labelled bar, not ticks at 23:59:59.9995 and 00:00.
    With `fit`, the axis opens on `days` (half a day either side) whatever their range."""
    figure.update_xaxes(type="date", tickformat="%b %d")
    short = bool(days) and (days[-1] - days[0]).days < FEW_DAYS
    if days and (short or fit):
        first, last = (datetime.combine(day, time()) for day in (days[0], days[-1]))
        figure.update_xaxes(range=[first - HALF_DAY, last + HALF_DAY])
    if short:
        figure.update_xaxes(dtick=DAY_MS)


def build_trend_figure(daily: pl.DataFrame) -> go.Figure:
    """Four small panels per UTC day: runs, success rate, cost and waste (USD)."""
    figure = make_subplots(
        rows=1,
        cols=4,
        subplot_titles=("Trajectories", "Success rate (%)", "Cost (USD)", "Waste (USD)"),
        horizontal_spacing=0.06,
    )
    days = daily["day"].to_list()
    rate = [
        None if judged == 0 else 100 * ok / judged
        for ok, judged in zip(daily["successes"], daily["judged"], strict=True)
    ]
    panels = (
        (go.Bar(x=days, y=daily["trajectories"].to_list(), name="trajectories", width=BAR_MS), 1),
        (go.Scatter(x=days, y=rate, mode="lines+markers", name="success rate %"), 2),
        (go.Bar(x=days, y=bar_values(daily, "cost_usd"), name="cost USD", width=BAR_MS), 3),
        (
            go.Bar(
                x=days,
                y=bar_values(daily, "waste_usd"),
                name="waste USD",
                marker_color=HIGHLIGHT,
                width=BAR_MS,
            ),
            4,
        ),
    )
    for trace, col in panels:
        figure.add_trace(trace, row=1, col=col)
    figure.update_yaxes(rangemode="nonnegative")
    figure.update_yaxes(range=[0, 105], row=1, col=2)
    for col in (3, 4):
        figure.update_yaxes(**USD_AXIS, row=1, col=col)
    # One old run (a 2018 example file beside this year's traces) would squeeze every recent
    # day into a sliver: open on the runs of the last TREND_DAYS days, from the first of
    # them; double-click shows them all.
    shown = [day for day in days if (days[-1] - day).days < TREND_DAYS]
    earlier = len(days) - len(shown)
    day_axis(figure, shown, fit=earlier > 0)
    if earlier:
        figure.update_layout(
            title={"text": f"From {shown[0]:%Y-%m-%d}: {earlier} earlier "
                           f"{'day' if earlier == 1 else 'days'} with runs; double-click a panel for all",
                   "font": {"size": 12}, "x": 0, "y": 0.99}
        )  # fmt: skip
    return figure_layout(figure, height=260, showlegend=False)


def build_histogram_figure(
    bins: pl.DataFrame, x_title: str, scale: float = 1.0, color: str = BASE, usd: bool = False
) -> go.Figure:
    """Bars of `analysis.fleet_queries.histogram`, bin edges times `scale` (e.g. ms -> s); the
    open-ended last bin of a long tail says "and more"; `usd` for bins of dollars."""
    unit = "$" if usd else ""
    starts = [v * scale for v in bins["bin_start"].to_list()]
    ends = [v * scale for v in bins["bin_end"].to_list()]
    counts = bins["trajectories"].to_list()
    open_ended = bins["open_ended"].to_list()
    figure = go.Figure(
        go.Bar(
            x=starts,
            y=counts,
            width=[e - s for s, e in zip(starts, ends, strict=True)],
            offset=0,
            marker_color=color,
            hovertext=[
                f"{unit}{s:,.4g} and more: {n} trajectories"
                if tail
                else f"{unit}{s:,.4g} – {unit}{e:,.4g}: {n} trajectories"
                for s, e, n, tail in zip(starts, ends, counts, open_ended, strict=True)
            ],
            hoverinfo="text",
        )
    )
    figure.update_xaxes(title_text=x_title, **(USD_AXIS if usd else {}))
    figure.update_yaxes(title_text="trajectories")
    return figure_layout(figure, height=260, bargap=0.05)


def waste_totals(waste: pl.DataFrame) -> pl.DataFrame:
    """Rows of `analysis.fleet.waste_by` summed per key: `tokens` and `usd` sum the findings
    counted (with the amount, in a run whose waste is measured; None when none is), and
    `*_unknown` counts the others, so a total with uncounted parts is read as "at least"."""
    findings = pl.col("findings").sum()
    return waste.group_by("key", maintain_order=True).agg(
        findings=findings,
        tokens=pl.when(pl.col("findings_with_tokens").sum() > 0).then(
            pl.col("tokens").cast(pl.Float64).sum()
        ),
        tokens_unknown=findings - pl.col("findings_with_tokens").sum(),
        usd=pl.when(pl.col("findings_with_usd").sum() > 0).then(pl.col("usd").sum()),
        usd_unknown=findings - pl.col("findings_with_usd").sum(),
    )


def at_least(text: str, unknown: int, missing: str | None = None) -> str:
    """`text` of a sum, marked as a lower bound when `unknown` findings lack the amount, and
    with how many and what they lack (`missing`) when given."""
    if not unknown:
        return text
    if missing is None:
        return f"≥ {text}"
    word = "finding" if unknown == 1 else "findings"
    return f"≥ {text} ({unknown:,} {word} {missing})"


def build_waste_category_figure(waste: pl.DataFrame, base_tokens: float | None) -> go.Figure:
    """Share of all tokens wasted per category (every category shown; none found = 0 %).

    `waste` is `waste_by(con, "category")`; `base_tokens` the tokens the shares are of."""
    totals = {row["key"]: row for row in waste_totals(waste).iter_rows(named=True)}
    none_found = {"tokens": 0, "usd": 0.0, "tokens_unknown": 0, "usd_unknown": 0}
    shares, texts, hovers = [], [], []
    for category in CATEGORIES:
        row = totals.get(category, none_found)
        tokens, usd = row["tokens"], row["usd"]
        shares.append(100 * tokens / base_tokens if tokens is not None and base_tokens else None)
        parts = []  # (short, with the counts of what is missing) for the bar and its hover
        for amount, text, unknown, missing, unit in (
            (
                tokens,
                f"{tokens or 0:,.0f} tokens",
                row["tokens_unknown"],
                "not counted",
                "tokens",
            ),
            (usd, f"${usd or 0:,.4f}", row["usd_unknown"], "not counted", "USD"),
        ):
            if amount is None:
                parts.append((f"{unit} not recorded",) * 2)
            else:
                parts.append((at_least(text, unknown), at_least(text, unknown, missing)))
        texts.append(" · ".join(short for short, _ in parts))
        hovers.append(" · ".join(full for _, full in parts))
    figure = go.Figure(
        go.Bar(
            y=[CATEGORY_LABELS[c] for c in CATEGORIES],
            x=shares,
            orientation="h",
            marker_color=[CATEGORY_COLORS[c] for c in CATEGORIES],
            text=texts,
            # a bar of no width has no room inside: its text ("0 tokens") goes beside it
            textposition=["auto" if share else "outside" for share in shares],
            cliponaxis=False,
            hovertext=hovers,
            customdata=list(CATEGORIES),
            hovertemplate="%{y}: %{x:.1f}% of tokens<br>%{hovertext}<extra></extra>",
        )
    )
    figure.update_xaxes(title_text="% of all tokens", rangemode="tozero")
    figure.update_yaxes(autorange="reversed")
    return figure_layout(figure, height=260)


def build_waste_by_figure(waste: pl.DataFrame, value: str = "usd", by: str = "agent") -> go.Figure:
    """Stacked bars of `waste_by(con, by)`, one trace per category: horizontal bars per
    agent or model (long names stay readable), vertical bars on a date axis per day."""
    waste = waste.with_columns(pl.col("key").cast(pl.String))  # dates as their ISO text
    totals = waste_totals(waste)
    keys = totals["key"].to_list()
    labels = totals.select(plotly_text("key").fill_null(NOT_RECORDED)).to_series().to_list()
    over_time = by == "day"
    figure = go.Figure()
    for category in CATEGORIES:
        part = waste.filter(pl.col("category") == category)
        if not part.height:
            continue
        amounts = bar_values(part.with_columns(pl.col(value).cast(pl.Float64)), value)
        by_key = dict(zip(part["key"].to_list(), amounts, strict=True))
        values = [by_key.get(k) for k in keys]
        figure.add_trace(
            go.Bar(
                x=labels if over_time else values,
                y=values if over_time else labels,
                orientation="v" if over_time else "h",
                width=BAR_MS if over_time else None,
                name=CATEGORY_LABELS[category],
                marker_color=CATEGORY_COLORS[category],
                customdata=keys,
            )
        )
    amount_axis = {"title_text": f"wasted {'USD' if value == 'usd' else 'tokens'}"}
    if value == "usd":
        amount_axis |= USD_AXIS
    figure.update_layout(barmode="stack", legend={"y": 1.02, "yanchor": "bottom"})
    if over_time:
        day_axis(figure, sorted(date.fromisoformat(k) for k in keys if k is not None))
        figure.update_yaxes(**amount_axis)
        return figure_layout(figure)
    figure.update_xaxes(**amount_axis)
    figure.update_yaxes(type="category", autorange="reversed")
    return figure_layout(figure, height=max(260, 32 * len(keys) + 140))


def build_verdict_figure(counts: pl.DataFrame) -> go.Figure:
    """Trajectories per verdict (`analysis.fleet_queries.verdict_counts`)."""
    verdicts = [v or "no verdict" for v in counts["verdict"].to_list()]
    figure = go.Figure(
        go.Bar(
            y=[VERDICT_NAMES.get(v, v) for v in verdicts],
            x=counts["trajectories"].to_list(),
            orientation="h",
            marker_color=[VERDICT_COLORS.get(v, MUTED) for v in verdicts],
            text=counts["trajectories"].to_list(),
            textposition="outside",  # "auto" turned the counts sideways inside short bars
            textangle=0,
            cliponaxis=False,
            customdata=verdicts,
            hovertemplate="%{y}: %{x} trajectories<extra></extra>",
        )
    )
    # room beyond the longest bar for its count ("… 2388" was cut at the figure's edge)
    longest = max(counts["trajectories"].to_list(), default=0)
    figure.update_xaxes(title_text="trajectories", range=[0, max(longest, 1) * 1.15])
    figure.update_yaxes(autorange="reversed")
    return figure_layout(figure, height=280)


POLICY_LABELS = {"all_small": "all small", "all_large": "all large"}


def policy_label(policy: str, k: int | None) -> str:
    return POLICY_LABELS.get(policy, f"K={k}")


def shared_labels(labels: list[str], xs: list, ys: list) -> list[str]:
    """Labels of policies landing on the same point, joined and written at its first policy;
    empty labels (policies not named on the chart) are left out."""
    merged: dict[tuple, list[str]] = {}
    for label, x, y in zip(labels, xs, ys, strict=True):
        if label:
            merged.setdefault((x, y), []).append(label)
    seen, texts = set(), []
    for x, y in zip(xs, ys, strict=True):
        texts.append("" if (x, y) in seen else " = ".join(merged.get((x, y), [])))
        seen.add((x, y))
    return texts


def label_positions(xs: list) -> list[str]:
    """Text below-right of the first point, left of the rightmost, above-right elsewhere."""
    known = [x for x in xs if x is not None]
    right_edge = max(known) if known else None
    return [
        "top left" if x == right_edge else "bottom right" if i == 0 else "top right"
        for i, x in enumerate(xs)
    ]


def build_frontier_figure(
    routing: pl.DataFrame, x: str, selected_k: int, x_title: str, scale: float = 1.0
) -> go.Figure:
    """Success rate against cost or time per task for each routing policy
    (`analysis.routing.routing_table`), joined in table order. Only all-small, all-large and
    K=selected_k (marked red) are named; every point says its policy on hover."""
    labels = [policy_label(p, k) for p, k in zip(routing["policy"], routing["k"], strict=True)]
    xs = [None if v is None else v * scale for v in routing[x].to_list()]
    ys = [100 * v for v in routing["success_rate"].to_list()]
    selected = [k == selected_k for k in routing["k"].to_list()]
    named = [
        lab if s or k is None else ""
        for lab, s, k in zip(labels, selected, routing["k"], strict=True)
    ]
    figure = go.Figure(
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines+markers+text",
            text=shared_labels(named, xs, ys),
            hovertext=labels,
            textposition=label_positions(xs),
            marker={
                "size": [16 if s else 9 for s in selected],
                "color": [HIGHLIGHT if s else BASE for s in selected],
            },
            line={"color": MUTED, "dash": "dot"},
            hovertemplate="%{hovertext}: %{y:.0f}% success, %{x:.4g}<extra></extra>",
            showlegend=False,
        )
    )
    figure.update_xaxes(title_text=x_title)
    figure.update_yaxes(title_text="success rate (%)", range=[0, 110])
    return figure_layout(figure, height=320)
