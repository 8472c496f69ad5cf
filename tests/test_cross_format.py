"""One agent run, traced through LangSmith and through OpenTelemetry: the same trajectory figures."""

from __future__ import annotations

import json
from datetime import timedelta

from analysis.pipeline import ingest_path
from tests.test_langsmith import BASE, agent_runs, ingest_ok, trajectory, uid

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
