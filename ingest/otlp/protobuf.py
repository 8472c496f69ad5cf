"""Binary OTLP envelopes, decoded into the same neutral span dicts as the JSON ones.

Two shapes: one protobuf `ExportTraceServiceRequest` (what OTLP/HTTP exporters POST, and
`.binpb` dumps), and the Collector fileexporter's `format: proto` stream, where each message
is preceded by a 4-byte big-endian length. The upb decoder is fast; the cost is the Python
walk over spans and attributes, so that walk stays flat.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Iterator

from google.protobuf.message import DecodeError as ProtobufDecodeError
from google.protobuf.unknown_fields import UnknownFieldSet
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import ScopeSpans

from ingest.canonical import canonical_json
from ingest.errors import DecodeError, LimitExceeded
from ingest.otlp.envelope import NO_EVENTS, OTLP_KINDS, finite_or_text, neutral_span
from ingest.otlp.streams import open_stream
from ingest.registry import Skipped
from ingest.source import Source

FORMAT_PLAIN, FORMAT_FRAMED = "otlp_protobuf", "otlp_protobuf_framed"
TAG_RESOURCE_SPANS = 0x0A  # field 1, length-delimited
# ResourceSpans fields: resource, scope_spans, schema_url, legacy 1000 (2-byte tag)
RESOURCE_SPANS_FIRST_TAGS = (0x0A, 0x12, 0x1A, 0xC2)  # fmt: skip
LEGACY_SCOPE_SPANS_FIELD = 1000  # pre-2022 instrumentation_library_spans: same layout as ScopeSpans
PREFIX_BYTES = 4
EXPECTED = "binary OTLP (protobuf ExportTraceServiceRequest)"
EXPECTED_FRAMED = (
    "4-byte big-endian length + ExportTraceServiceRequest, repeated (Collector format: proto)"
)


def sniff_binary(head: bytes) -> str | None:
    """Which binary shape the first bytes are, or None; text never qualifies."""
    if len(head) < 2 or _looks_like_text(head):
        return None
    if head[0] == TAG_RESOURCE_SPANS and _plausible_request(head):
        return FORMAT_PLAIN
    if len(head) > PREFIX_BYTES and _plausible_request(head[PREFIX_BYTES:]):
        return FORMAT_FRAMED
    return None


def _looks_like_text(head: bytes) -> bool:
    sample = head[:512]
    if sample.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        return True
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 3:  # a multi-byte character cut at the end is still text
            return False
    return not any(byte < 0x20 and byte not in (0x09, 0x0A, 0x0D) for byte in sample)


def _plausible_request(data: bytes) -> bool:
    """A resource_spans field whose content starts with a ResourceSpans field that fits inside it."""
    if not data or data[0] != TAG_RESOURCE_SPANS:
        return False
    length, start = _varint(data, 1)
    if length is None or length == 0 or start >= len(data):
        return False
    if data[start] not in RESOURCE_SPANS_FIRST_TAGS:
        return False
    inner, _ = _varint(data, start + (2 if data[start] == 0xC2 else 1))
    return inner is not None and inner < length


def _varint(data: bytes, pos: int) -> tuple[int | None, int]:
    value, shift = 0, 0
    while pos < len(data) and shift < 64:
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            return value, pos
        shift += 7
    return None, pos


class ProtobufSpanReader:
    """Streams neutral spans out of a binary OTLP file, recording skipped spans."""

    def __init__(self, source: Source, framed: bool):
        self.source = source
        self.framed = framed
        self.skipped: list[Skipped] = []

    def spans(self) -> Iterator[dict]:
        messages = self._framed_messages() if self.framed else self._single_message()
        for where, request in messages:
            yield from self._request_spans(request, where)

    def _single_message(self) -> Iterator[tuple[str, ExportTraceServiceRequest]]:
        yield "message at byte offset 0", self._parse(self.source.read(), 0, EXPECTED)

    def _framed_messages(self) -> Iterator[tuple[str, ExportTraceServiceRequest]]:
        name, number = self.source.display_name, self.source.first_record - 1
        offset = self.source.byte_range[0] if self.source.byte_range else 0
        with open_stream(self.source) as handle:
            try:
                while prefix := handle.read(PREFIX_BYTES):
                    number += 1
                    where = f"message {number} at byte offset {offset}"
                    size = self._frame_size(prefix, offset, where)
                    body = handle.read(size)
                    if len(body) < size:
                        raise DecodeError(
                            name,
                            f"length prefix says {size:,} bytes but only {len(body):,} follow; "
                            f"expected {EXPECTED_FRAMED}",
                            where,
                        )
                    yield where, self._parse(body, offset + PREFIX_BYTES, EXPECTED_FRAMED, where)
                    offset += PREFIX_BYTES + size
            except (OSError, EOFError, zlib.error) as exc:
                raise DecodeError(
                    name, f"gzip stream broken: {exc}", f"byte offset {offset}"
                ) from exc

    def _frame_size(self, prefix: bytes, offset: int, where: str) -> int:
        if len(prefix) < PREFIX_BYTES:
            raise DecodeError(
                self.source.display_name,
                f"file ends inside a length prefix ({len(prefix)} of 4 bytes); expected {EXPECTED_FRAMED}",
                where,
            )
        size = int.from_bytes(prefix, "big")
        if offset + size > self.source.max_bytes:
            raise LimitExceeded(
                self.source.display_name,
                f"length prefix says {size:,} bytes, past the {self.source.max_bytes:,}-byte limit",
                where,
            )
        return size

    def _parse(
        self, data: bytes, offset: int, expected: str, where: str | None = None
    ) -> ExportTraceServiceRequest:
        try:
            return ExportTraceServiceRequest.FromString(data)
        except ProtobufDecodeError as exc:
            raise DecodeError(
                self.source.display_name,
                f"{len(data):,} bytes are not a valid ExportTraceServiceRequest ({exc}); expected {expected}",
                where or f"message at byte offset {offset}",
            ) from exc

    def _request_spans(self, request: ExportTraceServiceRequest, where: str) -> Iterator[dict]:
        for r, resource_span in enumerate(request.resource_spans):
            resource_json = canonical_json(pb_kv(resource_span.resource.attributes))
            try:
                scopes = list(resource_span.scope_spans) + _legacy_scopes(resource_span)
            except ProtobufDecodeError as exc:
                raise DecodeError(
                    self.source.display_name,
                    f"resource_spans[{r}] holds a broken instrumentation_library_spans field ({exc})",
                    where,
                ) from exc
            for s, scope in enumerate(scopes):
                for i, span in enumerate(scope.spans):
                    built = _span(span, resource_json)
                    if built["trace_id"] is None or built["span_id"] is None:
                        missing = "trace id" if built["trace_id"] is None else "span id"
                        self.skipped.append(
                            Skipped(
                                f"{where}, resource_spans[{r}].scope_spans[{s}].spans[{i}]",
                                f"empty or all-zero {missing}; a span needs both ids",
                            )
                        )
                        continue
                    yield built


def _legacy_scopes(resource_span) -> list:
    """Pre-2022 `instrumentation_library_spans` (field 1000), parsed as the ScopeSpans it equals."""
    return [
        ScopeSpans.FromString(field.data)
        for field in UnknownFieldSet(resource_span)
        if field.field_number == LEGACY_SCOPE_SPANS_FIELD and isinstance(field.data, bytes)
    ]


def _span(span, resource_json: str) -> dict:
    kind = span.kind
    status = span.status
    events = span.events
    return neutral_span(
        _id(span.trace_id),
        _id(span.span_id),
        _id(span.parent_span_id),
        span.name,
        OTLP_KINDS[kind] if 0 < kind < len(OTLP_KINDS) else None,
        span.start_time_unix_nano or None,
        span.end_time_unix_nano or None,
        status.code,
        status.message,
        pb_kv(span.attributes),
        resource_json,
        [(e.name, pb_kv(e.attributes)) for e in events] if events else NO_EVENTS,
    )


def _id(raw: bytes) -> str | None:
    return raw.hex() if raw.strip(b"\0") else None


def pb_kv(items) -> dict:
    plain = {}
    for kv in items:
        value = kv.value
        text = value.string_value  # most attributes: a non-empty string, no oneof lookup
        plain[kv.key] = text if text else pb_any(value)
    return plain


def pb_any(value, which: str | None = None):
    which = which or value.WhichOneof("value")
    if which == "string_value":
        return value.string_value
    if which is None:
        return None
    if which == "array_value":
        return [pb_any(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return pb_kv(value.kvlist_value.values)
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    if which == "double_value":
        return finite_or_text(value.double_value)
    return getattr(value, which)
