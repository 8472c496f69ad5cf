"""A span's content as frameworks send it: messages, tool arguments and results, errors.

Conventions (`ingest.otlp.conventions`) say which attribute holds what; what is in it still
differs by framework: messages flattened or as GenAI JSON, tool arguments inside a call
envelope, a tool's result inside the framework's result object, an error message that is a
whole traceback. This module takes them out, so every span's `input`, `output` and
`tool_args` read the same whichever framework sent them.
"""

from __future__ import annotations

import json
from typing import Any

from ingest.canonical import fast_canonical_json, loads_json_text
from ingest.otlp.messages import flattened_messages

# Content rebuilt from flattened keys outranks generic dumps (input.value, ai.prompt, ...).
FLATTENED_CONTENT_RANK = 1
SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"
TRACEBACK = "Traceback (most recent call last)"
# OpenInference tool inputs that wrap the arguments: smolagents' {"args": [], "kwargs": {...},
# "sanitize_inputs_outputs": ...} and LlamaIndex's {"kwargs": {...}}.
ARGUMENT_ENVELOPE = frozenset({"args", "kwargs", "sanitize_inputs_outputs"})


def span_content(found: dict, ranks: dict, attrs: dict, kind: str) -> dict[str, Any]:
    """input, output, tool_args, tool_name and tool_call_id of a span, from the best-ranked
    aliases `found` (conventions._scan, with their `ranks`) and its attributes."""
    raw_in, raw_out = found.get("input"), found.get("output")
    if ranks.get("input", 99) > FLATTENED_CONTENT_RANK:
        raw_in = _with_content(flattened_messages(attrs, "input")) or raw_in
    if ranks.get("output", 99) > FLATTENED_CONTENT_RANK or _empty_messages(raw_out):
        raw_out = _with_content(flattened_messages(attrs, "output")) or raw_out
    if SYSTEM_INSTRUCTIONS in attrs and ranks.get("input") == 0:
        raw_in = _with_system_instructions(attrs[SYSTEM_INSTRUCTIONS], raw_in)
    tool_args, tool_result = found.get("tool_args"), found.get("tool_result")
    call_id = text_value(found.get("tool_call_id"))
    if kind == "tool":
        if tool_result is None:
            raw_out, call_id = _tool_result_object(raw_out, call_id)
        else:
            raw_out = tool_result
        # a bare input string with a call id is left: the arguments of that call fill it
        if tool_args is None and (call_id is None or _is_structured(raw_in)):
            tool_args = _unwrapped_arguments(raw_in)
    return {
        "input": content_text(raw_in),
        "output": content_text(raw_out),
        "tool_args": None if tool_args is None else arguments_text(tool_args),
        "tool_name": text_value(found.get("tool_name")),
        "tool_call_id": call_id,
    }


def _with_content(messages: list[dict] | None) -> list[dict] | None:
    """Rebuilt messages, unless none holds anything (a lone role key must not hide input.value)."""
    if messages and any(message["parts"] for message in messages):
        return messages
    return None


def _empty_messages(value: Any) -> bool:
    """GenAI messages text whose parts are all empty: LiteLLM sends a tool call so, with the
    call itself under the legacy `gen_ai.completion.0.function_call.*` keys."""
    return isinstance(value, str) and ('"parts": []' in value or '"parts":[]' in value)


def _with_system_instructions(instructions: Any, messages: Any) -> Any:
    """GenAI input messages with `gen_ai.system_instructions` (parts) as their first message."""
    parts, listed = loads_json_text(instructions), loads_json_text(messages)
    if isinstance(parts, str):
        parts = [{"type": "text", "content": parts}]
    if not isinstance(parts, list) or not isinstance(listed, list):
        return messages
    return [{"role": "system", "parts": parts}, *listed]


def _tool_result_object(output: Any, call_id: str | None) -> tuple[Any, str | None]:
    """A tool output that is a framework's result object -> (the result, the call id):
    LangChain's ToolMessage, serialised `{"type": "tool", "data": {"content", "tool_call_id"}}`
    or flat `{"type": "tool", "content", "tool_call_id"}`, and LlamaIndex's ToolOutput
    `{"tool_name", "raw_output", "blocks", ...}`."""
    message = output
    if isinstance(output, str):
        head = output[:200]
        if '"tool"' not in head and '"tool_name"' not in head and '"tool_call_id"' not in output:
            return output, call_id  # skip the parse
        message = loads_json_text(output)
    if not isinstance(message, dict):
        return output, call_id
    data = message.get("data")
    if message.get("type") == "tool" and isinstance(data, dict) and "content" in data:
        return data["content"], call_id or text_value(data.get("tool_call_id"))
    if message.get("type") == "tool" and "content" in message and "tool_call_id" in message:
        return message["content"], call_id or text_value(message["tool_call_id"])
    if "tool_name" in message and "raw_output" in message:
        return message["raw_output"], call_id
    return output, call_id


def _unwrapped_arguments(value: Any) -> Any:
    """A tool span's input, or the arguments inside an OpenInference call envelope."""
    parsed = value
    if isinstance(value, str):
        if '"kwargs"' not in value[:200]:  # skip the parse
            return value
        parsed = loads_json_text(value)
    if (
        isinstance(parsed, dict)
        and isinstance(parsed.get("kwargs"), dict)
        and set(parsed) <= ARGUMENT_ENVELOPE
        and not parsed.get("args")
    ):
        return parsed["kwargs"]
    return value


def _is_structured(value: Any) -> bool:
    return isinstance(value, (dict, list)) or isinstance(loads_json_text(value), (dict, list))


def error_message(status_message: str | None, exception_message: str | None) -> str | None:
    """The status description, unless it carries a whole Python traceback (LangChain's
    instrumentation does): then the exception event's message, or the text before it."""
    if not status_message or TRACEBACK not in status_message:
        return status_message or exception_message
    return exception_message or status_message.partition(TRACEBACK)[0].strip() or status_message


def content_text(value: Any) -> str | None:
    """Text stays as sent (usually JSON already); structured values become canonical JSON."""
    if value is None or isinstance(value, str):
        return value
    return fast_canonical_json(value)


def arguments_text(value: Any) -> str | None:
    """Tool arguments as canonical JSON text, so equal calls compare equal."""
    if value is None:
        return None
    return fast_canonical_json(loads_json_text(value) if isinstance(value, str) else value)


def text_value(value: Any) -> str | None:
    """An attribute value as text: strings as they are, objects and lists as JSON."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else str(value)
