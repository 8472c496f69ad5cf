"""The OTLP adapters: sniff an envelope, map every span, build the canonical table.

Two registrations, asked before the generic JSONL adapters because an OTLP file would
otherwise half-match them: `otlp_json` (every JSON shape) and `otlp_protobuf` (binary and
Collector-framed). Spans stream from the envelope reader straight into row lists with the
cyclic GC paused (it, not parsing, dominates bulk Python decoding); two cheap passes then
apply what only the whole file knows: a conversation id set on the agent span covers its
trajectory, and a tool span without arguments takes them from the LLM call that made it.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import pyarrow as pa
import pyarrow.compute as pc

from ingest import registry
from ingest.canonical import SPAN_COLUMNS, SPAN_FIELDS, TIMESTAMP, canonical_json
from ingest.errors import DecodeError
from ingest.otlp.conventions import arguments_text, content_text, map_attributes
from ingest.otlp.envelope import SHAPE_OTLP, JsonSpanReader
from ingest.otlp.messages import tool_calls_and_results
from ingest.otlp.protobuf import FORMAT_FRAMED, ProtobufSpanReader, sniff_binary
from ingest.source import Source

SOURCE_NAME = "otlp"
JSON_PRIORITY, PROTOBUF_PRIORITY = 20, 21
STATUSES = ("unset", "ok", "error")
WHITESPACE = b"\xef\xbb\xbf \t\r\n"
MAX_PROBED_IDS = 8
ROW_ORDER = (
    "trace_id", "span_id", "parent_id", "source", "convention", "upload_id", "name", "kind",
    "start_time", "end_time", "duration_ms", "status", "error_type", "error_message", "model",
    "request_model", "provider", "input_tokens", "output_tokens", "reasoning_tokens",
    "cache_read_tokens", "cache_write_tokens", "cost_usd", "tool_name", "tool_call_id",
    "tool_args", "agent_name", "session_id", "task_id", "input", "output", "attributes", "seq",
    "score",
)  # fmt: skip
COL = {name: index for index, name in enumerate(ROW_ORDER)}
I_TRACE, I_KIND, I_SESSION = COL["trace_id"], COL["kind"], COL["session_id"]
I_TOOL_NAME, I_CALL_ID, I_ARGS = COL["tool_name"], COL["tool_call_id"], COL["tool_args"]
I_INPUT, I_OUTPUT = COL["input"], COL["output"]


def sniff_json(head: bytes, source: Source) -> bool:
    stripped = head.lstrip(WHITESPACE)
    if stripped[:1] == b"[":
        stripped = stripped[1:].lstrip(WHITESPACE)
    if stripped[:1] != b"{":
        return False
    if _first_key(stripped) in (b"resourceSpans", b"resource_spans"):
        return True
    if b'"resourceSpans"' in head and b'"spans"' in head:
        return True
    if b'"trace_id": "0x' in head and b'"SpanKind.' in head:
        return True  # Python ConsoleSpanExporter
    return (b'"spanContext"' in head or b'"_spanContext"' in head) and b'"traceId"' in head


def _first_key(obj: bytes) -> bytes | None:
    body = obj[1:].lstrip(WHITESPACE)
    if body[:1] != b'"':
        return None
    end = body.find(b'"', 1)
    return body[1:end] if end > 0 else None


def decode_json(source: Source) -> registry.Decoded:
    reader = JsonSpanReader(source)
    table = _table_or_error(reader.spans(), source)
    fmt = "+".join(reader.shapes) or SHAPE_OTLP
    return registry.Decoded(fmt, table, reader.skipped, _warnings(table, reader.skipped))


def sniff_protobuf(head: bytes, source: Source) -> bool:
    return sniff_binary(head) is not None


def decode_protobuf(source: Source) -> registry.Decoded:
    fmt = sniff_binary(source.head())
    reader = ProtobufSpanReader(source, framed=fmt == FORMAT_FRAMED)
    table = _table_or_error(reader.spans(), source)
    return registry.Decoded(fmt, table, reader.skipped, _warnings(table, reader.skipped))


def _table_or_error(spans: Iterable[dict], source: Source) -> pa.Table:
    try:
        return spans_to_table(spans)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, RecursionError) as exc:
        raise DecodeError(
            source.display_name, f"a span value does not fit its canonical column ({exc})"
        ) from exc


def _warnings(table: pa.Table, skipped: list) -> list[str]:
    if table.num_rows == 0 and not skipped:
        return ["the file holds no spans"]
    return []


def spans_to_table(spans: Iterable[dict]) -> pa.Table:
    """Canonical table from neutral spans, with the trajectory-wide fills applied."""
    with gc_paused():
        rows = [span_row(span, seq) for seq, span in enumerate(spans)]
        fill_sessions(rows)
        fill_tool_calls(rows)
        return rows_to_table(rows)


def span_row(span: dict, seq: int) -> list:
    """One canonical row (in ROW_ORDER) from a neutral span."""
    mapped = map_attributes(span["attributes"], span["name"], span["events"])
    code = span["status_code"]
    status = STATUSES[code] if 0 <= code < 3 else "unset"
    if mapped["error_flagged"]:
        status = "error"
    failed = status == "error"
    return [
        span["trace_id"], span["span_id"], span["parent_id"], SOURCE_NAME, mapped["convention"],
        None, span["name"], mapped["kind"], span["start_ns"], span["end_ns"], None, status,
        mapped["error_type"] if failed else None,
        (span["status_message"] or mapped["error_message"]) if failed else None,
        mapped["model"], mapped["request_model"], mapped["provider"], mapped["input_tokens"],
        mapped["output_tokens"], mapped["reasoning_tokens"], mapped["cache_read_tokens"],
        mapped["cache_write_tokens"], mapped["cost_usd"], mapped["tool_name"],
        mapped["tool_call_id"], mapped["tool_args"], mapped["agent_name"], mapped["session_id"],
        mapped["task_id"], mapped["input"], mapped["output"], attributes_json(span), seq,
        mapped["score"],
    ]  # fmt: skip


def attributes_json(span: dict) -> str:
    """Every source attribute, plus the OTel span kind, events and resource attributes."""
    attrs = span["attributes"]
    extra = {}
    if span["kind"] is not None:
        extra["otel.span_kind"] = span["kind"]
    if span["events"]:
        extra["otel.events"] = [
            {"name": name, "attributes": values} if values else {"name": name}
            for name, values in span["events"]
        ]
    body = canonical_json({**attrs, **extra} if extra else attrs)
    key = "otel.resource" if "resource" in attrs else "resource"
    return f'{body[:-1]}{"," if len(body) > 2 else ""}"{key}":{span["resource"]}}}'


def fill_sessions(rows: list[list]) -> None:
    """A conversation id recorded on one span (the agent span, per GenAI) covers its trace."""
    first: dict[str, str] = {}
    for row in rows:
        if row[I_SESSION] is not None:
            first.setdefault(row[I_TRACE], row[I_SESSION])
    if first:
        for row in rows:
            if row[I_SESSION] is None:
                row[I_SESSION] = first.get(row[I_TRACE])


def fill_tool_calls(rows: list[list]) -> None:
    """Tool spans lacking arguments/result take them from the LLM messages of their trace."""
    wanted: dict[str, set[str]] = {}
    for row in rows:
        if (
            row[I_KIND] == "tool"
            and row[I_CALL_ID]
            and (row[I_ARGS] is None or row[I_OUTPUT] is None)
        ):
            wanted.setdefault(row[I_TRACE], set()).add(row[I_CALL_ID])
    if not wanted:
        return
    calls, results = _calls_in_llm_messages(rows, wanted)
    for row in rows:
        key = (row[I_TRACE], row[I_CALL_ID])
        if row[I_KIND] != "tool" or row[I_TRACE] not in wanted:
            continue
        call = calls.get(key)
        if call is not None and row[I_ARGS] is None:
            row[I_ARGS] = arguments_text(call["arguments"])
        if call is not None and row[I_TOOL_NAME] is None and call["name"] is not None:
            row[I_TOOL_NAME] = str(call["name"])
        if row[I_OUTPUT] is None and key in results:
            row[I_OUTPUT] = content_text(results[key])


def _calls_in_llm_messages(rows: list[list], wanted: dict[str, set[str]]) -> tuple[dict, dict]:
    calls: dict[tuple, dict] = {}
    results: dict[tuple, object] = {}
    for row in rows:
        ids = wanted.get(row[I_TRACE]) if row[I_KIND] == "llm" else None
        if not ids:
            continue
        for text in (row[I_OUTPUT], row[I_INPUT]):
            # A substring probe skips most parses; past a few ids, parsing once is cheaper.
            if text and (len(ids) > MAX_PROBED_IDS or any(call_id in text for call_id in ids)):
                found_calls, found_results = tool_calls_and_results(text)
                for call in found_calls:
                    calls.setdefault((row[I_TRACE], call["id"]), call)
                for result in found_results:
                    results.setdefault((row[I_TRACE], result["id"]), result["result"])
    return calls, results


def rows_to_table(rows: list[list]) -> pa.Table:
    """Rows -> Arrow, column by column, releasing each Python column as soon as it is copied."""
    columns: list = list(zip(*rows, strict=True)) if rows else [() for _ in ROW_ORDER]
    rows.clear()
    starts = pa.array(columns[COL["start_time"]], pa.int64())
    ends = pa.array(columns[COL["end_time"]], pa.int64())
    arrays = []
    for index, (name, data_type) in enumerate(SPAN_FIELDS):
        if name == "start_time":
            arrays.append(_timestamps(starts))
        elif name == "end_time":
            arrays.append(_timestamps(ends))
        elif name == "duration_ms":
            arrays.append(pc.divide(pc.cast(pc.subtract(ends, starts), pa.float64()), 1e6))
        else:
            arrays.append(pa.array(columns[index], data_type))
        columns[index] = None
    return pa.Table.from_arrays(arrays, schema=pa.schema(SPAN_FIELDS))


def _timestamps(nanoseconds: pa.Array) -> pa.Array:
    return pc.divide(nanoseconds, 1000).cast(TIMESTAMP)


_gc_lock = threading.Lock()
_gc_state = {"depth": 0, "was_enabled": False}


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC during a bulk decode; re-entrant across threads."""
    with _gc_lock:
        if _gc_state["depth"] == 0:
            _gc_state["was_enabled"] = gc.isenabled()
            gc.disable()
        _gc_state["depth"] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_state["depth"] -= 1
            if _gc_state["depth"] == 0 and _gc_state["was_enabled"]:
                gc.enable()


if tuple(SPAN_COLUMNS) != ROW_ORDER:  # the row literal above must follow the public schema
    raise ImportError(
        "ingest.otlp.adapter ROW_ORDER no longer matches ingest.canonical.SPAN_COLUMNS"
    )

registry.register("otlp_json", JSON_PRIORITY, sniff_json, decode_json)
registry.register("otlp_protobuf", PROTOBUF_PRIORITY, sniff_protobuf, decode_protobuf)
