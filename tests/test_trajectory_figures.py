"""The Trajectory and Compare figures: exact trace data from hand-made frames."""

from __future__ import annotations

import json

import polars as pl
import pytest

from ui.timeline import build_timeline_figure
from ui.trajectory_figures import (
    CACHED_COLOR,
    UNCACHED_COLOR,
    UNKNOWN_COLOR,
    WASTED_COLOR,
    build_context_growth_figure,
    build_cumulative_cost_figure,
    build_time_split_figure,
    build_turn_cost_figure,
    context_parts,
    highlight_span,
    time_split_frame,
)

RUN = {"model_ms": 600.0, "tool_ms": 300.0, "idle_ms": 100.0, "llm_calls": 2}


def test_time_split_frame_has_the_three_parts():
    frame = time_split_frame({**RUN, "ttft_ms": None, "ttft_calls": 0})
    assert frame.rows() == [
        ("wall time", "model", 600.0),
        ("wall time", "tool", 300.0),
        ("wall time", "idle", 100.0),
    ]


def test_time_split_frame_adds_first_token_only_when_every_call_recorded_it():
    full = time_split_frame({**RUN, "ttft_ms": 150.0, "ttft_calls": 2})
    assert full.filter(pl.col("row") == "model time").rows() == [
        ("model time", "first token", 150.0),
        ("model time", "generation", 450.0),
    ]
    partial = time_split_frame({**RUN, "ttft_ms": 80.0, "ttft_calls": 1})
    assert partial["row"].unique().to_list() == ["wall time"]


def test_time_split_frame_is_empty_when_a_part_is_unknown():
    assert time_split_frame({**RUN, "tool_ms": None}).is_empty()


def test_time_split_figure_stacks_the_parts_with_their_share():
    figure = build_time_split_figure(time_split_frame({**RUN, "ttft_calls": 0}))
    assert figure.layout.barmode == "stack"
    assert [bar.name for bar in figure.data] == ["model", "tool", "idle"]
    assert [list(bar.x) for bar in figure.data] == [[600.0], [300.0], [100.0]]
    assert [list(bar.text) for bar in figure.data] == [["model 60%"], ["tool 30%"], ["idle 10%"]]


TURNS = pl.DataFrame(
    {
        "turn": [1, 2, 3],
        "model": ["m", "m", "m"],
        "input_tokens": [1000, 1500, 2000],
        "cache_read_tokens": [0, 900, None],
        "cost_usd": [0.01, 0.02, 0.03],
        "waste_usd": [0.0, 0.005, None],
        "waste_tags": [None, "stagnation", None],
    }
)


def test_context_parts_keep_unknown_cache_unknown():
    assert context_parts(TURNS).rows() == [
        (1, "m", 0, 1000, None),
        (2, "m", 900, 600, None),
        (3, "m", None, None, 2000),
    ]


def test_context_growth_figure_draws_cached_uncached_and_unknown():
    figure = build_context_growth_figure(TURNS)
    assert [bar.name for bar in figure.data] == [
        "cached input",
        "input not cached",
        "input, cache not recorded",
    ]
    assert [bar.marker.color for bar in figure.data] == [
        CACHED_COLOR,
        UNCACHED_COLOR,
        UNKNOWN_COLOR,
    ]
    assert list(figure.data[0].y) == [0, 900, None]
    assert list(figure.data[1].y) == [1000, 600, None]
    assert list(figure.data[2].y) == [None, None, 2000]


def test_context_growth_figure_omits_the_unknown_series_when_all_is_known():
    figure = build_context_growth_figure(TURNS.head(2))
    assert [bar.name for bar in figure.data] == ["cached input", "input not cached"]


def test_turn_cost_figure_splits_wasted_from_the_rest():
    figure = build_turn_cost_figure(TURNS)
    wasted, rest, unmeasured = figure.data
    assert (wasted.name, wasted.marker.color) == ("wasted", WASTED_COLOR)
    assert list(wasted.y) == [0.0, 0.005, None]
    assert list(rest.y) == [pytest.approx(0.01), pytest.approx(0.015), None]
    # turn 3's waste is unknown: its cost is drawn apart, not as "not wasted"
    assert (unmeasured.name, unmeasured.marker.color) == ("waste not measurable", UNKNOWN_COLOR)
    assert list(unmeasured.y) == [None, None, 0.03]
    assert list(wasted.customdata) == [
        "none",
        "stagnation",
        "not measurable (token or cache counts missing)",
    ]
    measured = build_turn_cost_figure(TURNS.head(2))
    assert [bar.name for bar in measured.data] == ["wasted", "not wasted"]


def test_dollar_axes_read_as_dollars_not_si_prefixes():
    """A walkthrough: per-turn waste of $0.0008 was labelled "800μ" (plotly's SI default)."""
    aligned = pl.DataFrame({"turn": [1], "a_cost_usd": [0.0008], "b_cost_usd": [0.0005]})
    for figure in (build_turn_cost_figure(TURNS), build_cumulative_cost_figure(aligned)):
        axis = figure.layout.yaxis
        assert (axis.tickprefix, axis.exponentformat, axis.separatethousands) == ("$", "none", True)
    assert build_turn_cost_figure(TURNS).layout.yaxis.title.text == "USD"
    # QA: a run with no cost drew "$-1 … $1"; costs and tokens are never negative
    assert build_turn_cost_figure(TURNS).layout.yaxis.rangemode == "nonnegative"


def test_cumulative_cost_figure_sums_each_side_over_its_own_turns():
    aligned = pl.DataFrame(
        {"turn": [1, 2, 3], "a_cost_usd": [0.1, 0.2, 0.3], "b_cost_usd": [0.01, 0.02, None]}
    )
    a, b = build_cumulative_cost_figure(aligned).data
    assert (a.name, list(a.x)) == ("A", [1, 2, 3])
    assert list(a.y) == pytest.approx([0.1, 0.3, 0.6])
    assert (list(b.x), list(b.y)) == ([1, 2], pytest.approx([0.01, 0.03]))


@pytest.mark.parametrize(("turns", "dtick"), [(3, 1), (30, 1), (31, None), (1381, None)])
def test_turn_charts_tick_every_turn_only_while_the_labels_fit(turns, dtick):
    """One tick per turn of a 1,381-turn run froze the browser for minutes (plotly measuring
    and hiding overlapping labels) and drew them as a grey smear."""
    aligned = pl.DataFrame(
        {
            "turn": list(range(1, turns + 1)),
            "a_cost_usd": [0.1] * turns,
            "b_cost_usd": [0.2] * turns,
        }
    )
    axis = build_cumulative_cost_figure(aligned).layout.xaxis
    assert axis.dtick == dtick
    assert axis.tickformat == (None if dtick else "d")  # whole turns, never "2.5"


def spans_frame() -> pl.DataFrame:
    start = pl.datetime(2026, 1, 1, time_zone="UTC")
    return pl.DataFrame({"span_id": ["a", "b", "c"], "offset": [0, 1, 2]}).with_columns(
        start_time=start + pl.duration(seconds=pl.col("offset")),
        end_time=start + pl.duration(seconds=pl.col("offset") + 1),
        duration_ms=pl.lit(1000.0),
        seq=pl.lit(None, pl.Int64),
        name=pl.lit("x"),
        kind=pl.lit("llm"),
        status=pl.lit("ok"),
        model=pl.lit(None, pl.String),
        input_tokens=pl.lit(None, pl.Int64),
        output_tokens=pl.lit(None, pl.Int64),
        tool_name=pl.lit(None, pl.String),
    )


def test_highlight_span_selects_only_that_bar():
    figure = highlight_span(build_timeline_figure(spans_frame()), "b")
    assert figure.data[0].selectedpoints == (1,)
    assert figure.data[0].unselected.marker.opacity == 0.3


def test_highlight_span_ignores_an_unknown_span():
    figure = highlight_span(build_timeline_figure(spans_frame()), "zzz")
    assert figure.data[0].selectedpoints is None


HOSTILE = "<b>x</b>&<br>"
ESCAPED = "&lt;b&gt;x&lt;/b&gt;&amp;&lt;br&gt;"


def test_context_growth_hover_shows_a_hostile_model_literally():
    turns = TURNS.with_columns(model=pl.lit(HOSTILE))
    bars = json.loads(build_context_growth_figure(turns).to_json())["data"]
    assert [bar["customdata"] for bar in bars] == [[ESCAPED] * 3] * 3
    assert bars[0]["hovertemplate"] == (
        "turn %{x} · %{customdata}<br>cached input: %{y:,} tokens<extra></extra>"
    )
