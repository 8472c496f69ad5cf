"""Time split from interval unions (parallel calls never double count) and time to first token."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from store import db
from tests.analysis_builders import at, ingest_spans, row, use_acme_prices


def span(trace, span_id, kind, start, end, **extra):
    return {
        "trace_id": trace,
        "span_id": span_id,
        "name": span_id,
        "kind": kind,
        "start_time": at(start),
        "end_time": at(end),
        "status": "ok",
        **extra,
    }


def overlapping_trace() -> list[dict]:
    """Root 0–1000 ms. LLM calls [0,200], [600,700] and [650,800] (two overlap); tool calls
    [200,500] and [250,600] in parallel, and [700,900] overlapping the third LLM call."""
    t = "overlap"
    return [
        span(t, "root", "agent", 0, 1000),
        span(
            t,
            "llm1",
            "llm",
            0,
            200,
            model="acme-mini",
            **{"gen_ai.response.time_to_first_chunk": 0.05},
        ),
        span(t, "toolA", "tool", 200, 500, tool_name="read", tool_args={"f": "a"}, output="a"),
        span(t, "toolB", "tool", 250, 600, tool_name="read", tool_args={"f": "b"}, output="b"),
        span(t, "llm2", "llm", 600, 700, model="acme-mini", **{"ai.response.msToFirstChunk": 30}),
        span(t, "llm3", "llm", 650, 800, model="acme-mini", first_token_time=at(660)),
        span(t, "toolC", "tool", 700, 900, tool_name="read", tool_args={"f": "c"}, output="c"),
    ]


def test_time_split_uses_interval_unions(con, tmp_path):
    ingest_spans(con, tmp_path, "overlap.jsonl", overlapping_trace())
    got = row(con, "SELECT wall_ms, model_ms, tool_ms, idle_ms FROM trajectories")
    # model: [0,200] ∪ [600,800] = 400; busy: [0,900] = 900 -> tool 500; idle 1000 − 900
    assert got == (1000.0, 400.0, 500.0, 100.0)


def test_time_to_first_token_read_from_each_convention(con, tmp_path):
    ingest_spans(con, tmp_path, "overlap.jsonl", overlapping_trace())
    # 0.05 s (OTel GenAI) + 30 ms (Vercel AI SDK) + 10 ms after start (LangSmith timestamp)
    assert row(con, "SELECT ttft_ms, ttft_calls FROM trajectories") == (90.0, 3)
    per_turn = [
        r[0] for r in con.cursor().execute("SELECT ttft_ms FROM turns ORDER BY turn").fetchall()
    ]
    assert per_turn == [50.0, 30.0, 10.0]


def test_untimed_tool_spans_make_tool_and_idle_time_unknown(con, tmp_path, shared_traces):
    from analysis.pipeline import ingest_path

    report = ingest_path(con, shared_traces / "other" / "tau-bench_gpt-4o-airline.json")
    assert report.ok
    got = row(
        con,
        "SELECT count(*), count(wall_ms), count(model_ms), count(tool_ms), count(idle_ms)"
        " FROM trajectories",
    )
    assert got == (200, 0, 0, 0, 0)


def union_ms(intervals: list[tuple[int, int]]) -> int:
    total, reach = 0, None
    for start, end in sorted(intervals):
        if reach is None or start > reach:
            total += end - start
            reach = end
        elif end > reach:
            total += end - reach
            reach = end
    return total


interval = st.tuples(st.integers(0, 5000), st.integers(0, 3000)).map(lambda p: (p[0], p[0] + p[1]))


@settings(max_examples=25, deadline=None)
@given(
    llm=st.lists(interval, min_size=1, max_size=6),
    tools=st.lists(interval, max_size=6),
    idle_tail=st.integers(0, 2000),
)
def test_model_tool_and_idle_add_up_to_wall_time(llm, tools, idle_tail):
    end = max(e for _, e in llm + tools) + idle_tail
    spans = [span("p", "root", "agent", 0, end)]
    spans += [span("p", f"l{i}", "llm", s, e) for i, (s, e) in enumerate(llm)]
    spans += [span("p", f"t{i}", "tool", s, e) for i, (s, e) in enumerate(tools)]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.duckdb"
        con = db.connect(path)
        try:
            use_acme_prices(con)
            ingest_spans(con, Path(folder), "p.jsonl", spans)
            wall, model, tool, idle = row(
                con, "SELECT wall_ms, model_ms, tool_ms, idle_ms FROM trajectories"
            )
        finally:
            db.close(path)
    assert model + tool + idle == pytest.approx(wall, abs=1e-6)
    assert model == union_ms(llm)
    assert model + tool == union_ms(llm + tools)
    assert wall == end
