"""Langfuse trace exports: the three real framework traces in ../shared/traces/other, the
observations API shape, and bad input.

Expected values come from reading the files: each observation's type, model, usageDetails,
costDetails and parent, and the traces' scores (a correctness score is an outcome; a toxicity
or hallucination score is not).
"""

from __future__ import annotations

import json

import pytest

from analysis.pipeline import ingest_path
from ingest.registry import detect
from ingest.source import Source

CLAUDE = "other/langfuse_trace__claude-agent-2025-12-22.json"
LANGGRAPH = "other/langfuse_trace__langgraph-python-2025-08-22.json"
OPENAI_AGENTS = "other/langfuse_trace__openai-agents-2025-09-30.json"
SPAN_SQL = """
SELECT name, kind, model, provider, input_tokens, output_tokens, cache_read_tokens,
       reasoning_tokens, cost_usd, tool_name, tool_call_id, tool_args, agent_name, session_id,
       status, score, parent_id
FROM spans ORDER BY start_time, seq
"""
COLUMNS = [
    "name", "kind", "model", "provider", "input_tokens", "output_tokens", "cache_read_tokens",
    "reasoning_tokens", "cost_usd", "tool_name", "tool_call_id", "tool_args", "agent_name",
    "session_id", "status", "score", "parent_id",
]  # fmt: skip


def spans(con) -> list[dict]:
    with con.cursor() as cur:
        return [dict(zip(COLUMNS, row, strict=True)) for row in cur.execute(SPAN_SQL).fetchall()]


def pick(rows: list[dict], *columns: str) -> list[tuple]:
    return [tuple(row[column] for column in columns) for row in rows]


def ingest_ok(con, path):
    report = ingest_path(con, path)
    assert report.ok, report.error
    return report


@pytest.mark.parametrize("name", [CLAUDE, LANGGRAPH, OPENAI_AGENTS])
def test_real_exports_are_recognised(shared_traces, name):
    assert detect(Source.open(shared_traces / name)).name == "langfuse"


def test_no_other_real_file_is_taken_for_langfuse(shared_traces):
    for path in sorted(p for p in shared_traces.rglob("*") if p.is_file() and p.suffix != ".md"):
        try:
            name = detect(Source.open(path)).name
        except Exception:  # noqa: BLE001 - a file no adapter claims is fine here
            name = None
        assert (name == "langfuse") == path.name.startswith("langfuse_trace__"), path


def test_claude_agent_sdk_trace(shared_traces, con):
    report = ingest_ok(con, shared_traces / CLAUDE)
    assert (report.format, report.spans, report.trajectories, report.skipped) == (
        "langfuse", 7, 1, [],
    )  # fmt: skip
    rows = spans(con)
    root = "805dc5dff9e33e32"
    # the first turn's clock is 1 ms ahead of the conversation span's
    assert pick(rows, "name", "kind", "parent_id") == [
        ("claude.assistant.turn", "llm", root),
        ("claude.conversation", "chain", None),
        ("claude.assistant.turn", "llm", root),
        ("claude.assistant.turn", "llm", root),
        ("mcp__weather__get_weather", "tool", root),
        ("mcp__weather__get_weather", "tool", root),
        ("claude.assistant.turn", "llm", root),
    ]
    llm = [row for row in rows if row["kind"] == "llm"]
    assert pick(llm, "model", "provider", "input_tokens", "output_tokens", "cost_usd") == [
        ("claude-sonnet-4-5-20250929", "anthropic", 19, 29, 0.000492),
        ("claude-sonnet-4-5-20250929", "anthropic", 5, 53, 0.00081),
        ("claude-sonnet-4-5-20250929", "anthropic", 5, 56, 0.000855),
        ("claude-sonnet-4-5-20250929", "anthropic", 5, 94, 0.001425),
    ]
    tools = [row for row in rows if row["kind"] == "tool"]
    assert pick(tools, "tool_name", "tool_args") == [
        ("mcp__weather__get_weather", '{"input":{"city":"Berlin"}}'),
        ("mcp__weather__get_weather", '{"input":{"city":"New York"}}'),
    ]
    assert {row["status"] for row in rows} == {"unset"}
    # the trace's correctness score (0) is the run's outcome; its hallucination score is not
    assert pick(rows, "name", "score")[1] == ("claude.conversation", 0.0)
    with con.cursor() as cur:
        outcome = cur.execute("SELECT outcome, score, llm_calls FROM trajectories").fetchone()
    assert outcome == ("failure", 0.0, 4)


def test_langgraph_trace(shared_traces, con):
    ingest_ok(con, shared_traces / LANGGRAPH)
    rows = spans(con)
    assert pick(rows, "name", "kind") == [
        ("LangGraph", "chain"),
        ("agent", "chain"),
        ("ChatOpenAI", "llm"),
        ("should_continue", "chain"),
        ("tools", "chain"),
        ("Web-Search", "tool"),
        ("agent", "chain"),
        ("ChatOpenAI", "llm"),
        ("should_continue", "chain"),
    ]
    llm = [row for row in rows if row["kind"] == "llm"]
    assert pick(
        llm, "model", "provider", "input_tokens", "output_tokens", "cache_read_tokens",
        "reasoning_tokens", "cost_usd",
    ) == [
        ("gpt-4o-2024-08-06", "openai", 60, 15, 0, 0, 7.5e-05),
        ("gpt-4o-2024-08-06", "openai", 108, 51, 0, 0, 0.000159),
    ]  # fmt: skip
    # LangChain records the tool as a SPAN returning a ToolMessage: its call id links it to
    # the arguments in the first LLM call's tool_calls (its own input is Python text)
    (tool,) = [row for row in rows if row["kind"] == "tool"]
    assert pick([tool], "tool_name", "tool_call_id", "tool_args") == [
        ("Web-Search", "call_1oGK863sxQHlPreFhDdEs3yl", '{"query":"example"}')
    ]
    # LangGraph's thread is the conversation; the trace's only score is a hallucination score
    assert {row["session_id"] for row in rows} == {"demo-thread-1"}
    assert {row["score"] for row in rows} == {None}
    with con.cursor() as cur:  # the root's LangChain human message, not the LLM's "Be helpful!"
        task = cur.execute("SELECT task_text FROM trajectories").fetchone()
    assert task == ("Search the web for 'example' and summarize.",)


def test_openai_agents_trace(shared_traces, con):
    ingest_ok(con, shared_traces / OPENAI_AGENTS)
    rows = spans(con)
    assert pick(rows, "name", "kind", "agent_name") == [
        ("Agent workflow", "agent", None),
        ("Hello world", "agent", "Hello world"),
        ("response", "llm", None),
        ("get_weather", "tool", None),
        ("response", "llm", None),
    ]
    llm = [row for row in rows if row["kind"] == "llm"]
    assert pick(llm, "model", "input_tokens", "output_tokens", "cost_usd") == [
        ("gpt-4.1-2025-04-14", 55, 15, 0.00023),
        ("gpt-4.1-2025-04-14", 85, 29, 0.000402),
    ]
    (tool,) = [row for row in rows if row["kind"] == "tool"]
    assert (tool["tool_name"], tool["tool_args"]) == ("get_weather", '{"city":"Tokyo"}')
    with con.cursor() as cur:
        output = cur.execute("SELECT output FROM spans WHERE kind = 'tool'").fetchone()[0]
    assert output == "The weather in Tokyo is sunny."
    assert {row["score"] for row in rows} == {None}  # a toxicity score is not an outcome


def observation(id_, type_, start, end, trace="t-1", parent=None, **fields) -> dict:
    return {
        "id": id_,
        "traceId": trace,
        "parentObservationId": parent,
        "type": type_,
        "name": fields.pop("name", type_.lower()),
        "startTime": f"2026-03-01T10:00:{start:02d}.000Z",
        "endTime": f"2026-03-01T10:00:{end:02d}.000Z",
        "level": fields.pop("level", "DEFAULT"),
        **fields,
    }


def test_observations_api_page_with_langfuse_usage_made_inclusive(tmp_path, con):
    page = {
        "data": [
            observation(
                "g-1",
                "GENERATION",
                1,
                3,
                parent="a-1",
                model="claude-sonnet-4",
                usageDetails={
                    "input": 100,
                    "input_cached_tokens": 400,
                    "output": 50,
                    "output_reasoning": 20,
                    "total": 570,
                },
                costDetails={"total": 0.0042},
            ),
            observation("a-1", "AGENT", 0, 9, name="planner"),
            observation(
                "t-1",
                "TOOL",
                4,
                5,
                parent="a-1",
                name="run_tests",
                input={"path": "tests/"},
                output="1 failed",
                level="ERROR",
                statusMessage="exit code 1",
            ),
        ],
        "meta": {"page": 1, "limit": 50, "totalItems": 3, "totalPages": 1},
    }
    path = tmp_path / "observations.json"
    path.write_text(json.dumps(page))
    report = ingest_ok(con, path)
    assert (report.format, report.spans, report.trajectories) == ("langfuse", 3, 1)
    with con.cursor() as cur:
        rows = cur.execute(
            "SELECT span_id, kind, input_tokens, output_tokens, cache_read_tokens, "
            "reasoning_tokens, cost_usd, tool_name, tool_args, status, error_message, convention "
            "FROM spans ORDER BY start_time"
        ).fetchall()
    assert rows == [
        ("a-1", "agent", None, None, None, None, None, None, None, "unset", None, "langfuse"),
        ("g-1", "llm", 500, 70, 400, 20, 0.0042, None, None, "unset", None, "langfuse"),
        ("t-1", "tool", None, None, None, None, None, "run_tests", '{"path":"tests/"}',
         "error", "exit code 1", "langfuse"),
    ]  # fmt: skip


def test_json_lines_of_trace_exports_and_a_skipped_observation(tmp_path, con):
    def export(trace_id: str, session: str) -> dict:
        return {
            "trace": {"id": trace_id, "projectId": "p", "sessionId": session, "name": "run"},
            "observations": [
                observation("root-" + trace_id, "SPAN", 0, 4, trace=trace_id),
                observation(None, "GENERATION", 1, 2, trace=trace_id, parent="root-" + trace_id),
            ],
        }

    path = tmp_path / "traces.jsonl"
    path.write_text("\n".join(json.dumps(export(t, "s-" + t)) for t in ("a", "b")) + "\n")
    report = ingest_ok(con, path)
    assert (report.spans, report.trajectories) == (2, 2)
    assert [(s.position, s.reason) for s in report.skipped] == [
        ("line 1, observations[1]", "observation has no id"),
        ("line 2, observations[1]", "observation has no id"),
    ]
    with con.cursor() as cur:
        sessions = cur.execute(
            "SELECT trace_id, session_id FROM trajectories ORDER BY 1"
        ).fetchall()
    assert sessions == [("a", "s-a"), ("b", "s-b")]


def test_python_text_trace_fields_are_read(tmp_path, con):
    """Some exports hold the trace's fields as Python's text of them ('None', "[{'name': ...}]")."""
    trace = {
        "id": "t-9", "projectId": "p", "name": "run", "sessionId": "None", "userId": "None",
        "scores": "[{'name': 'reward', 'value': 1, 'comment': None}]",
    }  # fmt: skip
    path = tmp_path / "trace.json"
    path.write_text(json.dumps({"trace": trace, "observations": [observation("r", "AGENT", 0, 1)]}))
    ingest_ok(con, path)
    with con.cursor() as cur:
        row = cur.execute("SELECT session_id, score, attributes FROM spans").fetchone()
    assert row[:2] == (None, 1.0)
    assert "langfuse.user.id" not in json.loads(row[2])


def test_observations_given_as_ids_are_refused_with_the_way_out(tmp_path, con):
    trace = {"id": "t-1", "projectId": "p", "observations": ["obs-1", "obs-2"]}
    path = tmp_path / "list.json"
    path.write_text(json.dumps({"data": [trace], "meta": {}}))
    report = ingest_path(con, path)
    assert not report.ok
    assert report.error == (
        "list.json, line 1, data[0], observations: the observations are ids, not objects (the "
        "traces list API returns only ids); export each trace with GET /api/public/traces/{id}"
    )
    with con.cursor() as cur:
        assert cur.execute("SELECT count(*) FROM spans").fetchone()[0] == 0
        assert cur.execute("SELECT count(*) FROM uploads").fetchone()[0] == 0


def test_a_bad_start_time_names_the_observation(tmp_path, con):
    bad = observation("o", "SPAN", 0, 1)
    bad["startTime"] = "yesterday"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"trace": {"id": "t", "projectId": "p"}, "observations": [bad]}))
    report = ingest_path(con, path)
    assert not report.ok
    assert report.error.startswith("bad.json, line 1, observations[0]: startTime: time 'yesterday'")


def test_a_cut_short_export_names_where_it_breaks(shared_traces, tmp_path, con):
    """QA: the real exports are indented JSON; cut short, the error said line 1 column 2 and
    asked for one JSON object per line."""
    cut = tmp_path / "cut.json"
    cut.write_bytes((shared_traces / LANGGRAPH).read_bytes()[:30_000])
    report = ingest_path(con, cut)
    assert report.error == (
        "cut.json, line 628 column 7 (byte offset 29999): invalid JSON: Unterminated string; "
        "the text ends before the JSON does (is the file cut short?); expected one complete "
        "JSON document"
    )
    with con.cursor() as cur:
        assert cur.execute("SELECT count(*) FROM uploads").fetchone() == (0,)
