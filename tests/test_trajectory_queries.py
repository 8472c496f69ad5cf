"""Reads behind the Trajectory and Compare pages, on the real sample store, and the Markdown
escaping every page uses for trace content.

Expected values were read from sample_traces/agents.spans.jsonl (see the module docstring of
tests/test_pages_trajectory.py for the showcase; `fix-import-cycle-58` reads
src/app/models.py three times, so its second and third reads repeat the first).
"""

from __future__ import annotations

import polars as pl
import pytest

from analysis import trajectory_queries as tq
from store import db
from tests import pages_fixtures_trajectory as fixtures
from tests.pages_fixtures_trajectory import CHANGELOG_TASK, SHOWCASE_TASK, llm_spans, sample_spans
from ui.text import escape_markdown, markdown_link, one_line, page_href

sample_db_template, sample_db = fixtures.sample_db_template, fixtures.sample_db


@pytest.fixture
def con(sample_db):
    yield db.connect(sample_db)
    db.close(sample_db)


def test_turn_rows_tag_each_turn_with_its_waste(con):
    (spans,) = sample_spans(SHOWCASE_TASK)
    rows = tq.turn_rows(con, spans[0]["trace_id"])
    tags = dict(zip(rows["turn"], rows["waste_tags"], strict=True))
    assert tags[1] == ""
    assert [tags[t] for t in (5, 6, 7, 8)] == ["stagnation"] * 4
    assert {tags[t] for t in (2, 3, 4, 9, 10, 11, 12, 13, 14)} == {"uncached_context"}
    assert rows["span_id"].to_list() == [s["span_id"] for s in llm_spans(spans)]


def test_finding_rows_name_the_earlier_call_a_repeat_repeats(con):
    (spans,) = sample_spans("fix-import-cycle-58")
    reads = [
        s for s in spans if s.get("tool_name") == "read_file" and "models.py" in s["tool_args"]
    ]
    assert len(reads) == 3
    rows = tq.finding_rows(con, spans[0]["trace_id"]).filter(
        pl.col("category") == "repeated_tool_call"
    )
    assert rows["repeats_span_id"].to_list() == [reads[0]["span_id"]] * 2
    assert rows["detail"].to_list() == ["read_file", "read_file"]
    assert rows["calls"].to_list() == [1, 1]


def test_waste_summary_per_category(con):
    (spans,) = sample_spans(SHOWCASE_TASK)
    summary = tq.waste_summary(tq.finding_rows(con, spans[0]["trace_id"]))
    assert summary.select("category", "turns", "tokens", "unknown_tokens").rows() == [
        ("stagnation", 4, 26_950, 0),
        ("uncached_context", 9, 7_890, 0),
    ]


def test_models_in_order_of_first_call(con):
    (spans,) = sample_spans(SHOWCASE_TASK)
    models = tq.models_in_order(tq.turn_rows(con, spans[0]["trace_id"]))
    assert models.select("model", "tier", "calls", "first_turn").rows() == [
        ("gpt-4.1-mini-2025-04-14", "small", 8, 1),
        ("gpt-4.1-2025-04-14", "large", 6, 9),
    ]


def test_siblings_are_the_other_runs_of_the_task(con):
    first, second = sample_spans(CHANGELOG_TASK)
    assert tq.siblings(con, first[0]["trace_id"])["trace_id"].to_list() == [second[0]["trace_id"]]
    (showcase,) = sample_spans(SHOWCASE_TASK)
    assert tq.siblings(con, showcase[0]["trace_id"]).is_empty()


def test_span_and_timeline_spans(con):
    (spans,) = sample_spans(SHOWCASE_TASK)
    trace = spans[0]["trace_id"]
    timeline = tq.timeline_spans(con, trace)
    assert timeline["span_id"].to_list() == [s["span_id"] for s in spans]
    assert "input" not in timeline.columns  # no message text for the Gantt
    llm = llm_spans(spans)[0]
    assert tq.span(con, trace, llm["span_id"])["input"] == llm["input"]
    assert tq.span(con, trace, "nope") is None


def turn_frame(turns: list[int], model: str, costs: list[float]) -> pl.DataFrame:
    blank = {c: [None] * len(turns) for c in tq.ALIGNED_COLUMNS}
    return pl.DataFrame({**blank, "turn": turns, "model": [model] * len(turns), "cost_usd": costs})


def test_aligned_turns_pad_the_shorter_run_with_nulls():
    aligned = tq.aligned_turns(turn_frame([1, 2], "x", [0.1, 0.2]), turn_frame([1], "y", [0.5]))
    assert aligned.select("turn", "a_model", "b_model", "b_cost_usd").rows() == [
        (1, "x", "y", 0.5),
        (2, "x", None, None),
    ]


def test_escape_markdown_makes_every_mark_literal():
    assert escape_markdown("**b** [l](http://x) <i>") == (r"\*\*b\*\* \[l\]\(http\:\/\/x\) \<i\>")
    assert escape_markdown(":red[x] $y$ :material/home:") == (
        r"\:red\[x\] \$y\$ \:material\/home\:"
    )
    assert escape_markdown("a\nb\x1b[31mc") == "a bc"


def test_one_line_cuts_long_text():
    assert one_line("x" * 200, 10) == "x" * 9 + "…"


def test_page_href_encodes_every_value():
    assert page_href("trajectory", trace="a b&c", span=None) == "trajectory?trace=a+b%26c"
    assert page_href("compare") == "compare"
    link = markdown_link("[x](y)", page_href("trajectory", trace=")"))
    assert link == r"[\[x\]\(y\)](trajectory?trace=%29)"


def test_summaries_of_turns_and_findings_keep_unknown_apart_from_zero():
    turns = pl.DataFrame(
        {"turn": [1, 2, 3, 4], "span_id": ["a", "b", "c", "d"], "model": ["m", "m", None, "m"],
         "tier": ["small", "small", None, "small"], "input_tokens": [None, 100, None, 50],
         "output_tokens": [1, 2, 3, 4], "cache_read_tokens": [None] * 4,
         "context_growth": [None, None, None, -50], "uncached_tokens": [None] * 4,
         "cost_usd": [None, None, None, None]},
        schema_overrides={"cache_read_tokens": pl.Int64, "uncached_tokens": pl.Int64,
                          "cost_usd": pl.Float64, "context_growth": pl.Int64},
    )  # fmt: skip
    growth = tq.context_growth(turns.reverse())
    assert growth["turn"].to_list() == [1, 2, 3, 4]
    assert growth["cumulative_input_tokens"].to_list() == [None, 100, 100, 150]
    assert tq.models_in_order(turns).rows() == [
        ("m", "small", 3, 1, None),
        (None, None, 1, 3, None),
    ]

    findings = pl.DataFrame(
        {"turn": [3, 3, 4, 2, 5], "category": ["uncached_context", "uncached_context",
         "repeated_tool_call", "stagnation", "stagnation"], "tokens": [10, None, None, 7, 8],
         "usd": [0.5, 0.25, None, None, None]},
        schema_overrides={"tokens": pl.Int64, "usd": pl.Float64},
    )  # fmt: skip
    assert tq.waste_summary(findings).rows() == [
        ("stagnation", 2, 15, 0, None, 2),
        ("repeated_tool_call", 1, None, 1, None, 1),
        ("uncached_context", 1, 10, 1, 0.75, 0),
    ]
