"""Messages JSONL: one trajectory per record as OpenAI-style chat messages.

Each assistant message is one LLM turn; each of its tool calls becomes a tool span joined
to its result by `tool_call_id`. tau-bench's historical trajectories are this shape (a JSON
array with `traj`, `task_id`, `reward`). Times and tokens that the record does not carry stay
NULL: an LLM turn's start is the previous message's timestamp only when both are recorded.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ingest import registry
from ingest.canonical import (
    as_float,
    as_int,
    as_text,
    canonical_json,
    parse_time_ns,
    stable_id,
    to_table,
)
from ingest.errors import DecodeError
from ingest.jsonutil import first_char, iter_records, parse_json_text
from ingest.source import Source

NAME = "messages_jsonl"
MESSAGE_KEYS = ("messages", "traj", "trajectory", "conversation")
ID_KEYS = ("trajectory_id", "trace_id", "id")
ERROR_PREFIXES = ("error:", "error -", "exception:", "traceback (most recent call last)")
# mini-swe-agent's trajectory files open with `{"info": {"model_stats": ...`
MINI_SWE_AGENT_START = re.compile(rb'^\s*\{\s*"info"\s*:\s*\{\s*"model_stats"')


def sniff(head: bytes, source: Source) -> bool:
    if first_char(head) not in ("[", "{"):
        return False
    if MINI_SWE_AGENT_START.match(head):
        return True  # its messages come after a config that can outgrow the sniffed bytes
    text = head[:16384].decode("utf-8", "replace")
    has_messages = any(f'"{key}"' in text for key in MESSAGE_KEYS)
    return has_messages and '"role"' in text and '"resourceSpans"' not in text


def decode(source: Source) -> registry.Decoded:
    rows: list[dict] = []
    skipped: list[registry.Skipped] = []
    for position, record in iter_records(source):
        rows.extend(_trajectory_rows(record, position, source, skipped))
    return registry.Decoded(format=NAME, spans=to_table(rows), skipped=skipped)


def _trajectory_rows(record: Any, position: str, source: Source, skipped: list) -> list[dict]:
    messages = _messages(record, position, source)
    trace_id = _trace_id(record)
    model = record.get("model") or _configured_model(record)
    root = _root_row(record, trace_id, messages, position, source)
    rows, pending_calls, previous_ns, context = [root], {}, None, []
    for index, message in enumerate(messages):
        where = f"{position}, message {index + 1}"
        if not isinstance(message, dict) or "role" not in message:
            raise DecodeError(source.display_name, "expected a message object with a 'role'", where)
        stamp = _time(
            _coalesce(message.get("timestamp"), _extra(message).get("timestamp")), where, source
        )
        role = message["role"]
        if role == "assistant":
            llm = _llm_row(message, trace_id, root, index, model, previous_ns, stamp, where, source)
            llm["input"] = json.dumps(context, ensure_ascii=False) if context else None
            context = []
            rows.append(llm)
            for call in _shaped(message.get("tool_calls"), list, "tool_calls", where, source):
                tool = _tool_row(call, trace_id, root, index, stamp, where, source)
                rows.append(tool)
                pending_calls[tool["tool_call_id"]] = tool
        else:
            context.append(message)
        if role in ("tool", "function"):
            _attach_result(message, pending_calls, stamp, where, skipped)
        previous_ns = stamp if stamp is not None else previous_ns
    _close_root(root, rows)
    if (stopped := _stopped_early(record)) is not None:
        root["status"], root["error_message"] = "error", stopped
    return rows


def _messages(record: Any, position: str, source: Source) -> list:
    if not isinstance(record, dict):
        raise DecodeError(source.display_name, "expected a trajectory object", position)
    for key in MESSAGE_KEYS:
        if isinstance(record.get(key), list):
            return record[key]
    raise DecodeError(
        source.display_name,
        f"expected a list of chat messages under one of {', '.join(MESSAGE_KEYS)}",
        position,
    )


def _trace_id(record: dict) -> str:
    for key in ID_KEYS:
        if record.get(key) not in (None, ""):
            return str(record[key])
    return stable_id(record)


def _root_row(record: dict, trace_id: str, messages: list, position, source) -> dict:
    first_user = next(
        (m.get("content") for m in messages if isinstance(m, dict) and m.get("role") == "user"),
        None,
    )
    score = as_float(_first(record, "reward", "score"))
    task_id = _first(record, "task_id", "task", "instance_id")
    agent = _first(record, "agent_name", "agent") or _harness_name(record)
    attributes = {k: v for k, v in record.items() if k not in MESSAGE_KEYS}
    return {
        "trace_id": trace_id,
        "span_id": stable_id(trace_id, "root", length=16),
        "parent_id": None,
        "source": "jsonl",
        "convention": "openai_messages",
        "name": str(agent or "trajectory"),
        "kind": "agent",
        "start_ns": _time(_first(record, "start_time", "timestamp"), position, source),
        "end_ns": _time(record.get("end_time"), position, source),
        "status": "unset",
        "agent_name": agent,
        "session_id": _first(record, "session_id", "conversation_id", "thread_id"),
        "task_id": None if task_id is None or isinstance(task_id, dict) else str(task_id),
        "model": record.get("model"),
        "input": as_text(first_user),
        "score": score,
        "seq": 0,
        "attributes": canonical_json(attributes),
    }


def _llm_row(message, trace_id, root, index, model, previous_ns, stamp, where, source) -> dict:
    response = _extra(message).get("response")
    response = response if isinstance(response, dict) else {}  # another tool's `extra`: not ours
    usage = _shaped(message.get("usage") or response.get("usage"), dict, "usage", where, source)
    start = _time(message.get("start_time"), where, source)
    end = _time(message.get("end_time"), where, source) or stamp
    if start is None and previous_ns is None:  # the first call: when the provider created its
        created = _time(response.get("created"), where, source)  # answer (whole seconds)
        start = created if created is not None and end is not None and created <= end else None
    if start is None and end is not None and previous_ns is not None and previous_ns <= end:
        start = previous_ns
    requested = message.get("model") or model
    message_model = response.get("model") or requested  # the model that answered, if recorded
    output = {k: message.get(k) for k in ("content", "tool_calls") if message.get(k) is not None}
    return {
        "trace_id": trace_id,
        "span_id": stable_id(trace_id, "msg", index, length=16),
        "parent_id": root["span_id"],
        "source": "jsonl",
        "convention": "openai_messages",
        "name": f"chat {message_model}" if message_model else "chat",
        "kind": "llm",
        "start_ns": start if end is not None else None,
        "end_ns": end if start is not None else None,
        "status": "error" if message.get("error") else "ok",
        "error_message": as_text(message.get("error")),
        "model": message_model,
        "request_model": requested or message_model,
        "input_tokens": as_int(_first(usage, "prompt_tokens", "input_tokens")),
        "output_tokens": as_int(_first(usage, "completion_tokens", "output_tokens")),
        "reasoning_tokens": as_int(
            _coalesce(
                _detail(usage, "completion_tokens_details", "reasoning_tokens"),
                usage.get("reasoning_tokens"),
            )
        ),
        "cache_read_tokens": as_int(
            _coalesce(
                _detail(usage, "prompt_tokens_details", "cached_tokens"),
                _first(usage, "cache_read_tokens", "cached_tokens"),
            )
        ),
        "cache_write_tokens": as_int(_first(usage, "cache_write_tokens", "cache_creation_tokens")),
        "cost_usd": as_float(
            _coalesce(_first(message, "cost", "cost_usd"), _extra(message).get("cost"))
        ),
        "output": json.dumps(output, ensure_ascii=False),
        "agent_name": root["agent_name"],
        "session_id": root["session_id"],
        "seq": index + 1,
        "attributes": canonical_json({"usage": usage} if usage else {}),
    }


def _tool_row(call, trace_id, root, index, stamp, where, source) -> dict:
    if not isinstance(call, dict):
        raise DecodeError(source.display_name, "expected tool_calls entries to be objects", where)
    function = _shaped(call.get("function"), dict, "function", where, source)
    name = function.get("name") or call.get("name")
    arguments = parse_json_text(function.get("arguments", call.get("arguments")))
    call_id = str(call.get("id") or stable_id(trace_id, index, name, length=16))
    return {
        "trace_id": trace_id,
        "span_id": stable_id(trace_id, "tool", index, call_id, length=16),
        "parent_id": root["span_id"],
        "source": "jsonl",
        "convention": "openai_messages",
        "name": f"execute_tool {name}" if name else "execute_tool",
        "kind": "tool",
        "start_ns": stamp,
        "end_ns": None,
        "status": "unset",
        "tool_name": name,
        "tool_call_id": call_id,
        "tool_args": canonical_json(arguments) if arguments is not None else None,
        "agent_name": root["agent_name"],
        "session_id": root["session_id"],
        "seq": index + 1,
        "attributes": canonical_json({"tool_call": call}),
    }


def _attach_result(message, pending_calls, stamp, where, skipped) -> None:
    call_id = message.get("tool_call_id")
    tool = pending_calls.get(str(call_id)) if call_id is not None else None
    if tool is None:
        skipped.append(registry.Skipped(where, f"tool result for unknown tool_call_id {call_id!r}"))
        return
    content = message.get("content")
    tool["output"] = as_text(content)
    tool["end_ns"] = stamp if tool["start_ns"] is not None and stamp is not None else None
    if tool["end_ns"] is None:
        tool["start_ns"] = None
    failed = (
        message.get("is_error")
        or message.get("error")
        or _looks_like_error(content)
        or _command_failed(_extra(message))
    )
    tool["status"] = "error" if failed else "ok"
    if failed:
        exception = _extra(message).get("exception_info")  # a timeout says so here, not there
        text = exception or content
        tool["error_message"] = as_text(text)[:2000] if text is not None else None


def _command_failed(extra: dict) -> bool:
    """mini-swe-agent's record of a shell command: an exception, or a non-zero exit status."""
    return bool(extra.get("exception_info")) or extra.get("returncode") not in (None, 0)


def _extra(message: dict) -> dict:
    """What a harness records beside a message: mini-swe-agent's `extra` holds the provider's
    whole response (model, usage), the call's cost and the time it ended (epoch seconds)."""
    extra = message.get("extra")
    return extra if isinstance(extra, dict) else {}


def _stopped_early(record: dict) -> str | None:
    """Why a mini-swe-agent run ended without submitting (`info.exit_status` other than
    "Submitted": LimitsExceeded, a format error, an exception), or None."""
    info = record.get("info")
    status = info.get("exit_status") if isinstance(info, dict) else None
    if not isinstance(status, str) or not status or status.lower() == "submitted":
        return None
    return f"the run ended with exit status {status}"


def _harness_name(record: dict) -> str | None:
    """A mini-swe-agent file names its agent by its shape: `info.mini_version`."""
    info = record.get("info")
    return "mini-swe-agent" if isinstance(info, dict) and "mini_version" in info else None


def _configured_model(record: dict) -> str | None:
    """The model a mini-swe-agent run was configured with (`info.config.model.model_name`)."""
    config = (
        (record.get("info") or {}).get("config") if isinstance(record.get("info"), dict) else None
    )
    model = (config or {}).get("model") if isinstance(config, dict) else None
    name = model.get("model_name") if isinstance(model, dict) else None
    return name if isinstance(name, str) else None


def _looks_like_error(content: Any) -> bool:
    return isinstance(content, str) and content.strip().lower().startswith(ERROR_PREFIXES)


def _close_root(root: dict, rows: list[dict]) -> None:
    starts = [r["start_ns"] for r in rows if r.get("start_ns") is not None]
    ends = [r["end_ns"] for r in rows if r.get("end_ns") is not None]
    if root["start_ns"] is None and starts:
        root["start_ns"] = min(starts)
    if root["end_ns"] is None and ends:
        root["end_ns"] = max(ends)
    if root["start_ns"] is None or root["end_ns"] is None:
        root["start_ns"] = root["end_ns"] = None
    last = next((r for r in reversed(rows) if r["kind"] == "llm"), None)
    root["output"] = last.get("output") if last else None
    root["status"] = "error" if last is not None and last["status"] == "error" else "ok"


def _time(value, where: str, source: Source) -> int | None:
    try:
        return parse_time_ns(value)
    except ValueError as exc:
        raise DecodeError(
            source.display_name, f"{exc}; expected ISO-8601 text or epoch time", where
        ) from exc


def _shaped(value: Any, kind: type, key: str, where: str, source: Source):
    """An optional list/object field: empty when absent or empty, refused when of another type."""
    if not value:
        return kind()
    if not isinstance(value, kind):
        expected = "a list" if kind is list else "an object"
        raise DecodeError(
            source.display_name, f"expected {key!r} to be {expected}, got {value!r:.40}", where
        )
    return value


def _first(mapping: dict, *keys: str):
    for key in keys:
        if mapping.get(key) is not None:
            return mapping[key]
    return None


def _coalesce(*values):
    return next((v for v in values if v is not None), None)


def _detail(usage: dict, group: str, key: str):
    details = usage.get(group)
    return details.get(key) if isinstance(details, dict) else None


registry.register(NAME, 60, sniff, decode)
