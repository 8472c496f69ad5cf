"""The trajectory Gantt: one Plotly bar trace, whatever the number of spans.

Drawing one shape or trace per span is quadratic in Plotly; a single horizontal `go.Bar`
with `base` = start offset stays fast. Past `max_rows` spans the rows become one lane per
(kind, name), and past `max_bars` the spans of each lane are merged per time bucket, so a
2,000+ span trajectory still sends a bounded figure.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go
import polars as pl

KIND_COLORS = {
    "agent": "#64748b",
    "chain": "#94a3b8",
    "llm": "#4f46e5",
    "tool": "#f59e0b",
    "retrieval": "#10b981",
    "embedding": "#06b6d4",
    "other": "#cbd5e1",
}
ERROR_OUTLINE = "#dc2626"
MAX_ROWS = 150
MAX_BARS = 2000
LANES_SHOWN = 40


def untimed_count(spans: pl.DataFrame) -> int:
    """Spans the timeline cannot draw: no recorded start or end."""
    return spans.filter(pl.col("start_time").is_null() | pl.col("end_time").is_null()).height


def build_timeline_figure(
    spans: pl.DataFrame,
    turn_names: dict[str, str] | None = None,
    max_rows: int = MAX_ROWS,
    max_bars: int = MAX_BARS,
) -> go.Figure:
    """Gantt of one trajectory's spans (canonical columns), offsets in ms from its start;
    `turn_names` (span id -> "turn 4") names the model calls as the turn tables do."""
    # numbered as the span picker numbers them, untimed spans included (not drawn)
    numbered = spans.with_row_index("position", offset=1)
    timed = numbered.filter(pl.col("start_time").is_not_null() & pl.col("end_time").is_not_null())
    if timed.is_empty():
        return _step_figure(spans)
    bars = _bars(timed, turn_names or {})
    if bars.height > max_rows:
        bars = _lanes(bars)
        if bars.height > max_bars:
            bars = _bucketed(bars, max_bars)
    return _figure(bars, x_title="ms since the trajectory started")


def plotly_text(column: str) -> pl.Expr:
    """Trace text made literal for Plotly, whose labels and hovers read a subset of HTML."""
    return (
        pl.col(column).cast(pl.String).str.replace_many(["&", "<", ">"], ["&amp;", "&lt;", "&gt;"])
    )


def span_title() -> pl.Expr:
    """A span's name as the timeline rows and the span picker show it; a tool span whose name
    does not say its tool (smolagents' `SimpleTool`) adds it: `get_weather (SimpleTool)`."""
    tool = pl.col("tool_name")
    says_tool = tool.is_null() | pl.col("name").str.contains(tool, literal=True)
    return (
        pl.when((pl.col("kind") == "tool") & ~says_tool.fill_null(False))
        .then(pl.format("{} ({})", tool, pl.col("name")))
        .otherwise(pl.col("name"))
    )


def _escaped(frame: pl.DataFrame) -> pl.DataFrame:
    present = [c for c in ("name", "model", "tool_name", "kind", "status") if c in frame.columns]
    return frame.with_columns(plotly_text(c) for c in present)


def _bars(timed: pl.DataFrame, turn_names: dict[str, str]) -> pl.DataFrame:
    origin = timed["start_time"].min()
    ordered = _escaped(timed).sort(["start_time", "seq"], nulls_last=True)
    turn = pl.col("span_id").replace_strict(
        {span: f" · {name}" for span, name in turn_names.items()},
        default="",
        return_dtype=pl.String,
    )
    return ordered.with_columns(
        offset_ms=(pl.col("start_time") - origin).dt.total_microseconds() / 1000,
        width_ms=pl.max_horizontal(pl.col("duration_ms").fill_null(0), pl.lit(0.5)),
        row=pl.format("{} · {}{}", pl.col("position"), span_title(), turn),
        count=pl.lit(1),
        hover=_hover_expr(),
    )


def _hover_expr() -> pl.Expr:
    tokens = pl.when(pl.col("input_tokens").is_not_null() | pl.col("output_tokens").is_not_null())
    return pl.concat_str(
        [
            pl.col("name"),
            pl.format("<br>kind: {} · status: {}", pl.col("kind"), pl.col("status")),
            pl.format("<br>duration: {} ms", pl.col("duration_ms").round(1)),
            pl.when(pl.col("model").is_not_null()).then(
                pl.format("<br>model: {}", pl.col("model"))
            ),
            tokens.then(
                pl.format(
                    "<br>tokens in/out: {}/{}",
                    pl.col("input_tokens").cast(pl.String).fill_null("?"),
                    pl.col("output_tokens").cast(pl.String).fill_null("?"),
                )
            ),
            pl.when(pl.col("tool_name").is_not_null()).then(
                pl.format("<br>tool: {}", pl.col("tool_name"))
            ),
        ],
        ignore_nulls=True,
    )


def _lanes(bars: pl.DataFrame) -> pl.DataFrame:
    """One row per (kind, name); the rarest names share an 'other spans' lane."""
    top = bars.group_by("kind", "name").len().sort("len", descending=True).head(LANES_SHOWN)
    keep = top.select(pl.format("{} · {}", "kind", "name").alias("lane"))["lane"]
    lane = pl.format("{} · {}", "kind", "name")
    return bars.with_columns(
        row=pl.when(lane.is_in(keep.implode())).then(lane).otherwise(pl.lit("other spans"))
    )


def _bucketed(bars: pl.DataFrame, max_bars: int) -> pl.DataFrame:
    """Merge each lane's spans per time bucket: a bar says how many spans it stands for, and
    a click on it opens one of them (a failed one if any, else its longest): merged bars
    once carried no span, and clicking them did nothing."""
    lanes = bars["row"].n_unique()
    buckets = max(1, max_bars // max(lanes, 1))
    span_ms = float(bars.select((pl.col("offset_ms") + pl.col("width_ms")).max()).item()) or 1.0
    size = math.ceil(span_ms / buckets) or 1
    merged = (
        bars.with_columns(bucket=(pl.col("offset_ms") // size).cast(pl.Int64))
        .group_by("row", "bucket")
        .agg(
            offset_ms=pl.col("offset_ms").min(),
            end_ms=(pl.col("offset_ms") + pl.col("width_ms")).max(),
            count=pl.len(),
            kind=pl.col("kind").mode().first(),
            errors=(pl.col("status") == "error").sum(),
            span_id=pl.col("span_id")
            .sort_by(pl.col("status") != "error", -pl.col("width_ms"), pl.col("offset_ms"))
            .first(),
        )
    )
    return merged.with_columns(
        width_ms=pl.col("end_ms") - pl.col("offset_ms"),
        status=pl.when(pl.col("errors") > 0).then(pl.lit("error")).otherwise(pl.lit("ok")),
        hover=pl.format(
            "{}<br>{} spans, {} failed<br>click: {} span",
            pl.col("row"),
            pl.col("count"),
            pl.col("errors"),
            pl.when(pl.col("errors") > 0).then(pl.lit("a failed")).otherwise(pl.lit("its longest")),
        ),
    ).sort("offset_ms")


def _step_figure(spans: pl.DataFrame) -> go.Figure:
    """Without timestamps, show the recorded order: one step per span."""
    ordered = _escaped(spans).sort("seq", nulls_last=True).with_row_index("step")
    bars = ordered.with_columns(
        offset_ms=pl.col("step").cast(pl.Float64),
        width_ms=pl.lit(0.9),
        row=pl.format("{} · {}", pl.col("step") + 1, pl.col("name")),
        count=pl.lit(1),
        hover=pl.format(
            "{}<br>kind: {} · status: {}<br>times not recorded", "name", "kind", "status"
        ),
    )
    return _figure(bars, x_title="step (times not recorded)")


def _figure(bars: pl.DataFrame, x_title: str) -> go.Figure:
    rows = bars["row"].unique(maintain_order=True).to_list()
    colors = [KIND_COLORS.get(kind, KIND_COLORS["other"]) for kind in bars["kind"].to_list()]
    outlines = [
        ERROR_OUTLINE if s == "error" else "rgba(0,0,0,0)" for s in bars["status"].to_list()
    ]
    figure = go.Figure(
        go.Bar(
            orientation="h",
            base=bars["offset_ms"].to_list(),
            x=bars["width_ms"].to_list(),
            y=bars["row"].to_list(),
            marker={"color": colors, "line": {"color": outlines, "width": 2}},
            hovertext=bars["hover"].to_list(),
            hoverinfo="text",
            customdata=bars["span_id"].to_list() if "span_id" in bars.columns else None,
        )
    )
    figure.update_layout(
        height=min(120 + 22 * len(rows), 1400),
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
        xaxis_title=x_title,
        yaxis={
            "categoryorder": "array",
            "categoryarray": rows,
            "autorange": "reversed",
            "automargin": True,  # the span names: the margin above is only a minimum
        },
        showlegend=False,
        bargap=0.25,
    )
    return figure
