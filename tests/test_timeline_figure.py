"""build_timeline_figure: one bar trace, errors outlined, bounded size for huge trajectories."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import polars as pl

from ui.timeline import ERROR_OUTLINE, KIND_COLORS, build_timeline_figure

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def spans(n: int, names: int = 3, step_ms: int = 10, width_ms: int = 15) -> pl.DataFrame:
    rows = []
    for i in range(n):
        start = T0 + timedelta(milliseconds=i * step_ms)
        rows.append(
            {
                "trace_id": "t",
                "span_id": f"s{i}",
                "name": f"tool{i % names}",
                "kind": "llm" if i % 2 == 0 else "tool",
                "status": "error" if i == 3 else "ok",
                "start_time": start,
                "end_time": start + timedelta(milliseconds=width_ms),
                "duration_ms": float(width_ms),
                "seq": i,
                "model": "gpt-4.1" if i % 2 == 0 else None,
                "input_tokens": 100 if i % 2 == 0 else None,
                "output_tokens": 7 if i % 2 == 0 else None,
                "tool_name": None if i % 2 == 0 else "grep",
            }
        )
    return pl.DataFrame(rows)


def test_one_bar_per_span_with_offsets_and_kind_colours():
    figure = build_timeline_figure(spans(4))
    (bar,) = figure.data
    assert bar.type == "bar" and bar.orientation == "h"
    assert list(bar.base) == [0.0, 10.0, 20.0, 30.0]
    assert list(bar.x) == [15.0, 15.0, 15.0, 15.0]
    # a tool span whose name does not say its tool (as smolagents' `SimpleTool`) names it
    assert list(bar.y) == ["1 · tool0", "2 · grep (tool1)", "3 · tool2", "4 · grep (tool0)"]
    assert list(bar.marker.color) == [KIND_COLORS["llm"], KIND_COLORS["tool"]] * 2
    assert list(bar.marker.line.color).count(ERROR_OUTLINE) == 1
    assert bar.marker.line.color[3] == ERROR_OUTLINE
    assert list(bar.customdata) == ["s0", "s1", "s2", "s3"]


def test_model_calls_are_named_by_their_turn_as_the_turn_tables_do():
    (bar,) = build_timeline_figure(spans(4), {"s0": "turn 1", "s2": "turn 2"}).data
    assert list(bar.y) == [
        "1 · tool0 · turn 1", "2 · grep (tool1)", "3 · tool2 · turn 2", "4 · grep (tool0)",
    ]  # fmt: skip


def test_hover_names_model_tokens_and_duration():
    hover = build_timeline_figure(spans(2)).data[0].hovertext
    assert (
        hover[0]
        == "tool0<br>kind: llm · status: ok<br>duration: 15.0 ms<br>model: gpt-4.1<br>tokens in/out: 100/7"
    )
    assert hover[1] == "tool1<br>kind: tool · status: ok<br>duration: 15.0 ms<br>tool: grep"


def test_many_spans_become_lanes():
    figure = build_timeline_figure(spans(300, names=3), max_rows=150, max_bars=2000)
    (bar,) = figure.data
    assert len(bar.x) == 300
    assert sorted(set(bar.y)) == [
        "llm · tool0",
        "llm · tool1",
        "llm · tool2",
        "tool · tool0",
        "tool · tool1",
        "tool · tool2",
    ]


def test_huge_trajectories_are_bucketed_to_a_bounded_figure():
    big = spans(5000, names=7)
    (bar,) = build_timeline_figure(big, max_rows=150, max_bars=2000).data
    assert len(bar.x) <= 2000
    represented = sum(int(h.split("<br>")[1].split(" spans")[0]) for h in bar.hovertext)
    assert represented == 5000
    # a click on a merged bar opens one of its spans: the failed one (s3) where there is one
    assert all(bar.customdata) and len(set(bar.customdata)) == len(bar.x)
    (failed,) = [i for i, hover in enumerate(bar.hovertext) if ", 1 failed" in hover]
    assert bar.customdata[failed] == "s3"
    assert bar.hovertext[failed].endswith("<br>click: a failed span")
    assert len(build_timeline_figure(big).to_json()) < 2_000_000


def test_without_times_the_recorded_order_is_shown():
    untimed = spans(3).with_columns(
        start_time=pl.lit(None, pl.Datetime("us", "UTC")),
        end_time=pl.lit(None, pl.Datetime("us", "UTC")),
    )
    figure = build_timeline_figure(untimed)
    assert list(figure.data[0].base) == [0.0, 1.0, 2.0]
    assert figure.layout.xaxis.title.text == "step (times not recorded)"


def test_trace_text_is_escaped_for_plotly():
    hostile = spans(1).with_columns(name=pl.lit("<img src=x onerror=alert(1)> & <b>"))
    (bar,) = build_timeline_figure(hostile).data
    assert bar.y[0] == "1 · &lt;img src=x onerror=alert(1)&gt; &amp; &lt;b&gt;"
    assert bar.hovertext[0].startswith(
        "&lt;img src=x onerror=alert(1)&gt; &amp; &lt;b&gt;<br>kind: llm"
    )


HOSTILE = "<b>x</b>&<br>"
ESCAPED = "&lt;b&gt;x&lt;/b&gt;&amp;&lt;br&gt;"


def hostile_spans(n: int) -> pl.DataFrame:
    return spans(n, names=1).with_columns(
        name=pl.lit(HOSTILE),
        model=pl.when(pl.col("model").is_not_null()).then(pl.lit(HOSTILE)),
        tool_name=pl.when(pl.col("tool_name").is_not_null()).then(pl.lit(HOSTILE)),
    )


def test_hostile_model_and_tool_names_reach_plotly_as_entities():
    (bar,) = json.loads(build_timeline_figure(hostile_spans(2)).to_json())["data"]
    assert bar["y"] == [f"1 · {ESCAPED}", f"2 · {ESCAPED}"]
    assert bar["hovertext"] == [
        f"{ESCAPED}<br>kind: llm · status: ok<br>duration: 15.0 ms<br>model: {ESCAPED}"
        "<br>tokens in/out: 100/7",
        f"{ESCAPED}<br>kind: tool · status: ok<br>duration: 15.0 ms<br>tool: {ESCAPED}",
    ]


def test_hostile_names_stay_entities_in_lanes_and_buckets():
    (bar,) = json.loads(
        build_timeline_figure(hostile_spans(40), max_rows=10, max_bars=4).to_json()
    )["data"]
    assert bar["y"] == [f"{kind} · {ESCAPED}" for kind in ("llm", "tool", "tool", "llm")]
    assert bar["hovertext"] == [
        f"llm · {ESCAPED}<br>11 spans, 0 failed<br>click: its longest span",
        f"tool · {ESCAPED}<br>10 spans, 1 failed<br>click: a failed span",
        f"tool · {ESCAPED}<br>10 spans, 0 failed<br>click: its longest span",
        f"llm · {ESCAPED}<br>9 spans, 0 failed<br>click: its longest span",
    ]


def test_the_span_picker_names_a_tool_as_the_timeline_rows_do():
    from ui.span_inspector import span_labels

    labels = span_labels(spans(2), {"s0": "turn 1"})
    assert list(labels.values()) == ["1. llm · tool0 · turn 1", "2. tool · grep (tool1)"]


def test_a_span_without_an_end_keeps_the_numbers_of_the_span_picker():
    """QA: a failed call with no end time (a 429) is not drawn, and every bar after it was
    numbered one less than the picker numbers the same span."""
    from ui.span_inspector import span_labels
    from ui.timeline import untimed_count

    frame = spans(4).with_columns(
        end_time=pl.when(pl.col("span_id") == "s1").then(None).otherwise(pl.col("end_time"))
    )
    (bar,) = build_timeline_figure(frame).data
    assert list(bar.y) == ["1 · tool0", "3 · tool2", "4 · grep (tool0)"]
    picker = list(span_labels(frame, {}).values())
    assert [label.split(".")[0] for label in picker] == ["1", "2", "3", "4"]
    assert picker[2] == "3. llm · tool2"
    assert untimed_count(frame) == 1
