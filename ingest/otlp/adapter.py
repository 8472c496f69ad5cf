"""The OTLP adapters: sniff an envelope, map every span, build the canonical table.

Two registrations, asked before the generic JSONL adapters because an OTLP file would
otherwise half-match them: `otlp_json` (every JSON shape) and `otlp_protobuf` (binary and
Collector-framed). Spans stream from the envelope reader into row lists with the cyclic GC
paused (it, not parsing, dominates bulk Python decoding) and become Arrow in batches
(`table.TableBuilder`), which then applies what only the whole file knows: a conversation id
set on the agent span covers its trajectory, and a tool span without arguments takes them
from the LLM call that made it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import pyarrow as pa

from ingest import registry
from ingest.canonical import SPAN_COLUMNS, fast_canonical_json, gc_paused
from ingest.errors import DecodeError
from ingest.otlp.content import error_message
from ingest.otlp.conventions import map_attributes
from ingest.otlp.envelope import SHAPE_OTLP, JsonSpanReader
from ingest.otlp.parallel import (
    PartResult,
    decode_parts,
    frame_parts,
    ipc_writer,
    line_parts,
    worker_count,
    worth_splitting,
    write_part_patches,
)
from ingest.otlp.protobuf import FORMAT_FRAMED, ProtobufSpanReader, sniff_binary
from ingest.otlp.streams import is_json_lines
from ingest.otlp.table import ROW_ORDER, TableBuilder
from ingest.source import Source

SOURCE_NAME = "otlp"
JSON_PRIORITY, PROTOBUF_PRIORITY = 20, 21
STATUSES = ("unset", "ok", "error")
WHITESPACE = b"\xef\xbb\xbf \t\r\n"


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
    joined = None
    if worth_splitting(source) and is_json_lines(source.head()):
        joined = decode_parts(source, line_parts(source.path, worker_count()), "json")
    if joined is not None:
        fmt = "+".join(joined.shapes) or SHAPE_OTLP
        return _decoded(fmt, joined.table, joined.skipped, joined.mapped)
    reader = JsonSpanReader(source)
    table = _table_or_error(reader.spans(), source)
    return _decoded("+".join(reader.shapes) or SHAPE_OTLP, table, reader.skipped)


def decode_json_part(source: Source, ipc_path: str) -> PartResult:
    """A worker's share of `decode_json`: one part streamed to Arrow IPC, its fills beside it."""
    reader = JsonSpanReader(source)
    _write_part(reader.spans(), source, ipc_path)
    return PartResult(reader.skipped, reader.shapes)


def sniff_protobuf(head: bytes, source: Source) -> bool:
    return sniff_binary(head) is not None


def decode_protobuf(source: Source) -> registry.Decoded:
    fmt = sniff_binary(source.head())
    joined = None
    if fmt == FORMAT_FRAMED and worth_splitting(source):
        parts = frame_parts(source.path, worker_count())
        if parts and len(parts) > 1:
            joined = decode_parts(source, parts, "protobuf")
    if joined is not None:
        return _decoded(fmt, joined.table, joined.skipped, joined.mapped)
    reader = ProtobufSpanReader(source, framed=fmt == FORMAT_FRAMED)
    return _decoded(fmt, _table_or_error(reader.spans(), source), reader.skipped)


def decode_protobuf_part(source: Source, ipc_path: str) -> PartResult:
    """A worker's share of a Collector-framed file: whole frames as Arrow IPC, fills beside."""
    reader = ProtobufSpanReader(source, framed=True)
    _write_part(reader.spans(), source, ipc_path)
    return PartResult(reader.skipped)


def _table_or_error(spans: Iterable[dict], source: Source) -> pa.Table:
    with _value_errors(source):
        return spans_to_table(spans)


def _write_part(spans: Iterable[dict], source: Source, ipc_path: str) -> None:
    pool = pa.default_memory_pool()

    def write(batch: pa.Table) -> None:
        writer.write_table(batch)
        # Arrow's allocator (mimalloc) would keep every written batch's memory for the next
        # one; handed back, a worker's peak is ~40 MB lower, at no measurable cost.
        pool.release_unused()

    with _value_errors(source), gc_paused():
        with ipc_writer(ipc_path) as writer:
            spans_to_table(spans, emit=write)
        write_part_patches(ipc_path)


@contextmanager
def _value_errors(source: Source) -> Iterator[None]:
    try:
        yield
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, RecursionError) as exc:
        raise DecodeError(
            source.display_name, f"a span value does not fit its canonical column ({exc})"
        ) from exc


def _decoded(fmt: str, table: pa.Table, skipped: list, mapped=()) -> registry.Decoded:
    warnings = ["the file holds no spans"] if table.num_rows == 0 and not skipped else []
    return registry.Decoded(fmt, table, skipped, warnings, list(mapped))


def spans_to_table(spans: Iterable[dict], emit=None) -> pa.Table | None:
    """Canonical table from neutral spans, with the trajectory-wide fills applied; with
    `emit`, unfilled batches go to it instead (a part of a file: its fills are patches)."""
    with gc_paused():
        builder = TableBuilder(emit)
        for seq, span in enumerate(spans):
            builder.add(span_row(span, seq))
        return builder.finish()


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
        error_message(span["status_message"], mapped["error_message"]) if failed else None,
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
    body = fast_canonical_json({**attrs, **extra} if extra else attrs)
    key = "otel.resource" if "resource" in attrs else "resource"
    return f'{body[:-1]}{"," if len(body) > 2 else ""}"{key}":{span["resource"]}}}'


if tuple(SPAN_COLUMNS) != ROW_ORDER:  # the row literal in span_row must follow the public schema
    raise ImportError("ingest.otlp.table ROW_ORDER no longer matches ingest.canonical.SPAN_COLUMNS")

registry.register("otlp_json", JSON_PRIORITY, sniff_json, decode_json)
registry.register("otlp_protobuf", PROTOBUF_PRIORITY, sniff_protobuf, decode_protobuf)
