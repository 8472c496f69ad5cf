"""The one span model every adapter converges on (DESIGN §2), as an Arrow schema.

Adapters build plain dicts keyed by canonical column names; `to_table` turns a batch of
them into an Arrow table with the exact public column types, so the store has a single
write path whatever the source format.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime, timezone
from typing import Any, Iterable

import pyarrow as pa

TIMESTAMP = pa.timestamp("us", tz="UTC")

SPAN_FIELDS: list[tuple[str, pa.DataType]] = [
    ("trace_id", pa.string()),
    ("span_id", pa.string()),
    ("parent_id", pa.string()),
    ("source", pa.string()),
    ("convention", pa.string()),
    ("upload_id", pa.string()),
    ("name", pa.string()),
    ("kind", pa.string()),
    ("start_time", TIMESTAMP),
    ("end_time", TIMESTAMP),
    ("duration_ms", pa.float64()),
    ("status", pa.string()),
    ("error_type", pa.string()),
    ("error_message", pa.string()),
    ("model", pa.string()),
    ("request_model", pa.string()),
    ("provider", pa.string()),
    ("input_tokens", pa.int64()),
    ("output_tokens", pa.int64()),
    ("reasoning_tokens", pa.int64()),
    ("cache_read_tokens", pa.int64()),
    ("cache_write_tokens", pa.int64()),
    ("cost_usd", pa.float64()),
    ("tool_name", pa.string()),
    ("tool_call_id", pa.string()),
    ("tool_args", pa.string()),
    ("agent_name", pa.string()),
    ("session_id", pa.string()),
    ("task_id", pa.string()),
    ("input", pa.string()),
    ("output", pa.string()),
    ("attributes", pa.string()),
    ("seq", pa.int64()),
    ("score", pa.float64()),
]
SPAN_COLUMNS = [name for name, _ in SPAN_FIELDS]
SPAN_SCHEMA = pa.schema(SPAN_FIELDS)

KINDS = ("agent", "llm", "tool", "retrieval", "embedding", "chain", "other")
STATUSES = ("ok", "error", "unset")
TOKEN_COLUMNS = (
    "input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
)


def to_table(rows: Iterable[dict[str, Any]], upload_id: str | None = None) -> pa.Table:
    """Build the canonical Arrow table from span dicts.

    Times arrive as integer epoch nanoseconds (`start_ns`, `end_ns`) and leave as UTC
    microsecond timestamps; `duration_ms` is derived, never taken on trust.
    """
    columns: dict[str, list] = {name: [] for name in SPAN_COLUMNS}
    for row in rows:
        start_ns, end_ns = row.get("start_ns"), row.get("end_ns")
        for name in SPAN_COLUMNS:
            columns[name].append(row.get(name))
        columns["start_time"][-1] = ns_to_datetime(start_ns)
        columns["end_time"][-1] = ns_to_datetime(end_ns)
        columns["duration_ms"][-1] = (
            (end_ns - start_ns) / 1e6 if start_ns is not None and end_ns is not None else None
        )
        if upload_id is not None:
            columns["upload_id"][-1] = upload_id
    return pa.table(columns, schema=SPAN_SCHEMA)


def ns_to_datetime(ns: int | None) -> datetime | None:
    if ns is None:
        return None
    seconds, rest = divmod(int(ns), 1_000_000_000)
    return datetime.fromtimestamp(seconds, tz=timezone.utc).replace(microsecond=rest // 1000)


def parse_time_ns(value: Any) -> int | None:
    """Epoch nanoseconds from ISO-8601 text, epoch ns/us/ms/s numbers, or None.

    Numbers are read by magnitude: a 2020s timestamp has 19 digits in ns, 16 in us,
    13 in ms and 10 in s, so the unit is not ambiguous for real data.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"expected a time, got {value!r}")
    if isinstance(value, (int, float)):
        return _number_to_ns(value)
    text = str(value).strip()
    if text.lstrip("-").replace(".", "", 1).isdigit():
        return _number_to_ns(float(text) if "." in text else int(text))
    return _iso_to_ns(text)


def _number_to_ns(value: int | float) -> int:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"expected a time, got {value!r}")
    magnitude = abs(value)
    if magnitude >= 1e17:
        return int(value)
    if magnitude >= 1e14:
        return int(value * 1_000)
    if magnitude >= 1e11:
        return int(value * 1_000_000)
    return int(value * 1_000_000_000)


def _iso_to_ns(text: str) -> int:
    body = text.replace("Z", "+00:00").replace("z", "+00:00")
    fraction_ns = 0
    if "." in body:
        head, tail = body.split(".", 1)
        digits = ""
        while tail and tail[0].isdigit():
            digits, tail = digits + tail[0], tail[1:]
        fraction_ns = int((digits + "000000000")[:9]) if digits else 0
        body = head + tail
    parsed = datetime.fromisoformat(body)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return int(parsed.timestamp()) * 1_000_000_000 + fraction_ns


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spacing: equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def as_text(value: Any) -> str | None:
    """Content as text for the `input`/`output` columns: strings kept, the rest as JSON."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def stable_id(*parts: Any, length: int = 32) -> str:
    """A deterministic hex id from content, so re-ingesting the same record dedupes."""
    digest = hashlib.sha256(canonical_json(parts).encode()).hexdigest()
    return digest[:length]


def as_int(value: Any) -> int | None:
    """Token counts: ints, numeric strings and integral floats; anything else is unknown."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else None
    try:
        return int(str(value).strip())
    except ValueError:
        try:
            number = float(str(value).strip())
        except ValueError:
            return None
        return int(number) if math.isfinite(number) else None


def as_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
