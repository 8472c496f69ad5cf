"""Span JSONL: one canonical span per line — the format anyone can emit from their own logs.

Only trace_id, span_id, name and start/end are required; every other canonical column is
optional, and keys that are not canonical columns are kept in `attributes`.
"""

from __future__ import annotations

import json

from ingest import registry
from ingest.canonical import (
    KINDS,
    SPAN_COLUMNS,
    TOKEN_COLUMNS,
    as_float,
    as_int,
    canonical_json,
    gc_paused,
    include_cache_and_reasoning,
    parse_time_ns,
    to_table,
)
from ingest.errors import DecodeError
from ingest.jsonutil import first_line_object, iter_lines
from ingest.otlp.streams import json_lines_fast
from ingest.source import Source

NAME = "span_jsonl"
REQUIRED = ("trace_id", "span_id", "name")
_DERIVED = {"start_time", "end_time", "duration_ms", "upload_id", "attributes", "source"}
_KIND_ALIASES = {"retriever": "retrieval", "generation": "llm", "tool_call": "tool"}


def sniff(head: bytes, source: Source) -> bool:
    record = first_line_object(head)
    if record is not None:
        return all(key in record for key in REQUIRED) and not _looks_like_run(record)
    first_line = head.lstrip().split(b"\n", 1)[0]
    return (
        all(f'"{key}"'.encode() in first_line for key in REQUIRED)
        and b'"run_type"' not in first_line
    )


def _looks_like_run(record: dict) -> bool:
    return "run_type" in record or "dotted_order" in record


def decode(source: Source) -> registry.Decoded:
    with gc_paused():
        records = json_lines_fast(source)
        if records is None:
            records = iter_lines(source)
        rows = [_span_row(record, number, source) for number, record in records]
        corrected = sum(include_cache_and_reasoning(row) for row in rows)
        warnings = (
            [
                f"input or output tokens below their cache or reasoning part on {corrected:,} "
                f"of {len(rows):,} spans: read as counts without those parts (raw-Anthropic "
                "style), and the parts added in (docs/formats.md)"
            ]
            if corrected
            else []
        )
        return registry.Decoded(format=NAME, spans=to_table(rows), warnings=warnings)


def _span_row(record, number: int, source: Source) -> dict:
    position = f"line {number}"
    if not isinstance(record, dict):
        raise DecodeError(source.display_name, "expected a JSON object (one span)", position)
    for key in REQUIRED:
        if record.get(key) in (None, ""):
            raise DecodeError(source.display_name, f"missing required field {key!r}", position)
    row = {key: record[key] for key in SPAN_COLUMNS if key in record and key not in _DERIVED}
    row.update(_times(record, position, source))
    row["trace_id"], row["span_id"] = str(record["trace_id"]), str(record["span_id"])
    row["source"] = "jsonl"
    row["convention"] = record.get("convention") or "span_jsonl"
    row["kind"] = _kind(record.get("kind"))
    row["status"] = _status(record.get("status"))
    for key in TOKEN_COLUMNS:
        row[key] = _count(record, key, position, source)
    row["cost_usd"] = _number(record, "cost_usd", position, source, at_least_zero=True)
    row["score"] = _number(record, "score", position, source)
    explicit_seq = _count(record, "seq", position, source)
    row["seq"] = number if explicit_seq is None else explicit_seq  # the file's order, as written
    for key in ("input", "output", "tool_args"):
        if key in record and not isinstance(record[key], str) and record[key] is not None:
            row[key] = (
                canonical_json(record[key]) if key == "tool_args" else json.dumps(record[key])
            )
    row["attributes"] = _attributes(record)
    return row


def _count(record: dict, key: str, position: str, source: Source) -> int | None:
    """A token count or `seq`: absent or null is unknown; anything but a whole number >= 0
    (a typo, "lots", -500) refuses the file rather than becoming unknown unnoticed."""
    value = record.get(key)
    if value is None:
        return None
    number, exact = as_int(value), as_float(value)
    if number is None or number < 0 or exact is None or not exact.is_integer():
        raise DecodeError(
            source.display_name,
            f"{key} {json.dumps(value)[:40]} is not a count: expected a whole number >= 0, "
            "or null when unknown",
            position,
        )
    return number


def _number(
    record: dict, key: str, position: str, source: Source, at_least_zero: bool = False
) -> float | None:
    value = record.get(key)
    if value is None:
        return None
    number = as_float(value)
    if number is None or (at_least_zero and number < 0):
        expected = "a number >= 0" if at_least_zero else "a number"
        raise DecodeError(
            source.display_name,
            f"{key} {json.dumps(value)[:40]} is not valid: expected {expected}, "
            "or null when unknown",
            position,
        )
    return number


def _times(record: dict, position: str, source: Source) -> dict:
    try:
        start = parse_time_ns(record.get("start_time", record.get("start_ns")))
        end = parse_time_ns(record.get("end_time", record.get("end_ns")))
    except ValueError as exc:
        raise DecodeError(
            source.display_name,
            f"{exc}; expected ISO-8601 text or epoch nanoseconds for start_time/end_time",
            position,
        ) from exc
    if start is None or end is None:
        missing = " and ".join(
            f"'{f}'" for f, t in (("start_time", start), ("end_time", end)) if t is None
        )
        raise DecodeError(source.display_name, f"missing required field {missing}", position)
    if end < start:
        raise DecodeError(source.display_name, "end_time is before start_time", position)
    return {"start_ns": start, "end_ns": end}


def _kind(value) -> str:
    kind = str(value or "other").lower()
    kind = _KIND_ALIASES.get(kind, kind)
    return kind if kind in KINDS else "other"


def _status(value) -> str:
    status = str(value or "unset").lower()
    return (
        {"success": "ok", "failed": "error", "failure": "error"}.get(status, status)
        if status in ("ok", "error", "unset", "success", "failed", "failure")
        else "unset"
    )


def _attributes(record: dict) -> str:
    extra = {
        k: v for k, v in record.items() if k not in SPAN_COLUMNS and k not in ("start_ns", "end_ns")
    }
    given = record.get("attributes")
    if isinstance(given, dict):
        extra = {**given, **extra}
    return canonical_json(extra)


registry.register(NAME, 50, sniff, decode)
