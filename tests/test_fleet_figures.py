"""ui.fleet_figures: each builder draws exactly the numbers of its input frame, one trace
per series, with unknown values left as gaps (None), never as zero."""

from __future__ import annotations

import json
from datetime import date, datetime

import polars as pl
import pytest

from ui import fleet_figures as f
from ui import model_figures as mf


def test_trend_panels_show_runs_success_rate_cost_and_waste_per_day():
    daily = pl.DataFrame(
        {
            "day": [date(2026, 11, 1), date(2026, 11, 2)],
            "trajectories": [4, 1],
            "judged": [4, 0],
            "successes": [3, 0],
            "cost_usd": [0.5, None],
            "waste_usd": [0.1, None],
        }
    )
    runs, rate, cost, waste = f.build_trend_figure(daily).data
    assert list(runs.x) == [date(2026, 11, 1), date(2026, 11, 2)]
    assert list(runs.y) == [4, 1]
    assert list(rate.y) == [75.0, None]  # no judged run on day 2: no rate, not 0 %
    assert list(cost.y) == [0.5, None]
    assert list(waste.y) == [0.1, None]
    assert (runs.xaxis, rate.xaxis, cost.xaxis, waste.xaxis) == ("x", "x2", "x3", "x4")


def test_trend_panels_open_on_the_recent_days_when_one_old_run_stretches_the_axis():
    days = [date(2018, 6, 1), date(2026, 11, 1), date(2026, 11, 2)]
    daily = pl.DataFrame(
        {"day": days, "trajectories": [1, 4, 1], "judged": [0, 4, 0], "successes": [0, 3, 0],
         "cost_usd": [None, 0.5, None], "waste_usd": [None, 0.1, None]}
    )  # fmt: skip
    figure = f.build_trend_figure(daily)
    assert list(figure.data[0].x) == days  # every day is still drawn: double-click shows it
    for axis in ("xaxis", "xaxis2", "xaxis3", "xaxis4"):
        assert list(figure.layout[axis].range) == [
            datetime(2026, 10, 31, 12),
            datetime(2026, 11, 2, 12),
        ], axis
    assert figure.layout.title.text == (
        "From 2026-11-01: 1 earlier day with runs; double-click a panel for all"
    )
    recent = f.build_trend_figure(daily.slice(1))
    assert recent.layout.title.text is None
    assert figure.layout.xaxis.dtick == recent.layout.xaxis.dtick == f.DAY_MS  # 2 days shown


def test_a_few_days_get_one_tick_per_day_and_no_times():
    one_day = pl.DataFrame(
        {"day": [date(2024, 10, 10)], "trajectories": [2], "judged": [2], "successes": [1],
         "cost_usd": [0.5], "waste_usd": [0.1]}
    )  # fmt: skip
    figure = f.build_trend_figure(one_day)
    axis = figure.layout.xaxis
    assert (axis.type, axis.tickformat, axis.dtick) == ("date", "%b %d", f.DAY_MS)
    assert list(axis.range) == [datetime(2024, 10, 9, 12), datetime(2024, 10, 10, 12)]
    assert figure.data[0].width == f.BAR_MS  # one bar is a bar, not a hairline
    assert figure.layout.yaxis4.rangemode == "nonnegative"  # no waste: 0 at the bottom, no -1
    waste = pl.DataFrame(
        {"key": [date(2024, 10, 10)], "category": ["stagnation"], "findings": [1],
         "tokens": [10], "findings_with_tokens": [1], "usd": [0.1], "findings_with_usd": [1]}
    )  # fmt: skip
    axis = f.build_waste_by_figure(waste, by="day").layout.xaxis
    assert (axis.type, axis.dtick) == ("date", f.DAY_MS)
    long = pl.DataFrame(
        {"day": [date(2026, 10, 1), date(2026, 11, 1)], "trajectories": [1, 1],
         "judged": [0, 0], "successes": [0, 0], "cost_usd": [None, None],
         "waste_usd": [None, None]}
    )  # fmt: skip
    assert f.build_trend_figure(long).layout.xaxis.dtick is None  # a month: plotly's own ticks


def test_histogram_bars_span_their_bins_scaled_to_the_axis_unit():
    bins = pl.DataFrame(
        {
            "bin_start": [1000.0, 3000.0],
            "bin_end": [3000.0, 5000.0],
            "trajectories": [7, 2],
            "open_ended": [False, False],
        }
    )
    (bar,) = f.build_histogram_figure(bins, "wall time (s)", scale=1 / 1000).data
    assert list(bar.x) == [1.0, 3.0]
    assert list(bar.width) == [2.0, 2.0]
    assert list(bar.y) == [7, 2]
    assert bar.offset == 0
    assert list(bar.hovertext) == ["1 – 3: 7 trajectories", "3 – 5: 2 trajectories"]
    tail = bins.with_columns(open_ended=pl.Series([False, True]))
    (bar,) = f.build_histogram_figure(tail, "wall time (s)", scale=1 / 1000).data
    assert list(bar.hovertext) == ["1 – 3: 7 trajectories", "3 and more: 2 trajectories"]
    assert f.build_histogram_figure(bins, "wall time (s)").layout.xaxis.tickprefix is None
    dollars = f.build_histogram_figure(tail.with_columns(pl.col("bin_start", "bin_end") / 1e4),
                                       "cost (USD)", usd=True)  # fmt: skip
    assert list(dollars.data[0].hovertext) == [
        "$0.1 – $0.3: 7 trajectories", "$0.3 and more: 2 trajectories"
    ]  # fmt: skip
    assert (dollars.layout.xaxis.tickprefix, dollars.layout.xaxis.exponentformat) == ("$", "none")


def waste_rows(rows: list[tuple]) -> pl.DataFrame:
    columns = ["key", "category", "findings", "tokens", "findings_with_tokens", "usd"]
    frame = pl.DataFrame(rows, schema=columns, orient="row")
    return frame.with_columns(findings_with_usd=pl.col("findings") - pl.col("usd").is_null())


def test_waste_totals_sum_what_is_known_and_count_what_is_not():
    columns = ["key", "category", "findings", "tokens", "findings_with_tokens", "usd"]
    waste = pl.DataFrame(
        [
            ("a", "stagnation", 2, 300, 2, 0.3, 2),
            ("a", "uncached_context", 1, 100, 1, 0.1, 1),
            ("b", "uncached_context", 2, None, 0, None, 0),
            ("c", "stagnation", 3, 900, 3, 0.2, 3),
            ("c", "uncached_context", 2, 50, 1, None, 0),  # an unpriced model's findings
        ],
        schema=[*columns, "findings_with_usd"],
        orient="row",
    )
    totals = f.waste_totals(waste)
    assert totals.rows() == [
        ("a", 3, 400.0, 0, pytest.approx(0.4), 0),
        ("b", 2, None, 2, None, 2),
        ("c", 5, 950.0, 1, 0.2, 2),
    ]
    assert f.at_least("$0.20", 2, "not priced") == "≥ $0.20 (2 findings not priced)"
    assert f.at_least("$0.40", 0, "not priced") == "$0.40"


def test_waste_share_text_marks_a_category_with_uncounted_findings_as_at_least():
    waste = waste_rows(
        [
            ("uncached_context", "uncached_context", 3, 1500, 3, 0.15),
            ("uncached_context", "uncached_context", 1, 500, 1, None),
        ]
    )
    (bar,) = f.build_waste_category_figure(waste, base_tokens=10_000).data
    assert list(bar.x)[3] == 20.0
    assert list(bar.text)[3] == "2,000 tokens · ≥ $0.1500"  # short enough to stay in its bar
    assert list(bar.hovertext)[3] == "2,000 tokens · ≥ $0.1500 (1 finding not counted)"


def test_waste_share_by_category_shows_every_category():
    waste = waste_rows(
        [
            ("stagnation", "stagnation", 2, 500, 2, 0.05),
            ("uncached_context", "uncached_context", 4, 1500, 4, 0.15),
        ]
    )
    (bar,) = f.build_waste_category_figure(waste, base_tokens=10_000).data
    assert list(bar.y) == [f.CATEGORY_LABELS[c] for c in f.CATEGORIES]
    assert list(bar.x) == [5.0, 0.0, 0.0, 15.0]  # error_retry and repeated calls: none found
    assert list(bar.customdata) == list(f.CATEGORIES)
    assert list(bar.text) == [
        "500 tokens · $0.0500",
        "0 tokens · $0.0000",
        "0 tokens · $0.0000",
        "1,500 tokens · $0.1500",
    ]
    assert list(bar.textposition) == ["auto", "outside", "outside", "auto"]  # "0" shows
    assert list(bar.marker.color) == [f.CATEGORY_COLORS[c] for c in f.CATEGORIES]


def test_waste_share_is_unknown_without_a_token_base():
    waste = waste_rows([("stagnation", "stagnation", 1, 10, 1, 0.01)])
    (bar,) = f.build_waste_category_figure(waste, base_tokens=None).data
    assert list(bar.x) == [None, None, None, None]


def test_waste_by_agent_stacks_one_horizontal_trace_per_category():
    waste = waste_rows(
        [
            ("alpha", "stagnation", 1, 100, 1, 0.01),
            ("alpha", "uncached_context", 3, 300, 3, 0.03),
            ("beta", "uncached_context", 1, 50, 1, 0.005),
        ]
    )
    figure = f.build_waste_by_figure(waste, "usd", "agent")
    stagnation, uncached = figure.data
    assert (stagnation.name, uncached.name) == ("Stagnation", "Uncached context")
    assert stagnation.orientation == "h" and figure.layout.barmode == "stack"
    assert list(stagnation.y) == ["alpha", "beta"] and list(stagnation.x) == [0.01, None]
    assert list(uncached.x) == [0.03, 0.005]
    assert list(uncached.customdata) == ["alpha", "beta"]
    assert (figure.layout.xaxis.tickprefix, figure.layout.xaxis.exponentformat) == ("$", "none")
    tokens = f.build_waste_by_figure(waste, "tokens", "agent")
    assert list(tokens.data[1].x) == [300.0, 50.0]
    assert tokens.layout.xaxis.tickprefix is None  # tokens are not dollars


def test_waste_over_time_is_vertical_on_a_date_axis():
    waste = waste_rows([(date(2026, 11, 2), "stagnation", 1, 100, 1, 0.25)])
    figure = f.build_waste_by_figure(waste, "usd", "day")
    (bar,) = figure.data
    assert bar.orientation == "v"
    assert list(bar.x) == ["2026-11-02"] and list(bar.y) == [0.25]
    assert list(bar.customdata) == ["2026-11-02"]
    assert figure.layout.xaxis.type == "date"


def test_verdict_bars_count_runs_in_the_given_order():
    counts = pl.DataFrame(
        {"verdict": ["escalation_needed", "over_provisioned", None], "trajectories": [3, 8, 1]}
    )
    figure = f.build_verdict_figure(counts)
    (bar,) = figure.data
    assert list(figure.layout.xaxis.range) == [0, 8 * 1.15]  # the longest bar's count fits
    assert list(bar.y) == ["Escalation needed", "Over-provisioned", "no verdict"]
    assert list(bar.customdata) == ["escalation_needed", "over_provisioned", "no verdict"]
    assert list(bar.x) == [3, 8, 1]
    assert (bar.textposition, bar.textangle) == ("outside", 0)  # counts read upright
    assert list(bar.marker.color) == ["#10b981", "#f97316", f.MUTED]


def model_stats() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "model": ["small-1", "big-1"],
            "tier": ["small", None],
            "input_tokens": [1000, None],
            "output_tokens": [300, 50],
            "reasoning_tokens": [100, None],
            "cache_read_tokens": [600, None],
            "cache_write_tokens": [None, None],
            "cache_unknown_input_tokens": [None, None],
            "reasoning_unknown_output_tokens": [None, 50],
            "cost_usd": [0.25, None],
            "listed_input_per_mtok": [0.4, 2.0],
            "listed_output_per_mtok": [1.6, 8.0],
            "effective_usd_per_mtok": [0.21, None],
        }
    )


def test_tokens_of_calls_without_cache_counts_are_their_own_kind():
    """openai-v2 records no cache reads: of 10,642 input tokens, 7,650 came from such calls."""
    stats = model_stats().with_columns(
        input_tokens=pl.Series([10_642, None]),
        cache_read_tokens=pl.Series([2_500, None]),
        cache_unknown_input_tokens=pl.Series([7_650, None]),
    )
    kinds = {t.name: list(t.x) for t in mf.build_tokens_by_kind_figure(stats).data}
    assert kinds["Input, cache not recorded"] == [7_650.0, None]
    assert kinds["Input, not cached"] == [492.0, None]  # 10,642 - 7,650 - 2,500


def test_tokens_by_kind_split_input_and_output():
    figure = mf.build_tokens_by_kind_figure(model_stats())
    by_name = {trace.name: list(trace.x) for trace in figure.data}
    assert by_name == {
        "Input, not cached": [400.0, None],  # 1000 - 600 cached - unknown writes (none billed)
        "Input, cache read": [600.0, None],
        "Input, cache write": [None, None],
        "Input, cache not recorded": [None, None],
        "Output, visible": [200.0, None],
        "Output, reasoning": [100.0, None],
        "Output, reasoning not recorded": [None, 50.0],  # big-1 records no reasoning count
    }
    assert all(list(trace.y) == ["small-1", "big-1"] for trace in figure.data)


def test_price_figure_puts_listed_beside_effective_on_a_log_axis():
    figure = mf.build_price_figure(model_stats())
    assert [list(t.x) for t in figure.data] == [[0.4, 2.0], [1.6, 8.0], [0.21, None]]
    assert figure.layout.xaxis.type == "log" and figure.layout.barmode == "group"


def test_spend_figure_colours_models_by_tier():
    (bar,) = mf.build_spend_figure(model_stats()).data
    assert list(bar.y) == ["small-1", "big-1"]
    assert list(bar.x) == [0.25, None]
    assert list(bar.marker.color) == ["#10b981", f.MUTED]
    assert list(bar.text) == ["small", "no tier"]


def test_fleet_dollar_axes_read_as_dollars_not_si_prefixes():
    daily = pl.DataFrame(
        {
            "day": [date(2026, 11, 1)], "trajectories": [4], "judged": [4], "successes": [3],
            "cost_usd": [0.0008], "waste_usd": [0.0001],
        }
    )  # fmt: skip
    trend = f.build_trend_figure(daily).layout
    dollars = [(a.tickprefix, a.exponentformat) for a in (trend.yaxis3, trend.yaxis4)]
    assert dollars == [("$", "none")] * 2
    assert (trend.yaxis.tickprefix, trend.yaxis2.tickprefix) == (None, None)
    spend = mf.build_spend_figure(model_stats()).layout.xaxis
    assert (spend.tickprefix, spend.exponentformat) == ("$", "none")
    assert mf.build_price_figure(model_stats()).layout.xaxis.tickprefix == "$"


def test_reversal_heatmap_places_each_pair_with_its_log_ratio():
    matrix = pl.DataFrame(
        {
            "cheaper_model": ["haiku", "haiku", "mini"],
            "pricier_model": ["sonnet", "opus", "gpt"],
            "magnitude": [2.0, 0.25, 0.5],
            "reversed": [True, False, False],
            "driver": ["turns", "price", "price"],
        }
    )
    (heat,) = mf.build_reversal_figure(matrix).data
    assert list(heat.y) == ["haiku", "mini"]
    assert list(heat.x) == ["gpt", "opus", "sonnet"]
    assert [list(row) for row in heat.z] == [[None, -2.0, 1.0], [-1.0, None, None]]
    assert heat.text[0][2] == "2.00× · reversed<br>driver: turns"
    assert heat.text[1][0] == "0.50× · as listed<br>driver: price"
    assert heat.zmid == 0


def routing() -> pl.DataFrame:
    policies = ["all_small", *(f"small_then_large_k{k}" for k in range(1, 6)), "all_large"]
    return pl.DataFrame(
        {
            "policy": policies,
            "k": [None, 1, 2, 3, 4, 5, None],
            "success_rate": [0.5, 0.75, 0.75, 0.5, 0.5, 0.5, 1.0],
            "cost_per_task": [0.01, 0.02, 0.02, 0.01, 0.01, 0.01, 0.05],
            "wall_ms_per_task": [1000.0, 2000.0, 2500.0, 1000.0, 1000.0, 1000.0, 4000.0],
        }
    )


def test_frontier_marks_the_selected_k_and_merges_labels_of_one_point():
    (points,) = f.build_frontier_figure(routing(), "cost_per_task", 2, "cost").data
    assert list(points.x) == [0.01, 0.02, 0.02, 0.01, 0.01, 0.01, 0.05]
    assert list(points.y) == [50.0, 75.0, 75.0, 50.0, 50.0, 50.0, 100.0]
    # K=1 and K=2 share a point: it is labelled once, with the selected policy only
    assert list(points.text) == ["all small", "K=2", "", "", "", "", "all large"]
    assert list(points.hovertext) == ["all small", "K=1", "K=2", "K=3", "K=4", "K=5", "all large"]
    assert list(points.marker.size) == [9, 9, 16, 9, 9, 9, 9]
    assert list(points.marker.color).count(f.HIGHLIGHT) == 1
    assert points.marker.color[2] == f.HIGHLIGHT
    assert list(points.textposition) == ["bottom right", *["top right"] * 5, "top left"]


def test_time_frontier_is_scaled_to_seconds_and_merges_coinciding_names():
    (points,) = f.build_frontier_figure(routing(), "wall_ms_per_task", 5, "s", 1 / 1000).data
    assert list(points.x) == [1.0, 2.0, 2.5, 1.0, 1.0, 1.0, 4.0]
    assert list(points.text) == ["all small = K=5", "", "", "", "", "", "all large"]
    assert points.marker.color[5] == f.HIGHLIGHT and points.marker.size[5] == 16


# --- trace text stays text -----------------------------------------------------------------
# Plotly renders <b>, <br>, <a href> and entities in labels and hovers; a name from a trace
# must reach the browser as entities, so it shows exactly as written.
HOSTILE = "<b>x</b>&<br>"
ESCAPED = "&lt;b&gt;x&lt;/b&gt;&amp;&lt;br&gt;"


def sent(figure) -> dict:
    """The figure as the browser receives it."""
    return json.loads(figure.to_json())


def test_waste_by_agent_labels_a_hostile_name_literally_and_keeps_the_raw_key():
    waste = waste_rows(
        [(HOSTILE, "stagnation", 1, 100, 1, 0.01), ("beta", "stagnation", 1, 5, 1, 0.5)]
    )
    (bar,) = sent(f.build_waste_by_figure(waste, "usd", "agent"))["data"]
    assert bar["y"] == [ESCAPED, "beta"]
    assert bar["customdata"] == [HOSTILE, "beta"]  # what the Waste page drills into


@pytest.mark.parametrize(
    "build", [mf.build_tokens_by_kind_figure, mf.build_price_figure, mf.build_spend_figure]
)
def test_model_figures_label_a_hostile_model_literally(build):
    stats = model_stats().with_columns(model=pl.Series([HOSTILE, "big-1"]))
    traces = sent(build(stats))["data"]
    assert traces and [trace["y"] for trace in traces] == [[ESCAPED, "big-1"]] * len(traces)


def test_reversal_heatmap_labels_hostile_models_literally():
    matrix = pl.DataFrame(
        {
            "cheaper_model": [HOSTILE],
            "pricier_model": ["a<br>b"],
            "magnitude": [2.0],
            "reversed": [True],
            "driver": ["turns"],
        }
    )
    (heat,) = sent(mf.build_reversal_figure(matrix))["data"]
    assert heat["y"] == [ESCAPED]
    assert heat["x"] == ["a&lt;br&gt;b"]
    assert heat["text"] == [["2.00× · reversed<br>driver: turns"]]


def test_waste_by_agent_names_a_missing_agent_not_recorded_and_gives_no_key_to_drill():
    waste = waste_rows(
        [(None, "stagnation", 1, 100, 1, 0.01), ("beta", "stagnation", 1, 5, 1, 0.5)]
    )
    (bar,) = sent(f.build_waste_by_figure(waste, "usd", "agent"))["data"]
    assert bar["y"] == ["not recorded", "beta"]
    assert bar["customdata"] == [None, "beta"]
