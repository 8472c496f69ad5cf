"""Hand-built trajectories for the analysis tests, written as span JSONL and ingested for real.

A turn is one LLM call of 100 ms followed by its tool calls (50 ms each, in parallel), so a
turn takes 150 ms and turn j ends 150·j ms after the trajectory starts. Every figure a
test expects is derived by hand from these rules.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from analysis.pipeline import ingest_path

ROOT = Path(__file__).resolve().parent.parent
BASE = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
LLM_MS, TOOL_MS = 100, 50
TURN_MS = LLM_MS + TOOL_MS


def at(ms: float) -> str:
    return (BASE + timedelta(milliseconds=ms)).isoformat()


@dataclass
class Call:
    tool: str
    args: Any
    output: Any = "ok"
    status: str = "ok"


@dataclass
class T:
    """One turn: token counts, the tool calls it made, or the message it wrote."""

    input: int | None = 1000
    output: int | None = 100
    cache_read: int | None = 0
    reasoning: int | None = None
    cache_write: int | None = None
    calls: list[Call] = field(default_factory=list)
    message: str | None = "thinking"
    model: str | None = None
    status: str = "ok"
    cost: float | None = None
    extra: dict = field(default_factory=dict)


def trajectory(
    trace_id: str,
    turns: list[T],
    model: str = "acme-mini",
    task_id: str | None = None,
    score: float | None = None,
    agent: str = "agent-a",
    start_ms: float = 0.0,
    session: str | None = None,
) -> list[dict]:
    """Span records of one trajectory: a root agent span, then the turns in order."""
    end = start_ms + TURN_MS * len(turns)
    spans = [
        {
            "trace_id": trace_id,
            "span_id": f"{trace_id}-root",
            "name": "agent run",
            "kind": "agent",
            "start_time": at(start_ms),
            "end_time": at(end),
            "status": "ok",
            "agent_name": agent,
            "session_id": session,
            "task_id": task_id,
            "score": score,
            "input": json.dumps([{"role": "user", "content": f"task {task_id or trace_id}"}]),
            "seq": 0,
        }
    ]
    for index, turn in enumerate(turns, start=1):
        spans += _turn_spans(trace_id, index, turn, model, start_ms + TURN_MS * (index - 1))
    return spans


def _turn_spans(trace_id: str, index: int, turn: T, model: str, start: float) -> list[dict]:
    content = (
        {"tool_calls": [{"name": c.tool, "arguments": c.args} for c in turn.calls]}
        if turn.calls
        else {"content": turn.message}
    )
    llm = {
        "trace_id": trace_id,
        "span_id": f"{trace_id}-llm{index}",
        "parent_id": f"{trace_id}-root",
        "name": "chat",
        "kind": "llm",
        "start_time": at(start),
        "end_time": at(start + LLM_MS),
        "status": turn.status,
        "model": turn.model or model,
        "input_tokens": turn.input,
        "output_tokens": turn.output,
        "reasoning_tokens": turn.reasoning,
        "cache_read_tokens": turn.cache_read,
        "cache_write_tokens": turn.cache_write,
        "cost_usd": turn.cost,
        "output": None if turn.status == "error" else content,
        "seq": index,
        **turn.extra,
    }
    tools = [
        {
            "trace_id": trace_id,
            "span_id": f"{trace_id}-tool{index}.{n}",
            "parent_id": f"{trace_id}-root",
            "name": f"execute_tool {call.tool}",
            "kind": "tool",
            "start_time": at(start + LLM_MS),
            "end_time": at(start + TURN_MS),
            "status": call.status,
            "tool_name": call.tool,
            "tool_args": call.args,
            "output": call.output,
            "seq": index,
        }
        for n, call in enumerate(turn.calls, start=1)
    ]
    return [llm, *tools]


def write_jsonl(path: Path, spans: list[dict]) -> Path:
    path.write_text("".join(json.dumps(span) + "\n" for span in spans))
    return path


def ingest_spans(con, tmp_path: Path, name: str, spans: list[dict]):
    report = ingest_path(con, write_jsonl(tmp_path / name, spans))
    assert report.ok, report.error
    return report


ACME_PRICES = [
    # pattern, tier, input, cached input, cache write, output, gpu $/h, vram GB
    ("acme-mini%", "small", 1.00, 0.10, 1.25, 4.00, None, None),
    ("acme-mid%", "medium", 2.00, None, None, 8.00, None, None),
    ("acme-max%", "large", 4.00, 0.40, None, 16.00, None, None),
    ("tiny%", "small", None, None, None, None, None, None),
    ("huge%", "large", None, None, None, None, None, None),
    ("acme-local%", "small", None, None, None, None, 3.60, 24),
]


def use_acme_prices(con) -> None:
    """Replace the shipped defaults with the test's own price rows (tests own their prices)."""
    with con.cursor() as cur:
        cur.execute("DELETE FROM models")
        cur.executemany(
            "INSERT INTO models (pattern, tier, input_per_mtok, cached_input_per_mtok,"
            " cache_write_per_mtok, output_per_mtok, gpu_usd_per_hour, vram_gb, source, as_of)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'test', '2025-03')",
            ACME_PRICES,
        )


def row(con, sql: str, params: list | None = None) -> tuple:
    with con.cursor() as cur:
        return cur.execute(sql, params or []).fetchone()


def rows(con, sql: str, params: list | None = None) -> list[tuple]:
    with con.cursor() as cur:
        return cur.execute(sql, params or []).fetchall()
