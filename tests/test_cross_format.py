"""One agent run traced through LangSmith, span JSONL and OpenTelemetry: the same trajectory figures."""

from __future__ import annotations

import json
from datetime import timedelta

from analysis.pipeline import ingest_path
from ingest import langsmith
from ingest.source import Source
from tests.test_langsmith import (
    BASE,
    ingest_ok,
    llm_meta,
    make_run,
    spans,
    trajectory,
    uid,
    write_jsonl,
)

KEYS = (
    "llm_calls",
    "turns",
    "tool_calls",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "models",
    "model_ms",
    "tool_ms",
    "idle_ms",
    "wall_ms",
    "cost_usd",
)


def nanos(seconds: float) -> str:
    return str(int((BASE + timedelta(seconds=seconds)).timestamp() * 1e9))


def otlp_span(
    span_id: str, name: str, start: float, end: float, parent: str | None, **attrs
) -> dict:
    def value(v):
        return {"intValue": str(v)} if isinstance(v, int) else {"stringValue": v}

    return {
        "traceId": "5b8efff798038103d269b633813fc60c",
        "spanId": span_id,
        "parentSpanId": parent or "",
        "name": name,
        "kind": 1 if parent is None else 3,
        "startTimeUnixNano": nanos(start),
        "endTimeUnixNano": nanos(end),
        "attributes": [{"key": k, "value": value(v)} for k, v in attrs.items()],
        "status": {"code": 1},
    }


def otlp_agent() -> dict:
    """The agent of tests/test_langsmith.agent_runs as the official GenAI instrumentation emits it."""
    root = "eee19b7ec3c1b174"
    chat = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini",
    }
    spans = [
        otlp_span(
            root,
            "invoke_agent AgentExecutor",
            0,
            6,
            None,
            **{"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "AgentExecutor"},
        ),
        otlp_span(
            "eee19b7ec3c1b175",
            "chat gpt-4o-mini",
            0.1,
            1.5,
            root,
            **chat,
            **{"gen_ai.usage.input_tokens": 300, "gen_ai.usage.output_tokens": 40},
        ),
        otlp_span(
            "eee19b7ec3c1b176",
            "execute_tool get_weather",
            1.6,
            2.0,
            root,
            **{
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "get_weather",
                "gen_ai.tool.call.arguments": '{"city": "Oslo"}',
            },
        ),
        otlp_span(
            "eee19b7ec3c1b177",
            "chat gpt-4o-mini",
            2.1,
            5.9,
            root,
            **chat,
            **{
                "gen_ai.usage.input_tokens": 380,
                "gen_ai.usage.output_tokens": 60,
                "gen_ai.usage.cache_read.input_tokens": 256,
            },
        ),
    ]
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": []},
                "scopeSpans": [{"scope": {"name": "agent"}, "spans": spans}],
            }
        ]
    }


def test_langsmith_and_opentelemetry_give_the_same_trajectory(con, tmp_path):
    (tmp_path / "runs.json").write_text(json.dumps(list(reversed(agent_runs()))))
    ingest_ok(con, tmp_path / "runs.json")
    (tmp_path / "otel.json").write_text(json.dumps(otlp_agent()))
    report = ingest_path(con, tmp_path / "otel.json")
    assert (report.ok, report.format) == (True, "otlp_json"), report.error
    from_langsmith = {k: trajectory(con, uid(11))[k] for k in KEYS}
    from_otel = {k: trajectory(con, "5b8efff798038103d269b633813fc60c")[k] for k in KEYS}
    assert from_langsmith == from_otel
    assert (from_otel["llm_calls"], from_otel["tool_calls"]) == (2, 1)
    assert (
        from_otel["input_tokens"],
        from_otel["output_tokens"],
        from_otel["cache_read_tokens"],
    ) == (680, 100, 256)


# -- the same agent from LangSmith and from span JSONL --------------------------------------


def agent_runs() -> list[dict]:
    root = make_run(11, "chain", "AgentExecutor", 0, 6)
    meta = llm_meta("gpt-4o-mini", "openai")
    llm1 = make_run(
        12, "llm", "ChatOpenAI", 0.1, 1.5, root, prompt_tokens=300, completion_tokens=40, extra=meta
    )
    tool = make_run(13, "tool", "get_weather", 1.6, 2.0, root, inputs={"input": '{"city": "Oslo"}'})
    llm2 = make_run(
        14,
        "llm",
        "ChatOpenAI",
        2.1,
        5.9,
        root,
        prompt_tokens=380,
        completion_tokens=60,
        prompt_token_details={"cache_read": 256},
        extra=meta,
    )
    return [root, llm1, tool, llm2]


def agent_spans() -> list[dict]:
    def span(span_id, kind, name, start, end, parent="root", **fields):
        return {
            "trace_id": "otel-agent",
            "span_id": span_id,
            "parent_id": parent,
            "kind": kind,
            "name": name,
            "start_time": (BASE + timedelta(seconds=start)).isoformat(),
            "end_time": (BASE + timedelta(seconds=end)).isoformat(),
            **fields,
        }

    return [
        span("root", "agent", "AgentExecutor", 0, 6, parent=None),
        span(
            "l1",
            "llm",
            "chat gpt-4o-mini",
            0.1,
            1.5,
            model="gpt-4o-mini",
            input_tokens=300,
            output_tokens=40,
        ),
        span("t1", "tool", "execute_tool get_weather", 1.6, 2.0, tool_name="get_weather"),
        span(
            "l2",
            "llm",
            "chat gpt-4o-mini",
            2.1,
            5.9,
            model="gpt-4o-mini",
            input_tokens=380,
            output_tokens=60,
            cache_read_tokens=256,
        ),
    ]


def test_langsmith_agent_matches_the_same_agent_as_spans(con, tmp_path):
    newest_first = list(reversed(agent_runs()))  # list_runs returns newest first
    (tmp_path / "runs.json").write_text(json.dumps(newest_first, indent=2))
    ingest_ok(con, tmp_path / "runs.json")
    assert (
        ingest_path(con, write_jsonl(tmp_path / "spans.jsonl", agent_spans())).format
        == "span_jsonl"
    )
    rows = spans(con, uid(11))
    assert [(r["name"], r["parent_id"]) for r in rows] == [
        ("AgentExecutor", None),
        ("ChatOpenAI", uid(11)),
        ("get_weather", uid(11)),
        ("ChatOpenAI", uid(11)),
    ]
    assert rows[2]["tool_args"] == '{"city":"Oslo"}'
    keys = (
        "llm_calls",
        "turns",
        "tool_calls",
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "models",
        "model_ms",
        "tool_ms",
        "idle_ms",
        "wall_ms",
        "cost_usd",
    )
    from_langsmith = {k: trajectory(con, uid(11))[k] for k in keys}
    from_spans = {k: trajectory(con, "otel-agent")[k] for k in keys}
    assert from_langsmith == from_spans
    assert from_langsmith["llm_calls"] == 2 and from_langsmith["tool_calls"] == 1
    assert (from_langsmith["input_tokens"], from_langsmith["output_tokens"]) == (680, 100)
    assert (from_langsmith["model_ms"], from_langsmith["tool_ms"]) == (5200.0, 400.0)


def test_sniff_leaves_span_and_messages_jsonl_alone(tmp_path):
    spans_file = write_jsonl(tmp_path / "a.jsonl", agent_spans())
    messages = write_jsonl(
        tmp_path / "b.jsonl", [{"id": "t", "messages": [{"role": "user", "content": "x"}]}]
    )
    for path in (spans_file, messages):
        source = Source.open(path)
        assert not langsmith.sniff(source.head(), source)
    assert langsmith.is_payload({"post": []}) and not langsmith.is_payload({"post": [], "user": 1})
