"""A trajectory as a sequence of turns: each LLM call with the tool calls it issued.

The stuck rules, the waste categories, the verdicts and the routing simulation all reason
about turns. This is the per-trace reference of those rules, kept small and readable; the
ingest refresh runs the same rules as SQL over every touched trace at once
(analysis.turn_sql), and tests hold the two to the same answers. A tool span belongs to the
latest LLM call before it in trajectory order (start time, then the source's sequence, LLM
before tool on ties).

`action` and `result` are computed once per turn, after all its tool calls are attached.
Equality is what the detectors compare, so unknown parts stay unknown: a tool call without
recorded arguments has no signature and never equals another call; a tool result without
recorded output never equals another result.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import orjson

from ingest.canonical import canonical_json, may_hold_long_integer

NOT_JSON = object()
TEXT_KEYS = ("content", "text", "parts", "message", "messages", "choices", "output", "generations")


@dataclass
class ToolCall:
    span_id: str
    tool_name: str
    signature: tuple[str, str] | None
    failed: bool
    result: tuple[str, str] | None
    end_us: int | None


@dataclass
class Turn:
    index: int
    span_id: str
    row: dict[str, Any]
    message: str | None
    empty: bool | None
    tools: list[ToolCall] = field(default_factory=list)

    def get(self, column: str) -> Any:
        return self.row.get(column)

    @property
    def failed(self) -> bool:
        return self.row["status"] == "error"

    @property
    def errored(self) -> bool:
        return self.failed or any(tool.failed for tool in self.tools)

    @property
    def refused(self) -> bool:
        """Failed with no token counts and no reported cost: the provider processed nothing
        (analysis.cost.REFUSED_CALL_SQL; the row's cost_usd is the priced one, $0 here)."""
        return (
            self.failed
            and self.row["input_tokens"] is None
            and self.row["output_tokens"] is None
            and self.row.get("reported_usd") is None
        )

    @property
    def tokens(self) -> int | None:
        if self.refused:
            return 0
        given, made = self.row["input_tokens"], self.row["output_tokens"]
        return None if given is None or made is None else given + made

    @cached_property
    def action(self) -> Hashable:
        """What the agent did: its tool calls, else its message; unknown never equals."""
        if self.tools:
            signatures = [tool.signature for tool in self.tools]
            if any(sig is None for sig in signatures):
                return ("unknown", self.span_id)
            return ("tools", tuple(sorted(signatures)))
        if self.failed and self.message is None:
            return ("failed_call", self.row["model"])
        return ("message", self.message) if self.message is not None else ("unknown", self.span_id)

    @cached_property
    def result(self) -> Hashable:
        """What came back: the tool results; a message turn's observation is not recorded."""
        if not self.tools or any(tool.result is None for tool in self.tools):
            return ("unknown", self.span_id)
        pairs = sorted((t.signature or ("", ""), t.result) for t in self.tools)
        return tuple(result for _, result in pairs)

    def end_us(self) -> int | None:
        """When the turn's last span ended (epoch µs); None if any of its spans has no time."""
        ends = [self.row["end_us"]] + [tool.end_us for tool in self.tools]
        known = [end for end in ends if end is not None]
        return max(known) if len(known) == len(ends) else None


@dataclass
class TraceTurns:
    trace_id: str
    start_us: int | None
    turns: list[Turn]
    early_tools: list[ToolCall]

    def all_tool_calls(self) -> Iterator[tuple[int, ToolCall]]:
        """Every tool call in order with its turn index (0 = before the first LLM call)."""
        for tool in self.early_tools:
            yield 0, tool
        for turn in self.turns:
            for tool in turn.tools:
                yield turn.index, tool


def group_rows(rows: list[dict]) -> Iterator[TraceTurns]:
    current: TraceTurns | None = None
    for row in rows:
        if current is None or current.trace_id != row["trace_id"]:
            if current is not None:
                yield current
            current = TraceTurns(row["trace_id"], row["trace_start_us"], [], [])
        _add_span(current, row)
    if current is not None:
        yield current


def _add_span(trace: TraceTurns, row: dict) -> None:
    if row["kind"] == "llm":
        message, empty = message_facts(row["short_output"], row["output_hash"])
        trace.turns.append(Turn(len(trace.turns) + 1, row["span_id"], row, message, empty))
        return
    tool = ToolCall(
        span_id=row["span_id"],
        tool_name=row["tool_name"],
        signature=tool_signature(row["tool_name"], row["tool_args"]),
        failed=row["status"] == "error",
        result=(row["status"], row["output_hash"]) if row["output_hash"] is not None else None,
        end_us=row["end_us"],
    )
    (trace.turns[-1].tools if trace.turns else trace.early_tools).append(tool)


def tool_signature(tool_name: str | None, tool_args: str | None) -> tuple[str, str] | None:
    """(tool, arguments as canonical JSON with sorted keys); None when either is unknown."""
    if tool_name is None or tool_args is None:
        return None
    try:
        args = canonical_json(json.loads(tool_args))
    except ValueError:
        args = tool_args.strip()
    return tool_name, args


def message_facts(
    short_output: str | None, output_hash: str | None
) -> tuple[str | None, bool | None]:
    """(fingerprint of the assistant's text, whether the reply was empty); None when unknown.

    The fingerprint is taken over the extracted text, not the raw payload, so response ids
    and timestamps in a provider's envelope do not make equal messages look different.
    """
    if output_hash is None:
        return None, None
    if short_output is None:
        return output_hash, False
    text, has_calls = extract_text(short_output)
    empty = not text.strip() and not has_calls
    fingerprint = hashlib.sha256(text.strip().encode("utf-8", "surrogatepass")).hexdigest()
    return (output_hash if has_calls else fingerprint), empty


def json_value(text: str) -> Any:
    """`json.loads(text)`, or `NOT_JSON` where it raises ValueError; read by orjson where
    it reads the text as `json` does (on the ingest path, every reply and argument text)."""
    try:
        data = text.encode()
    except UnicodeEncodeError:  # a lone surrogate: only json reads it
        data = None
    if data is not None and not may_hold_long_integer(data):  # orjson: past 64 bits, floats
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # NaN, 1e400: json decides
    try:
        return json.loads(text)
    except ValueError:
        return NOT_JSON


def extract_text(raw: str) -> tuple[str, bool]:
    """The human-readable text of an LLM output, and whether it carried tool calls."""
    value = json_value(raw)
    if value is NOT_JSON:
        return raw, False
    texts: list[str] = []
    has_calls = _collect_text(value, texts, top=True)
    return "\n".join(texts), has_calls


def _collect_text(value: Any, texts: list[str], top: bool = False) -> bool:
    if isinstance(value, str):
        texts.append(value)
        return False
    has_calls = False
    if isinstance(value, list):
        for item in value:
            has_calls |= _collect_text(item, texts)
    elif isinstance(value, dict):
        has_calls = bool(value.get("tool_calls") or value.get("function_call"))
        for key in TEXT_KEYS:
            if key in value:
                has_calls |= _collect_text(value[key], texts)
    elif value is not None and top:
        texts.append(str(value))
    return has_calls
