"""JSON envelopes of OpenTelemetry spans, decoded into neutral span dicts.

Real files come in several JSON shapes: spec OTLP/JSON (hex ids, int enums, int64 as
strings), protobuf `json_format` output (base64 ids, enum names, maybe snake_case keys),
pre-2022 `instrumentationLibrarySpans`, Python `ConsoleSpanExporter` dumps (`0x` ids, ISO
times, pretty-printed multi-line objects) and JS `ReadableSpan` dumps (`[sec, nanos]` times).
Each becomes the same neutral dict (see `neutral_span`) with plain attribute dicts, so the
convention mapping never cares which envelope a span came in.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any, NamedTuple

from ingest.canonical import canonical_json, parse_time_ns
from ingest.errors import DecodeError
from ingest.otlp.streams import iter_json_values
from ingest.registry import Skipped
from ingest.source import Source

OTLP_KINDS = ("unspecified", "internal", "server", "client", "producer", "consumer")
JS_KINDS = ("internal", "server", "client", "producer", "consumer")
STATUS_CODES = {
    "STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2,
    "UNSET": 0, "OK": 1, "ERROR": 2,
}  # fmt: skip
NO_EVENTS: list = []
EMPTY_VALUE: dict = {}
MAX_NANOS = 2**63
SHAPE_OTLP, SHAPE_CONSOLE, SHAPE_JS = "otlp_json", "otel_console_json", "otel_js_spans"
EXPECTED_SHAPES = (
    'an OTLP ExportTraceServiceRequest/TracesData ({"resourceSpans": [...]}), '
    "a Python ConsoleSpanExporter span or a JS ReadableSpan"
)


class _Keys(NamedTuple):
    resource_spans: str
    scope_spans: str
    legacy_scope_spans: str
    trace_id: str
    span_id: str
    parent_id: str
    start: str
    end: str


CAMEL = _Keys(
    "resourceSpans", "scopeSpans", "instrumentationLibrarySpans", "traceId", "spanId",
    "parentSpanId", "startTimeUnixNano", "endTimeUnixNano",
)  # fmt: skip
SNAKE = _Keys(
    "resource_spans", "scope_spans", "instrumentation_library_spans", "trace_id", "span_id",
    "parent_span_id", "start_time_unix_nano", "end_time_unix_nano",
)  # fmt: skip


def neutral_span(
    trace_id, span_id, parent_id, name, kind, start_ns, end_ns, status_code, status_message,
    attributes: dict, resource_json: str, events: list,
) -> dict:  # fmt: skip
    """The one shape every envelope produces; ids are lowercase hex, times epoch ns."""
    return {
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_id": parent_id,
        "name": name if isinstance(name, str) else ("" if name is None else str(name)),
        "kind": kind,
        "start_ns": start_ns,
        "end_ns": end_ns,
        "status_code": status_code,
        "status_message": str(status_message) if status_message else None,
        "attributes": attributes,
        "resource": resource_json,
        "events": events,
    }


def hex_id(value: Any) -> str | None:
    """Lowercase hex from hex (any case), base64 (`json_format`) or `0x` ids; None if empty/zero."""
    if not value:
        return None
    if not isinstance(value, str):
        value = str(value)
    if value[:2] in ("0x", "0X"):
        value = value[2:]
    value = base64.b64decode(value, validate=True).hex() if value[-1] == "=" else value.lower()
    return value if value.strip("0") else None


def nanos(value: Any) -> int | None:
    """Epoch nanoseconds given as a number or a decimal string; 0 means unset."""
    if value is None or value == "" or value == 0 or value == "0":
        return None
    try:
        number = value if isinstance(value, int) else int(value)
    except ValueError:
        return parse_time_ns(value)
    if not 0 < number < MAX_NANOS:
        raise ValueError(f"time {value!r} is not epoch nanoseconds (fixed64 within int64)")
    return number


def otlp_kind(value: Any) -> str | None:
    if isinstance(value, int):
        kind = OTLP_KINDS[value] if 0 <= value < len(OTLP_KINDS) else None
    elif isinstance(value, str):
        kind = value.removeprefix("SPAN_KIND_").removeprefix("SpanKind.").lower()
        if kind.isdigit():
            return otlp_kind(int(kind))
    else:
        kind = None
    return None if kind == "unspecified" else kind


def status_code(value: Any) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, int):
        return value
    code = STATUS_CODES.get(value)
    return code if code is not None else int(value)


def any_value(value: dict) -> Any:
    """An OTLP/JSON AnyValue as a plain Python value (int64 strings become ints)."""
    text = value.get("stringValue")
    if text is not None:
        return text
    for key, inner in value.items():
        convert = _ANY_CONVERTERS.get(key)
        if convert is not None:
            return convert(inner)
    return None


def kv_dict(items: list | None) -> dict:
    """OTLP/JSON `[{"key", "value"}]` as a plain dict."""
    plain = {}
    for kv in items or ():
        key = kv["key"]
        if type(key) is not str:
            key = text_field(key, "attribute key")
        value = kv.get("value") or EMPTY_VALUE
        text = value.get("stringValue")  # most attributes: skip the general conversion
        plain[key] = text if text is not None else any_value(value)
    return plain


def text_field(value: Any, what: str) -> str:
    """A field OTLP defines as a string; another type makes the span malformed (TypeError)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError(f"{what} {value!r:.40} is not a string")
    return value


def list_field(value: Any, what: str) -> list:
    """A repeated OTLP field: absent is empty; another type makes the span malformed."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise TypeError(f"{what} {value!r:.40} is not a list")
    return value


def finite_or_text(number: float) -> float | str:
    """NaN and infinities as the OTLP/JSON text, so the attributes column stays valid JSON."""
    if number - number == 0:
        return number
    return "NaN" if number != number else ("Infinity" if number > 0 else "-Infinity")


def _double(value: Any) -> float | str:
    return finite_or_text(float(value))


_ANY_CONVERTERS = {}
for _camel, _snake, _convert in (
    ("stringValue", "string_value", str),
    ("intValue", "int_value", int),
    ("doubleValue", "double_value", _double),
    ("boolValue", "bool_value", bool),
    ("bytesValue", "bytes_value", str),
    ("arrayValue", "array_value", lambda a: [any_value(v) for v in (a or {}).get("values") or ()]),
    ("kvlistValue", "kvlist_value", lambda kv: kv_dict((kv or {}).get("values"))),
):
    _ANY_CONVERTERS[_camel] = _ANY_CONVERTERS[_snake] = _convert


class JsonSpanReader:
    """Streams neutral spans out of any JSON envelope, recording skipped spans and shapes seen."""

    def __init__(self, source: Source):
        self.source = source
        self.skipped: list[Skipped] = []
        self.shapes: list[str] = []

    def spans(self) -> Iterator[dict]:
        for where, value in iter_json_values(self.source):
            yield from self._spans_of_value(value, where, nested=False)

    def _spans_of_value(self, value: Any, where: str, nested: bool) -> Iterator[dict]:
        if isinstance(value, list) and not nested:
            for index, item in enumerate(value, start=1):
                yield from self._spans_of_value(item, f"{where}, element {index}", nested=True)
            return
        shape = _shape(value)
        if shape is None:
            found = f"keys {sorted(value)[:6]}" if isinstance(value, dict) else type(value).__name__
            raise DecodeError(
                self.source.display_name, f"expected {EXPECTED_SHAPES}; found {found}", where
            )
        if shape not in self.shapes:
            self.shapes.append(shape)
        if shape == SHAPE_OTLP:
            yield from self._otlp_spans(value, where)
            return
        span = self._build(_console_span if shape == SHAPE_CONSOLE else _js_span, value, where)
        if span is not None:
            yield span

    def _otlp_spans(self, request: dict, where: str) -> Iterator[dict]:
        keys = SNAKE if SNAKE.resource_spans in request else CAMEL
        resource_spans = request.get(keys.resource_spans)
        if not isinstance(resource_spans, list):
            raise DecodeError(
                self.source.display_name, f"expected {keys.resource_spans!r} to be a list", where
            )
        for r, resource_span in enumerate(resource_spans):
            try:
                resource = resource_span.get("resource") or {}
                resource_json = canonical_json(kv_dict(resource.get("attributes")))
                scopes = (
                    resource_span.get(keys.scope_spans)
                    or resource_span.get(keys.legacy_scope_spans)
                    or ()
                )
                groups = [
                    (s, list_field(scope.get("spans"), "spans")) for s, scope in enumerate(scopes)
                ]
            except (AttributeError, KeyError, TypeError, ValueError) as exc:
                raise self._error(exc, f"{where}, {keys.resource_spans}[{r}]") from exc
            for s, spans in groups:
                for i, span in enumerate(spans):
                    path = (where, keys.resource_spans, r, keys.scope_spans, s, i)
                    built = self._build(_otlp_span, span, path, keys, resource_json)
                    if built is not None:
                        yield built

    def _build(self, build, raw, where: str | tuple, *args) -> dict | None:
        """The neutral span, or None (recorded as skipped) when it lacks an id."""
        try:
            span = build(raw, *args)
        except (AttributeError, KeyError, TypeError, ValueError, IndexError, RecursionError) as exc:
            raise self._error(exc, _position(where)) from exc
        if span["trace_id"] is None or span["span_id"] is None:
            missing = "trace id" if span["trace_id"] is None else "span id"
            reason = f"empty or all-zero {missing}; a span needs both ids"
            self.skipped.append(Skipped(_position(where), reason))
            return None
        return span

    def _error(self, exc: Exception, where: str) -> DecodeError:
        detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        return DecodeError(
            self.source.display_name,
            f"malformed span ({detail}); expected {EXPECTED_SHAPES}",
            where,
        )


def _position(where: str | tuple) -> str:
    """Positions are formatted only when needed: a tuple is (line, key, r, key, s, i)."""
    if isinstance(where, str):
        return where
    line, resource_key, r, scope_key, s, i = where
    return f"{line}, {resource_key}[{r}].{scope_key}[{s}].spans[{i}]"


def _shape(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    if CAMEL.resource_spans in value or SNAKE.resource_spans in value:
        return SHAPE_OTLP
    context = value.get("context")
    if isinstance(context, dict) and "trace_id" in context:
        return SHAPE_CONSOLE
    if isinstance(value.get("spanContext") or value.get("_spanContext"), dict):
        return SHAPE_JS
    return None


def _otlp_span(span: dict, keys: _Keys, resource_json: str) -> dict:
    status = span.get("status") or {}
    events = span.get("events")
    return neutral_span(
        hex_id(span.get(keys.trace_id)),
        hex_id(span.get(keys.span_id)),
        hex_id(span.get(keys.parent_id)),
        span.get("name"),
        otlp_kind(span.get("kind")),
        nanos(span.get(keys.start)),
        nanos(span.get(keys.end)),
        status_code(status.get("code")),
        status.get("message"),
        kv_dict(span.get("attributes")),
        resource_json,
        [(text_field(e.get("name"), "event name"), kv_dict(e.get("attributes"))) for e in events]
        if events
        else NO_EVENTS,
    )


def _console_span(span: dict) -> dict:
    context = span["context"]
    status = span.get("status") or {}
    resource = span.get("resource") or {}
    events = span.get("events")
    return neutral_span(
        hex_id(context.get("trace_id")),
        hex_id(context.get("span_id")),
        hex_id(span.get("parent_id")),
        span.get("name"),
        otlp_kind(span.get("kind")),
        parse_time_ns(span.get("start_time")),
        parse_time_ns(span.get("end_time")),
        STATUS_CODES.get(status.get("status_code"), 0),
        status.get("description"),
        dict(span.get("attributes") or {}),
        canonical_json(resource.get("attributes") or {}),
        [(text_field(e.get("name"), "event name"), dict(e.get("attributes") or {})) for e in events]
        if events
        else NO_EVENTS,
    )


def _js_span(span: dict) -> dict:
    context = span.get("spanContext") or span.get("_spanContext")
    parent = span.get("parentSpanId") or (span.get("parentSpanContext") or {}).get("spanId")
    status = span.get("status") or {}
    resource = span.get("resource") or {}
    kind = span.get("kind")
    events = span.get("events")
    return neutral_span(
        hex_id(context.get("traceId")),
        hex_id(context.get("spanId")),
        hex_id(parent),
        span.get("name"),
        JS_KINDS[kind] if isinstance(kind, int) and 0 <= kind < len(JS_KINDS) else None,
        _hrtime_ns(span.get("startTime")),
        _hrtime_ns(span.get("endTime")),
        status_code(status.get("code")),
        status.get("message"),
        dict(span.get("attributes") or {}),
        canonical_json(resource.get("attributes") or resource.get("_rawAttributes") or {}),
        [(text_field(e.get("name"), "event name"), dict(e.get("attributes") or {})) for e in events]
        if events
        else NO_EVENTS,
    )


def _hrtime_ns(value: Any) -> int | None:
    """JS HrTime `[seconds, nanos]`, or any time `parse_time_ns` understands."""
    if isinstance(value, list) and len(value) == 2:
        return int(value[0]) * 1_000_000_000 + int(value[1])
    return parse_time_ns(value)
