"""Real agent frameworks' spans (tests/data/frameworks, see its README) map as the calls were.

The expected values are what the fake LLM server and the tool returned (the README), and
what the raw spans themselves carry; each file is one run of one weather agent.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.pipeline import ingest_path
from store import db

FRAMEWORKS = Path(__file__).parent / "data" / "frameworks"
ANSWER = "It is sunny and 21C in Paris."
TOOL_RESULT = "sunny, 21C in Paris"
ARGS = '{"city":"Paris"}'
# (input, output, cache read, reasoning) of each LLM call, as the fake server counted them
CALLS = [(120, 30, 100, 10), (200, 40, 150, 15)]
TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens", "reasoning_tokens")
SPAN_COLUMNS = ", ".join(
    [*TOKENS, "name", "kind", "status", "tool_call_id", "tool_args", "input", "output"]
    + ["error_message", "agent_name"]
)


def stored(tmp_path: Path, name: str) -> tuple[dict, list[dict]]:
    """(the trajectory row, its spans by start time) of one framework file ingested alone."""
    path = tmp_path / "store.duckdb"
    con = db.connect(path)
    try:
        report = ingest_path(con, FRAMEWORKS / name)
        assert report.ok and report.trajectories == 1, report.error
        with con.cursor() as cur:
            run = cur.execute("SELECT * FROM trajectories")
            trajectory = dict(zip([c[0] for c in run.description], run.fetchone(), strict=True))
            rows = cur.execute(f"SELECT {SPAN_COLUMNS} FROM spans ORDER BY start_time, seq")
            columns = [c[0] for c in rows.description]
            spans = [dict(zip(columns, row, strict=True)) for row in rows.fetchall()]
    finally:
        db.close(path)
    return trajectory, spans


def raw_spans(name: str) -> dict[str, dict]:
    return {span["name"]: span for span in json.loads((FRAMEWORKS / name).read_text())}


def only(spans: list[dict], name: str) -> dict:
    (span,) = [s for s in spans if s["name"] == name]
    return span


@pytest.mark.parametrize(
    "name",
    [
        "pydantic_ai_weather_agent.json",
        "langchain_weather_agent.json",
        "openai_agents_weather_agent.json",
    ],
)
def test_every_framework_records_each_calls_tokens_and_one_tool_call(tmp_path, name):
    trajectory, spans = stored(tmp_path, name)
    calls = [tuple(s[t] for t in TOKENS) for s in spans if s["kind"] == "llm"]
    assert calls == CALLS
    assert (trajectory["turns"], trajectory["tool_calls"]) == (2, 1)
    (tool,) = [s for s in spans if s["kind"] == "tool"]
    assert (tool["tool_args"], tool["output"], tool["error_message"]) == (ARGS, TOOL_RESULT, None)


def test_langchain_tool_span_reads_the_tool_message_and_takes_the_calls_arguments(tmp_path):
    trajectory, spans = stored(tmp_path, "langchain_weather_agent.json")
    assert (trajectory["agent_name"], trajectory["outcome"], trajectory["turns"]) == (
        "weather_agent", "success", 2,
    )  # fmt: skip
    tool = only(spans, "get_weather")
    # the tool's input is the bare string LangChain passed; its ToolMessage names the call
    assert (tool["input"], tool["output"], tool["tool_call_id"]) == (
        "Paris",
        TOOL_RESULT,
        "call_fake_1",
    )
    assert tool["tool_args"] == ARGS  # the arguments the model asked for, from the LLM call


def test_langchain_agent_span_input_is_its_input_value_not_an_empty_message(tmp_path):
    _, spans = stored(tmp_path, "langchain_weather_agent.json")
    raw = raw_spans("langchain_weather_agent.json")["weather_agent"]["attributes"]
    assert raw["llm.input_messages.0.message.role"] == "user"  # a lone role, no content
    assert only(spans, "weather_agent")["input"] == raw["input.value"]


def test_langchain_error_message_is_the_exception_not_the_traceback(tmp_path):
    trajectory, spans = stored(tmp_path, "langchain_tool_error.json")
    assert trajectory["outcome"] == "error"
    raw = raw_spans("langchain_tool_error.json")["get_weather"]
    assert "Traceback (most recent call last)" in raw["status"]["description"]
    failed = [s for s in spans if s["status"] == "error"]
    assert [s["name"] for s in failed] == ["weather_agent", "tools", "get_weather"]
    assert {s["error_message"] for s in failed} == {"weather service down"}


def test_openai_agents_run_is_named_after_its_agent_not_the_default_workflow(tmp_path):
    trajectory, spans = stored(tmp_path, "openai_agents_weather_agent.json")
    assert trajectory["agent_name"] == "weather_agent"
    assert [s["agent_name"] for s in spans if s["name"] == "Agent workflow"] == [None, None]


def test_openai_agents_answer_given_as_content_and_contents_is_one_part(tmp_path):
    _, spans = stored(tmp_path, "openai_agents_weather_agent.json")
    final = [s for s in spans if s["kind"] == "llm"][-1]
    assert json.loads(final["output"]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": ANSWER}]}
    ]


def test_openai_agents_run_whose_agent_failed_after_its_last_call_is_an_error(tmp_path):
    trajectory, spans = stored(tmp_path, "openai_agents_tool_error.json")
    # the root span and the only LLM call are fine; the agent span failed after the call
    assert [(s["name"], s["status"]) for s in spans if s["status"] == "error"] == [
        ("weather_agent", "error"), ("get_weather", "error"),
    ]  # fmt: skip
    assert (trajectory["outcome"], trajectory["outcome_inferred"]) == ("error", False)


def test_pydantic_ai_agent_span_shows_the_conversation_and_the_final_result(tmp_path):
    trajectory, spans = stored(tmp_path, "pydantic_ai_weather_agent.json")
    assert trajectory["outcome"] == "success"
    agent = only(spans, "invoke_agent weather_agent")
    raw = raw_spans("pydantic_ai_weather_agent.json")["invoke_agent weather_agent"]
    assert (agent["input"], agent["output"]) == (
        raw["attributes"]["pydantic_ai.all_messages"],
        ANSWER,
    )


def test_pydantic_ai_system_instructions_open_each_calls_input(tmp_path):
    _, spans = stored(tmp_path, "pydantic_ai_weather_agent.json")
    raw = raw_spans("pydantic_ai_weather_agent.json")["chat gpt-4o"]["attributes"]
    instructions = json.loads(raw["gen_ai.system_instructions"])
    for call in (s for s in spans if s["kind"] == "llm"):
        messages = json.loads(call["input"])
        assert messages[0] == {"role": "system", "parts": instructions}
        assert messages[1]["parts"] == [
            {"type": "text", "content": "What is the weather in Paris?"}
        ]


@pytest.mark.parametrize("name", ["pydantic_ai_tool_error.json", "langchain_tool_error.json"])
def test_a_run_whose_root_failed_is_an_error(tmp_path, name):
    trajectory, _ = stored(tmp_path, name)
    assert (trajectory["outcome"], trajectory["tool_errors"]) == ("error", 1)


@pytest.mark.parametrize(
    ("name", "tool_calls"),
    [
        ("smolagents_weather_agent.json", 2),  # get_weather, then smolagents' final_answer
        ("llamaindex_weather_agent.json", 1),
        ("crewai_weather_agent.json", 1),
        ("google_adk_weather_agent.json", 1),
        ("litellm_weather_loop.json", 0),
    ],
)
def test_a_run_is_two_turns_whatever_spans_wrap_its_two_requests(tmp_path, name, tool_calls):
    """LlamaIndex marks `_prepare_chat_with_tools` an LLM span, LiteLLM records each request
    again as `raw_gen_ai_request`: neither sends a request, so neither is a turn."""
    trajectory, spans = stored(tmp_path, name)
    assert (trajectory["turns"], trajectory["llm_calls"], trajectory["tool_calls"]) == (
        2, 2, tool_calls,
    )  # fmt: skip
    inputs = [s["input_tokens"] for s in spans if s["kind"] == "llm"]
    assert inputs == [120, 200]


@pytest.mark.parametrize("name", ["smolagents_weather_agent.json", "llamaindex_weather_agent.json"])
def test_tool_arguments_come_out_of_the_framework_s_call_envelope(tmp_path, name):
    _, spans = stored(tmp_path, name)
    tool = next(s for s in spans if s["kind"] == "tool")
    raw = json.loads(raw_spans(name)[tool["name"]]["attributes"]["input.value"])
    assert raw["kwargs"] == {"city": "Paris"}  # the arguments, inside the framework's envelope
    assert (tool["tool_args"], tool["output"]) == (ARGS, TOOL_RESULT)


def test_llamaindex_tool_result_is_the_tool_output_s_raw_output(tmp_path):
    _, spans = stored(tmp_path, "llamaindex_weather_agent.json")
    raw = json.loads(
        raw_spans("llamaindex_weather_agent.json")["FunctionTool.acall"]["attributes"][
            "output.value"
        ]
    )
    assert raw["raw_output"] == TOOL_RESULT and raw["tool_name"] == "get_weather"
    assert only(spans, "FunctionTool.acall")["output"] == TOOL_RESULT


@pytest.mark.parametrize(
    ("name", "agent"),
    [
        ("smolagents_weather_agent.json", "weather_agent"),  # span `weather_agent.run`
        ("crewai_weather_agent.json", "weather_agent"),  # graph.node.id; span `…._execute_core`
    ],
)
def test_the_agent_is_named_without_the_method_its_span_is_named_after(tmp_path, name, agent):
    trajectory, _ = stored(tmp_path, name)
    assert trajectory["agent_name"] == agent


def test_two_crewai_runs_of_one_task_share_its_task_key(tmp_path):
    keys = []
    for name in ("crewai_weather_agent.json", "crewai_weather_agent_again.json"):
        folder = tmp_path / name
        folder.mkdir()
        trajectory, _ = stored(folder, name)
        keys.append(trajectory["task_key"])
    raw = raw_spans("crewai_weather_agent.json")["weather_agent._execute_core"]["attributes"]
    assert keys == [f"task:{raw['task_key']}"] * 2  # not the per-run `task_id` uuid


def test_litellm_s_tool_call_given_only_as_a_legacy_function_call_is_kept(tmp_path):
    """LiteLLM's turn 1: gen_ai.output.messages has no parts; the call is only under
    gen_ai.completion.0.function_call.*"""
    _, spans = stored(tmp_path, "litellm_weather_loop.json")
    first = next(s for s in spans if s["kind"] == "llm")
    assert json.loads(first["output"]) == [
        {
            "role": "assistant",
            "parts": [{"type": "tool_call", "name": "get_weather", "arguments": {"city": "Paris"}}],
        }
    ]
