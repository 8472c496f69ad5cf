"""A span's input or output as the conversation it holds: who said what, which tools were
called with which arguments, and what they returned, instead of the JSON it is stored as.

Sources store messages in several shapes (OTel GenAI parts, OpenAI chat messages and
completions, Anthropic content blocks, Vercel AI SDK parts, LangSmith `{"messages": [...]}`,
tau-bench replies without a role); each becomes a list of (heading, text) entries. Anything else is not a conversation (`None`): the caller shows
the text itself. Pure: the inspector shows the entries as text, never as Markdown.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any, NamedTuple

TEXT_PARTS = ("text", "input_text", "output_text")


class Entry(NamedTuple):
    heading: str
    text: str


def transcript(text: str | None) -> list[Entry] | None:
    """The conversation in `text`, or None when it holds none."""
    if not text or text.lstrip()[:1] not in ("[", "{"):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    messages = _messages(value)
    if not messages:
        return None
    entries = [entry for message in messages for entry in _entries(message)]
    return entries or None


def _messages(value: Any) -> list[dict] | None:
    if isinstance(value, dict):
        if isinstance(value.get("role"), str):
            return [value]
        if set(value) <= {"content", "tool_calls"} and value:  # a reply stored without its role
            return [{"role": "assistant", **value}]
        for key in ("messages", "choices"):
            if isinstance(value.get(key), list):
                return _messages(value[key])
        return None
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        if all(isinstance(item.get("role"), str) for item in value):
            return value
        if all(isinstance(item.get("message"), dict) for item in value):  # completion choices
            return [item["message"] for item in value]
    return None


def _entries(message: dict) -> list[Entry]:
    role = message["role"]
    if message.get("name"):
        role = f"{role} · {message['name']}"
    if message.get("tool_call_id"):
        role = f"{role} · result of {message['tool_call_id']}"
    entries = []
    content = message.get("content")
    if isinstance(content, str) and content:
        entries.append(Entry(role, content))
    elif isinstance(content, list):
        entries += [_part(role, part) for part in content]
    elif content is not None and not isinstance(content, str):
        entries.append(Entry(role, _json(content)))
    for part in message.get("parts") or ():
        entries.append(_part(role, part))
    for call in message.get("tool_calls") or ():
        entries.append(_openai_call(role, call))
    if isinstance(message.get("function_call"), dict):  # OpenAI's pre-tools form
        entries.append(_openai_call(role, {"function": message["function_call"]}))
    return entries or [Entry(role, "(empty)")]


def _part(role: str, part: Any) -> Entry:
    """One content part or block: text, a tool call, a tool's result, or as JSON."""
    if not isinstance(part, dict):
        return Entry(role, str(part))
    kind = part.get("type")
    if kind in TEXT_PARTS:
        return Entry(role, str(part.get("content", part.get("text", ""))))
    if kind in ("tool_call", "tool_use", "tool-call"):  # GenAI, Anthropic, Vercel AI SDK
        arguments = part.get("arguments", part.get("input", part.get("args")))
        name, call = _first(part, "name", "toolName"), _first(part, "id", "toolCallId")
        return Entry(_calls(role, name, call), _json(arguments))
    if kind in ("tool_call_response", "tool_result", "tool-result"):
        result = _first(part, "response", "result", "content", "output")
        call = _first(part, "id", "tool_use_id", "toolCallId")
        return Entry(f"{role} · result of {call}", _blocks_text(result))
    if kind in ("reasoning", "thinking"):
        return Entry(f"{role} · reasoning", str(_first(part, "content", "thinking", "text") or ""))
    return Entry(role, _json(part))


def _first(part: dict, *keys: str) -> Any:
    return next((part[key] for key in keys if part.get(key) is not None), None)


def _blocks_text(value: Any) -> str:
    """A tool result: text as it is, a list of text blocks as their lines, else JSON."""
    if (
        isinstance(value, list)
        and value
        and all(isinstance(block, dict) and block.get("type") == "text" for block in value)
    ):
        return "\n".join(str(block.get("text", "")) for block in value)
    return _json(value)


def _openai_call(role: str, call: Any) -> Entry:
    if not isinstance(call, dict) or not isinstance(call.get("function"), dict):
        return Entry(role, _json(call))
    arguments = call["function"].get("arguments")
    if isinstance(arguments, str):  # OpenAI sends the arguments as JSON text
        with contextlib.suppress(ValueError):
            arguments = json.loads(arguments)
    return Entry(_calls(role, call["function"].get("name"), call.get("id")), _json(arguments))


def _calls(role: str, name: Any, call_id: Any) -> str:
    return f"{role} · calls {name}" + (f" ({call_id})" if call_id else "")


def _json(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False)
