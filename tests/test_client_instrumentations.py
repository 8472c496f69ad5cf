"""LLM-client instrumentations' real OTLP exports (tests/data/clients, see its README) map as
the calls were: the fake server's usage where the library exported it, NULL where it did not.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.pipeline import ingest_path
from analysis.trajectory_queries import requested_tool_calls

CLIENTS = Path(__file__).parent / "data" / "clients"
LLM_SQL = """
SELECT name, convention, model, request_model, provider, input_tokens, cache_read_tokens,
       output_tokens, reasoning_tokens, input IS NOT NULL, output IS NOT NULL
FROM spans WHERE kind = 'llm' ORDER BY start_time
"""
RUN_SQL = """
SELECT agent_name, session_id, llm_calls, tool_calls, turns, input_tokens, cache_read_tokens,
       output_tokens, reasoning_tokens
FROM trajectories
"""
MODELS = ("gpt-4o-2024-08-06", "gpt-4o", "openai")
# (input, cached, output, reasoning) of each call, where the library exports all four
USAGE = [(1200, 1000, 40, 16), (1300, 1100, 60, 0)]


@pytest.mark.parametrize(
    ("name", "span_name", "convention", "usage"),
    [
        ("openinference_openai.binpb", "ChatCompletion", "openinference", USAGE),
        ("traceloop_openai.binpb", "openai.chat", "gen_ai", USAGE),
        # the official instrumentation exports no cached or reasoning count on chat completions
        ("otel_openai_v2.binpb", "chat gpt-4o", "gen_ai",
         [(1200, None, 40, None), (1300, None, 60, None)]),
    ],
)  # fmt: skip
def test_each_client_instrumentation_maps_the_calls_as_made(
    con, name, span_name, convention, usage
):
    report = ingest_path(con, CLIENTS / name)
    assert (report.ok, report.format, report.spans, report.trajectories) == (
        True, "otlp_protobuf", 3, 1,
    )  # fmt: skip
    with con.cursor() as cur:
        calls = cur.execute(LLM_SQL).fetchall()
        run = cur.execute(RUN_SQL).fetchone()
    assert calls == [
        (span_name, convention, *MODELS, inp, cached, out, reasoning, True, True)
        for inp, cached, out, reasoning in usage
    ]
    cached = [u[1] for u in usage]
    reasoning = [u[3] for u in usage]
    assert run == (
        "weather_agent", "conv-1", 2, 0, 2, 2500,
        None if None in cached else sum(cached), 100, None if None in reasoning else sum(reasoning),
    )  # fmt: skip


@pytest.mark.parametrize("name", sorted(p.name for p in CLIENTS.glob("*.binpb")))
def test_the_tool_call_the_model_asked_for_is_found_in_its_reply(con, name):
    """No client instrumentation records the tool span; the call is in call 1's output."""
    assert ingest_path(con, CLIENTS / name).ok
    with con.cursor() as cur:
        (trace,) = cur.execute("SELECT trace_id FROM trajectories").fetchone()
        assert cur.execute("SELECT count(*) FROM spans WHERE kind = 'tool'").fetchone() == (0,)
    assert requested_tool_calls(con, trace) == 1
