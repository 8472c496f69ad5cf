"""Message content that conventions spread out: flattened keys, span events, tool calls.

OpenInference flattens messages into `llm.input_messages.<i>.message.*` keys and OpenLLMetry
into `gen_ai.prompt.<i>.*`; older GenAI instrumentations put content on span events. Both are
rebuilt here into OTel GenAI message form (`{"role", "parts": [...]}`), so the same call reads
the same whichever convention recorded it. `tool_calls_and_results` finds tool calls and
their results in any common message shape (GenAI parts, OpenAI, Anthropic, Vercel).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ingest.canonical import loads_json_text

MAX_DEPTH = 12
ROLE_EVENTS = {
    "gen_ai.system.message": "system", "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant", "gen_ai.tool.message": "tool",
}  # fmt: skip


class _Layout(NamedTuple):
    """Where one convention keeps each message field under `<prefix><i>.`."""

    role: str
    content: str
    tool_call_id: str
    name: str
    finish_reason: str
    calls: str
    call_id: str
    call_name: str
    call_args: str
    contents: str | None
    function_call: str | None = None  # the legacy single call, `<name>` and `<arguments>` under it


OPENINFERENCE = _Layout(
    "message.role", "message.content", "message.tool_call_id", "message.name", "message.finish_reason",
    "message.tool_calls.", "tool_call.id", "tool_call.function.name", "tool_call.function.arguments",
    "message.contents.",
)  # fmt: skip
OPENLLMETRY = _Layout(
    "role", "content", "tool_call_id", "name", "finish_reason", "tool_calls.", "id", "name",
    "arguments", None, "function_call.",
)  # fmt: skip
FLATTENED = {
    "input": (("llm.input_messages.", OPENINFERENCE), ("gen_ai.prompt.", OPENLLMETRY)),
    "output": (("llm.output_messages.", OPENINFERENCE), ("gen_ai.completion.", OPENLLMETRY)),
}


def _probes(prefix: str, layout: _Layout) -> tuple[str, ...]:
    """The keys whose presence says a span carries flattened messages: message 0's role,
    content or legacy function call (LiteLLM sends a call only so)."""
    fields = [layout.role, layout.content]
    if layout.function_call:
        fields.append(f"{layout.function_call}name")
    return tuple(f"{prefix}0.{field}" for field in fields)


FLATTENED_PROBES = {
    direction: tuple((prefix, layout, _probes(prefix, layout)) for prefix, layout in layouts)
    for direction, layouts in FLATTENED.items()
}


def flattened_messages(attrs: dict, direction: str) -> list[dict] | None:
    """Messages rebuilt from flattened `<prefix><i>.<field>` keys, or None when there are none."""
    for prefix, layout, probes in FLATTENED_PROBES[direction]:
        if any(key in attrs for key in probes):
            return _rebuild(attrs, prefix, layout)
    return None


def _rebuild(attrs: dict, prefix: str, layout: _Layout) -> list[dict]:
    start = len(prefix)
    fields = _indexed(
        (key[start:], value) for key, value in attrs.items() if key.startswith(prefix)
    )
    return [_message(fields[index], layout) for index in sorted(fields)]


def _indexed(items) -> dict[int, dict[str, Any]]:
    """`("3.message.role", v)` pairs grouped as {3: {"message.role": v}}."""
    grouped: dict[int, dict[str, Any]] = {}
    for rest, value in items:
        index, _, field = rest.partition(".")
        if index.isdigit() and field:
            grouped.setdefault(int(index), {})[field] = value
    return grouped


def _message(fields: dict[str, Any], layout: _Layout) -> dict:
    role = fields.get(layout.role)
    parts = _content_parts(fields, layout.contents) if layout.contents else []
    content, call_id = fields.get(layout.content), fields.get(layout.tool_call_id)
    if content is not None and not any(part.get("content") == content for part in parts):
        # OpenInference's `message.contents` is the structured form of `message.content`
        if role == "tool" and call_id is not None:
            parts.append({"type": "tool_call_response", "id": call_id, "response": content})
        else:
            parts.append({"type": "text", "content": content})
    calls = _indexed(
        (key[len(layout.calls) :], value)
        for key, value in fields.items()
        if key.startswith(layout.calls)
    )
    for index in sorted(calls):
        parts.append(_drop_none({
            "type": "tool_call",
            "id": calls[index].get(layout.call_id),
            "name": calls[index].get(layout.call_name),
            "arguments": loads_json_text(calls[index].get(layout.call_args)),
        }))  # fmt: skip
    if layout.function_call and f"{layout.function_call}name" in fields:
        parts.append(_drop_none({
            "type": "tool_call",
            "name": fields[f"{layout.function_call}name"],
            "arguments": loads_json_text(fields.get(f"{layout.function_call}arguments")),
        }))  # fmt: skip
        role = role or "assistant"
    message = {"role": role, "parts": parts}
    for key, field in (("name", layout.name), ("finish_reason", layout.finish_reason)):
        if fields.get(field) is not None:
            message[key] = fields[field]
    return message


def _content_parts(fields: dict[str, Any], prefix: str) -> list[dict]:
    contents = _indexed(
        (key[len(prefix) :], value) for key, value in fields.items() if key.startswith(prefix)
    )
    parts = []
    for index in sorted(contents):
        item = contents[index]
        kind = item.get("message_content.type") or "text"
        if kind == "image":
            parts.append(
                {
                    "type": "uri",
                    "modality": "image",
                    "uri": item.get("message_content.image.image.url"),
                }
            )
        else:
            parts.append({"type": kind, "content": item.get("message_content.text")})
    return parts


def messages_from_events(events) -> dict[str, Any]:
    """Attributes that span events carry for the mapping: content, exceptions, evaluation scores."""
    derived: dict[str, Any] = {}
    inputs, outputs = [], []
    for name, attrs in events:
        if name == "exception":
            for key in ("exception.type", "exception.message"):
                derived.setdefault(key, attrs.get(key))
        elif name == "gen_ai.content.prompt":
            derived["gen_ai.prompt"] = attrs.get("gen_ai.prompt")
        elif name == "gen_ai.content.completion":
            derived["gen_ai.completion"] = attrs.get("gen_ai.completion")
        elif name == "gen_ai.client.inference.operation.details":
            derived.update(attrs)
        elif name == "gen_ai.evaluation.result":
            derived.setdefault(
                "gen_ai.evaluation.score.value", attrs.get("gen_ai.evaluation.score.value")
            )
        elif name in ROLE_EVENTS:
            inputs.append({"role": ROLE_EVENTS[name], **_without_system(attrs)})
        elif name == "gen_ai.choice":
            outputs.append(_without_system(attrs))
    if inputs:
        derived.setdefault("gen_ai.prompt", inputs)
    if outputs:
        derived.setdefault("gen_ai.completion", outputs)
    return _drop_none(derived)


def _without_system(attrs: dict) -> dict:
    return {key: value for key, value in attrs.items() if key != "gen_ai.system"}


def _drop_none(values: dict) -> dict:
    return {key: value for key, value in values.items() if value is not None}


def tool_calls_and_results(value: Any) -> tuple[list[dict], list[dict]]:
    """(calls as {id, name, arguments}, results as {id, result}) found anywhere in `value`."""
    if isinstance(value, str):
        value = loads_json_text(value)
    calls: list[dict] = []
    results: list[dict] = []
    if not _genai_parts(value, calls, results):
        _walk(value, calls, results, 0)
    return calls, results


def _genai_parts(value: Any, calls: list, results: list) -> bool:
    """Fast path for OTel GenAI messages (`[{"role", "parts": [...]}]`); False if not that shape."""
    if not isinstance(value, list):
        return False
    for message in value:
        parts = message.get("parts") if isinstance(message, dict) else None
        if not isinstance(parts, list):
            calls.clear()
            results.clear()
            return False
        for part in parts:
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "tool_call":
                calls.append(_call(part.get("id"), part.get("name"), part.get("arguments")))
            elif kind == "tool_call_response":
                results.append(
                    {"id": part.get("id"), "result": part.get("response", part.get("result"))}
                )
    return True


def _walk(value: Any, calls: list, results: list, depth: int) -> None:
    if depth > MAX_DEPTH:
        return
    if isinstance(value, list):
        for item in value:
            _walk(item, calls, results, depth + 1)
        return
    if not isinstance(value, dict):
        return
    call = _as_call(value)
    if call is not None:
        calls.append(call)
        return
    result = _as_result(value)
    if result is not None:
        results.append(result)
        return
    for inner in value.values():
        if isinstance(inner, (list, dict)):
            _walk(inner, calls, results, depth + 1)


def _as_call(item: dict) -> dict | None:
    kind = item.get("type")
    if kind == "tool_call":
        return _call(item.get("id"), item.get("name"), item.get("arguments"))
    if kind == "tool_use":
        return _call(item.get("id"), item.get("name"), item.get("input"))
    function = item.get("function")
    if isinstance(function, dict) and "id" in item:
        return _call(item["id"], function.get("name"), function.get("arguments"))
    if "toolCallId" in item and "toolName" in item and kind not in ("tool-result", "tool_result"):
        return _call(item["toolCallId"], item["toolName"], item.get("input", item.get("args")))
    return None


def _call(call_id: Any, name: Any, arguments: Any) -> dict:
    return {"id": call_id, "name": name, "arguments": loads_json_text(arguments)}


def _as_result(item: dict) -> dict | None:
    kind = item.get("type")
    if kind == "tool_call_response":
        return {"id": item.get("id"), "result": item.get("response", item.get("result"))}
    if item.get("role") == "tool" and "tool_call_id" in item:
        return {"id": item["tool_call_id"], "result": item.get("content")}
    if kind in ("tool-result", "tool_result"):
        call_id = item.get("toolCallId", item.get("tool_use_id"))
        return {
            "id": call_id,
            "result": item.get("output", item.get("result", item.get("content"))),
        }
    return None
