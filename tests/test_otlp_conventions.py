"""Attribute conventions -> canonical columns, through the pure `map_attributes`.

The four attribute_maps files (Arize openinference-genai fixtures) describe the same
tool-calling chat in current OTel GenAI, deprecated OTel GenAI and OpenInference names,
plus the execute_tool span; the crafted dicts below exercise one rule each.
"""

from __future__ import annotations

import json

import pytest

from ingest.canonical import SPAN_COLUMNS
from ingest.otlp.adapter import span_row, spans_to_table
from ingest.otlp.conventions import map_attributes, normalise_provider
from ingest.otlp.envelope import neutral_span
from ingest.otlp.messages import tool_calls_and_results

CHAT_MAPS = {
    "otel_genai_client_span_tool_calls.json": "gen_ai",
    "otel_genai_deprecated_client_span_tool_calls.json": "gen_ai",
    "openinference_client_span_tool_calls.json": "openinference",
}
EXPECTED_INPUT = [
    {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]},
    {
        "role": "assistant",
        "parts": [
            {"type": "text", "content": "Absolutely! Let me check the weather for you."},
            {
                "type": "tool_call",
                "id": "1234",
                "name": "get_weather",
                "arguments": {"location": "Paris"},
            },
        ],
    },
    {
        "role": "tool",
        "parts": [{"type": "tool_call_response", "id": "1234", "response": "rainy, 57°F"}],
    },
]
ANSWER = "The weather in Paris is currently rainy with a temperature of 57°F."


def load_map(shared_traces, name: str) -> dict:
    return json.loads((shared_traces / "otlp" / "attribute_maps" / name).read_text())


@pytest.mark.parametrize("name", CHAT_MAPS)
def test_chat_maps_agree_on_model_tokens_and_tool_calls(shared_traces, name):
    columns = map_attributes(load_map(shared_traces, name))
    assert columns["convention"] == CHAT_MAPS[name]
    assert columns["kind"] == "llm"
    assert (columns["model"], columns["request_model"], columns["provider"]) == (
        "gpt-4-0613", "gpt-4", "openai",
    )  # fmt: skip
    assert (columns["input_tokens"], columns["output_tokens"]) == (97, 52)
    assert columns["cache_read_tokens"] is None and columns["reasoning_tokens"] is None
    assert json.loads(columns["input"]) == EXPECTED_INPUT
    calls, results = tool_calls_and_results(columns["input"])
    assert calls == [{"id": "1234", "name": "get_weather", "arguments": {"location": "Paris"}}]
    assert results == [{"id": "1234", "result": "rainy, 57°F"}]
    assert ANSWER in columns["output"]
    assert columns["error_flagged"] is False


def test_openinference_output_messages_are_rebuilt(shared_traces):
    columns = map_attributes(load_map(shared_traces, "openinference_client_span_tool_calls.json"))
    assert json.loads(columns["output"]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": ANSWER}]}
    ]


def test_tool_execution_span_map(shared_traces):
    columns = map_attributes(load_map(shared_traces, "otel_genai_tool_execution_span.json"))
    assert (columns["kind"], columns["convention"]) == ("tool", "gen_ai")
    assert (columns["tool_name"], columns["tool_call_id"]) == ("get_weather", "1234")
    assert columns["tool_args"] == '{"city":"New York"}'
    assert json.loads(columns["output"])["status"] == "success"
    assert columns["model"] is None and columns["input_tokens"] is None


@pytest.mark.parametrize(
    ("attributes", "name", "kind"),
    [
        ({"gen_ai.operation.name": "embeddings"}, "", "embedding"),
        ({"gen_ai.operation.name": "invoke_workflow"}, "", "agent"),
        ({"gen_ai.operation.name": "retrieval"}, "", "retrieval"),
        ({"openinference.span.kind": "RETRIEVER"}, "", "retrieval"),
        ({"openinference.span.kind": "CHAIN"}, "", "chain"),
        ({"traceloop.span.kind": "tool"}, "get_weather.tool", "tool"),
        ({"llm.request.type": "chat"}, "openai.chat", "llm"),
        ({"langfuse.observation.type": "generation"}, "", "llm"),
        ({"langsmith.span.kind": "retriever"}, "", "retrieval"),
        ({"ai.operationId": "ai.toolCall"}, "ai.toolCall", "tool"),
        ({"ai.operationId": "ai.streamText.doStream"}, "", "llm"),
        ({}, "execute_tool search", "tool"),
        ({}, "invoke_agent", "agent"),
        ({}, "anthropic.chat", "llm"),
        ({}, "my_flow.workflow", "chain"),
        ({}, "agent run", "agent"),
        ({}, "running tool", "tool"),
        ({"gen_ai.tool.name": "search"}, "custom", "tool"),
        ({"gen_ai.request.model": "gpt-4o"}, "custom", "llm"),
        ({"gen_ai.operation.name": "something_new"}, "custom", "other"),
        ({"http.method": "GET"}, "GET /", "other"),
    ],
)
def test_kind_first_match_wins(attributes, name, kind):
    assert map_attributes(attributes, name)["kind"] == kind


@pytest.mark.parametrize(
    ("attributes", "name", "agent"),
    [
        ({"openinference.span.kind": "AGENT"}, "weather-agent", "weather-agent"),
        ({"openinference.span.kind": "AGENT", "agent.name": "planner"}, "run", "planner"),
        ({"gen_ai.operation.name": "invoke_agent"}, "invoke_agent", None),  # GenAI: no guess
        ({"openinference.span.kind": "CHAIN"}, "weather-agent", None),
    ],
)
def test_an_openinference_agent_span_is_named_after_its_agent(attributes, name, agent):
    assert map_attributes(attributes, name)["agent_name"] == agent


def test_operation_name_outranks_other_kind_sources():
    attributes = {"gen_ai.operation.name": "chat", "openinference.span.kind": "AGENT"}
    assert map_attributes(attributes, "invoke_agent")["kind"] == "llm"


@pytest.mark.parametrize(
    ("raw", "provider"),
    [
        ("openai", "openai"),
        ("openai.responses", "openai"),
        ("openai.chat", "openai"),
        ("OpenAI", "openai"),
        ("az.ai.openai", "azure.ai.openai"),
        ("vertex_ai", "gcp.vertex_ai"),
        ("gemini", "gcp.gemini"),
        ("xai", "x_ai"),
        ("aws.bedrock", "aws.bedrock"),
        ("gcp.vertex_ai", "gcp.vertex_ai"),
        ("mistralai", "mistral_ai"),
        (None, None),
    ],
)
def test_provider_normalisation(raw, provider):
    assert normalise_provider(raw) == provider


def test_deprecated_usage_and_system_names():
    columns = map_attributes(
        {
            "gen_ai.system": "az.ai.openai",
            "gen_ai.request.model": "gpt-4",
            "gen_ai.usage.prompt_tokens": "300",
            "gen_ai.usage.completion_tokens": 7,
            "gen_ai.usage.cache_read_input_tokens": 100,
            "gen_ai.usage.reasoning_tokens": 3,
        }
    )
    assert columns["provider"] == "azure.ai.openai"
    assert (columns["input_tokens"], columns["output_tokens"]) == (300, 7)
    assert (columns["cache_read_tokens"], columns["reasoning_tokens"]) == (100, 3)
    assert columns["model"] == "gpt-4" and columns["kind"] == "llm"


def test_current_names_win_over_deprecated_ones():
    columns = map_attributes(
        {
            "gen_ai.usage.prompt_tokens": 1,
            "gen_ai.usage.input_tokens": 2,
            "gen_ai.system": "x",
            "gen_ai.provider.name": "anthropic",
        }
    )
    assert (columns["input_tokens"], columns["provider"]) == (2, "anthropic")


def test_cache_write_spellings():
    for key in (
        "gen_ai.usage.cache_creation.input_tokens",
        "gen_ai.usage.cache_write.input_tokens",
        "gen_ai.usage.cache_creation_input_tokens",
        "llm.token_count.prompt_details.cache_write",
    ):
        columns = map_attributes({"gen_ai.usage.input_tokens": 5000, key: 1200})
        assert (columns["cache_write_tokens"], columns["input_tokens"]) == (1200, 5000), key


def test_inclusive_counts_are_kept():
    columns = map_attributes(
        {"gen_ai.usage.input_tokens": 1200, "gen_ai.usage.cache_read.input_tokens": 1024,
         "gen_ai.usage.output_tokens": 40, "gen_ai.usage.reasoning.output_tokens": 30}
    )  # fmt: skip
    assert (columns["input_tokens"], columns["output_tokens"]) == (1200, 40)


def test_raw_anthropic_style_counts_are_made_inclusive():
    # Anthropic's own input_tokens exclude cache: 12 uncached + 3000 read + 500 written.
    columns = map_attributes(
        {"gen_ai.usage.input_tokens": 12, "gen_ai.usage.cache_read.input_tokens": 3000,
         "gen_ai.usage.cache_creation.input_tokens": 500, "gen_ai.usage.output_tokens": 10,
         "gen_ai.usage.reasoning.output_tokens": 25}
    )  # fmt: skip
    assert (columns["input_tokens"], columns["cache_read_tokens"], columns["cache_write_tokens"]) == (
        3512, 3000, 500,
    )  # fmt: skip
    assert (columns["output_tokens"], columns["reasoning_tokens"]) == (35, 25)


def test_langfuse_usage_details_are_made_inclusive():
    columns = map_attributes(
        {
            "langfuse.observation.type": "generation",
            "langfuse.observation.model.name": "claude-sonnet-4",
            "langfuse.observation.usage_details": json.dumps(
                {"input": 100, "output": 20, "input_cached_tokens": 900, "output_reasoning": 30}
            ),
            "langfuse.observation.cost_details": json.dumps({"total": 0.0042}),
            "langfuse.session.id": "sess-9",
        }
    )
    assert (columns["convention"], columns["kind"], columns["model"]) == (
        "langfuse",
        "llm",
        "claude-sonnet-4",
    )
    assert (columns["input_tokens"], columns["output_tokens"]) == (1000, 50)
    assert (columns["cache_read_tokens"], columns["reasoning_tokens"]) == (900, 30)
    assert (columns["cost_usd"], columns["session_id"]) == (0.0042, "sess-9")


def test_openinference_counts_and_costs():
    columns = map_attributes(
        {"openinference.span.kind": "LLM", "llm.model_name": "claude-3-5-sonnet", "llm.provider": "anthropic",
         "llm.token_count.prompt": 5000, "llm.token_count.completion": 80,
         "llm.token_count.prompt_details.cache_read": 4000, "llm.cost.total": 0.0123,
         "session.id": "s1", "agent.name": "planner"}
    )  # fmt: skip
    assert (columns["convention"], columns["provider"], columns["input_tokens"]) == (
        "openinference",
        "anthropic",
        5000,
    )
    assert (columns["cache_read_tokens"], columns["cost_usd"]) == (4000, 0.0123)
    assert (columns["session_id"], columns["agent_name"]) == ("s1", "planner")


def test_openllmetry_indexed_messages():
    columns = map_attributes(
        {
            "traceloop.workflow.name": "weather",
            "llm.request.type": "chat",
            "gen_ai.system": "OpenAI",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.prompt.0.role": "user",
            "gen_ai.prompt.0.content": "Weather in Paris?",
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.finish_reason": "tool_calls",
            "gen_ai.completion.0.tool_calls.0.id": "call_9",
            "gen_ai.completion.0.tool_calls.0.name": "get_weather",
            "gen_ai.completion.0.tool_calls.0.arguments": '{"location": "Paris"}',
        },
        "openai.chat",
    )
    assert (columns["convention"], columns["kind"], columns["provider"]) == (
        "openllmetry",
        "llm",
        "openai",
    )
    assert columns["agent_name"] == "weather"
    assert json.loads(columns["input"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]}
    ]
    assert json.loads(columns["output"]) == [
        {
            "role": "assistant",
            "finish_reason": "tool_calls",
            "parts": [
                {
                    "type": "tool_call",
                    "id": "call_9",
                    "name": "get_weather",
                    "arguments": {"location": "Paris"},
                }
            ],
        }
    ]


def test_vercel_tool_call_span():
    columns = map_attributes(
        {"ai.operationId": "ai.toolCall", "ai.toolCall.name": "search", "ai.toolCall.id": "tc1",
         "ai.toolCall.args": '{"q": "otel", "limit": 3}', "ai.toolCall.result": '["a", "b"]'},
        "ai.toolCall",
    )  # fmt: skip
    assert (columns["convention"], columns["kind"], columns["tool_name"]) == (
        "vercel_ai",
        "tool",
        "search",
    )
    assert (columns["tool_call_id"], columns["tool_args"]) == ("tc1", '{"limit":3,"q":"otel"}')
    assert columns["output"] == '["a", "b"]'


def test_a_flat_langchain_tool_message_gives_the_result_and_the_call_id():
    message = {"content": "72F", "type": "tool", "name": "weather", "tool_call_id": "call_7"}
    columns = map_attributes(
        {"openinference.span.kind": "TOOL", "tool.name": "weather", "input.value": "{'city': 'Oslo'}",
         "output.value": json.dumps({"additional_kwargs": {}, **message})},
        "weather",
    )  # fmt: skip
    # the input is Python text, not JSON: the call's arguments are left to the LLM message fill
    assert (columns["output"], columns["tool_call_id"], columns["tool_args"]) == (
        "72F", "call_7", None,
    )  # fmt: skip


def test_logfire_and_litellm_extras():
    logfire = map_attributes(
        {"logfire.msg": "chat gpt-4o", "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
         "gen_ai.usage.input_tokens": 900, "gen_ai.usage.output_tokens": 300,
         "gen_ai.usage.details.reasoning_tokens": 200, "gen_ai.usage.details.cache_read_tokens": 512,
         "operation.cost": 0.01}
    )  # fmt: skip
    assert logfire["convention"] == "logfire"
    assert (logfire["reasoning_tokens"], logfire["cache_read_tokens"], logfire["cost_usd"]) == (
        200,
        512,
        0.01,
    )
    litellm = map_attributes(
        {"gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.cost.total_cost": 0.5,
         "litellm.call_id": "c1"},
        "litellm_request",
    )  # fmt: skip
    assert (litellm["convention"], litellm["kind"], litellm["cost_usd"]) == ("litellm", "llm", 0.5)


def test_langsmith_otel_export():
    columns = map_attributes(
        {"langsmith.span.kind": "llm", "langsmith.trace.name": "RunnableSequence",
         "langsmith.metadata.thread_id": "thread-1", "gen_ai.system": "anthropic",
         "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 2}
    )  # fmt: skip
    assert (columns["convention"], columns["kind"], columns["session_id"]) == (
        "langsmith",
        "llm",
        "thread-1",
    )


def test_task_id_score_and_session():
    assert map_attributes({"task.id": 42})["task_id"] == "42"
    assert (
        map_attributes({"metadata": '{"task_id": "airline-7", "user": "u"}'})["task_id"]
        == "airline-7"
    )
    assert map_attributes({"metadata": '{"user": "u"}'})["task_id"] is None
    assert map_attributes({"gen_ai.evaluation.score.value": 0.75})["score"] == 0.75
    assert map_attributes({"gen_ai.conversation.id": "c", "session.id": "s"})["session_id"] == "c"


def test_events_carry_content_errors_and_scores():
    events = [
        ("gen_ai.content.prompt", {"gen_ai.prompt": '[{"role": "user", "content": "hi"}]'}),
        (
            "gen_ai.content.completion",
            {"gen_ai.completion": '[{"role": "assistant", "content": "yo"}]'},
        ),
        ("exception", {"exception.type": "RateLimitError", "exception.message": "429"}),
        ("gen_ai.evaluation.result", {"gen_ai.evaluation.score.value": 1.0}),
    ]
    columns = map_attributes({"gen_ai.operation.name": "chat"}, "chat m", events)
    assert columns["input"] == '[{"role": "user", "content": "hi"}]'
    assert columns["output"] == '[{"role": "assistant", "content": "yo"}]'
    assert (columns["error_type"], columns["error_message"], columns["score"]) == (
        "RateLimitError",
        "429",
        1.0,
    )
    details = [
        (
            "gen_ai.client.inference.operation.details",
            {"gen_ai.input.messages": "[1]", "gen_ai.output.messages": "[2]"},
        )
    ]
    columns = map_attributes({}, "chat m", details)
    assert (columns["input"], columns["output"]) == ("[1]", "[2]")
    role_events = [
        ("gen_ai.user.message", {"content": "hello"}),
        ("gen_ai.choice", {"index": 0, "message": {"content": "hey"}}),
    ]
    columns = map_attributes({}, "chat m", role_events)
    assert json.loads(columns["input"]) == [{"role": "user", "content": "hello"}]
    assert json.loads(columns["output"]) == [{"index": 0, "message": {"content": "hey"}}]


def test_span_attributes_win_over_event_copies():
    events = [("gen_ai.content.prompt", {"gen_ai.prompt": "from event"})]
    assert (
        map_attributes({"gen_ai.input.messages": "from attribute"}, "", events)["input"]
        == "from attribute"
    )


def _span(span_id, attributes, status_code=0, message=None, trace="t1", parent=None, events=()):
    return neutral_span(
        trace,
        span_id,
        parent,
        "s",
        None,
        1,
        2,
        status_code,
        message,
        attributes,
        "{}",
        list(events),
    )


def _row(span: dict) -> dict:
    return dict(zip(SPAN_COLUMNS, span_row(span, 0), strict=True))


def test_status_and_error_columns():
    row = _row(_span("a", {"error.type": "timeout"}))
    assert (row["status"], row["error_type"]) == ("error", "timeout")
    row = _row(_span("b", {}, 2, "boom"))
    assert (row["status"], row["error_message"], row["error_type"]) == ("error", "boom", None)
    row = _row(_span("c", {"exception.type": "Handled"}, 1))
    assert (row["status"], row["error_type"]) == ("ok", None)  # an OK span keeps no error details


def test_tool_span_takes_arguments_and_result_from_the_llm_messages():
    chat1 = {"gen_ai.operation.name": "chat", "gen_ai.output.messages": json.dumps(
        [{"role": "assistant", "parts": [{"type": "tool_call", "id": "call_7", "name": "lookup", "arguments": {"b": 2, "a": 1}}]}])}  # fmt: skip
    tool = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.call.id": "call_7"}
    chat2 = {"gen_ai.operation.name": "chat", "gen_ai.input.messages": json.dumps(
        [{"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_7", "response": {"ok": True}}]}])}  # fmt: skip
    other_trace = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.call.id": "call_7"}
    table = spans_to_table(
        [
            _span("1", chat1),
            _span("2", tool),
            _span("3", chat2),
            _span("4", other_trace, trace="t2"),
        ]
    )
    rows = {row["span_id"]: row for row in table.to_pylist()}
    assert (rows["2"]["tool_args"], rows["2"]["tool_name"], rows["2"]["output"]) == (
        '{"a":1,"b":2}', "lookup", '{"ok":true}',
    )  # fmt: skip
    assert (rows["4"]["tool_args"], rows["4"]["output"]) == (None, None)  # another trajectory
