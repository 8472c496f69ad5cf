"""ui.transcript: the messages a span's input or output holds, in each shape sources store."""

from __future__ import annotations

import json

import pytest

from ui.transcript import Entry, transcript

GENAI = [
    {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]},
    {
        "role": "assistant",
        "finish_reason": "tool_call",
        "parts": [
            {
                "type": "tool_call",
                "id": "call_1",
                "name": "get_weather",
                "arguments": {"q": "Paris"},
            }
        ],
    },
    {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_1", "response": "18°C"}]},
]
OPENAI_TOOL_CALL = {
    "role": "assistant",
    "content": "Running the tests again.",
    "tool_calls": [
        {
            "id": "call_8",
            "type": "function",
            "function": {"name": "run_tests", "arguments": '{"t": 1}'},
        }
    ],
}


@pytest.mark.parametrize(
    ("stored", "entries"),
    [
        (
            GENAI,
            [
                Entry("user", "Weather in Paris?"),
                Entry("assistant · calls get_weather (call_1)", '{\n  "q": "Paris"\n}'),
                Entry("tool · result of call_1", "18°C"),
            ],
        ),
        (  # OpenAI chat: a tool result, and a reply that calls a tool (JSON-text arguments)
            [{"role": "tool", "tool_call_id": "call_8", "content": "1 failed"}, OPENAI_TOOL_CALL],
            [
                Entry("tool · result of call_8", "1 failed"),
                Entry("assistant", "Running the tests again."),
                Entry("assistant · calls run_tests (call_8)", '{\n  "t": 1\n}'),
            ],
        ),
        (  # LangSmith inputs, and an OpenAI completion as output
            {"messages": [{"role": "system", "content": "Be brief."}]},
            [Entry("system", "Be brief.")],
        ),
        ({"choices": [{"index": 0, "message": OPENAI_TOOL_CALL}]}, None),
        (  # Anthropic content blocks
            [
                {
                    "role": "assistant",
                    "content": [
                        {"type": "text", "text": "Looking."},
                        {"type": "tool_use", "id": "tu_1", "name": "search", "input": {"q": "x"}},
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "tu_1", "content": "3 hits"}
                    ],
                },
            ],
            [
                Entry("assistant", "Looking."),
                Entry("assistant · calls search (tu_1)", '{\n  "q": "x"\n}'),
                Entry("user · result of tu_1", "3 hits"),
            ],
        ),
    ],
)
def test_messages_in_every_stored_shape(stored, entries):
    found = transcript(json.dumps(stored))
    if entries is None:  # the completion: its message, as the OpenAI chat case reads it
        entries = transcript(json.dumps([OPENAI_TOOL_CALL]))
    assert found == entries


@pytest.mark.parametrize(
    "stored",
    [None, "", "plain text", "{not json", '{"path": "a.py"}', "[1, 2]", '[{"role": 1}]', "{}"],
)
def test_what_is_not_a_conversation_is_none(stored):
    assert transcript(stored) is None


def test_more_shapes_sources_write():
    tau_reply = {  # tau-bench: the assistant's reply stored without its role
        "tool_calls": [
            {
                "id": "call_o",
                "function": {"name": "get_user_details", "arguments": '{"user_id": "m3"}'},
            }
        ]
    }
    assert transcript(json.dumps(tau_reply)) == [
        Entry("assistant · calls get_user_details (call_o)", '{\n  "user_id": "m3"\n}')
    ]
    anthropic = [
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "Check the file.", "signature": "x"}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "tu_2", "content": [
                {"type": "text", "text": "line one"}, {"type": "text", "text": "line two"}]},
        ]},
        {"role": "assistant", "content": ""},
    ]  # fmt: skip
    assert transcript(json.dumps(anthropic)) == [
        Entry("assistant · reasoning", "Check the file."),
        Entry("user · result of tu_2", "line one\nline two"),
        Entry("assistant", "(empty)"),  # an empty message is shown, not dropped
    ]
    vercel = [
        {"role": "assistant", "content": [
            {"type": "tool-call", "toolCallId": "v1", "toolName": "weather", "input": {"city": "Oslo"}}]},
        {"role": "tool", "content": [
            {"type": "tool-result", "toolCallId": "v1", "toolName": "weather", "output": "4°C"}]},
    ]  # fmt: skip
    assert transcript(json.dumps(vercel)) == [
        Entry("assistant · calls weather (v1)", '{\n  "city": "Oslo"\n}'),
        Entry("tool · result of v1", "4°C"),
    ]
    legacy = {
        "role": "assistant",
        "content": None,
        "function_call": {"name": "f", "arguments": "{}"},
    }
    assert transcript(json.dumps(legacy)) == [Entry("assistant · calls f", "{}")]
