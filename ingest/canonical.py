"""The one span model every adapter converges on (DESIGN §2), as an Arrow schema.

Adapters build plain dicts keyed by canonical column names; `to_table` turns a batch of
them into an Arrow table with the exact public column types, so the store has a single
write path whatever the source format.
"""

from __future__ import annotations

import gc
import hashlib
import json
import math
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa

from ingest.jsonutil import parse_json_text

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


def include_cache_and_reasoning(tokens: dict) -> bool:
    """Sources in raw-Anthropic style count cache apart from input (and some, reasoning apart
    from output); inclusive counts can't be smaller, so such counts are added in. True when
    something was added."""
    cached = (tokens.get("cache_read_tokens") or 0) + (tokens.get("cache_write_tokens") or 0)
    reasoning = tokens.get("reasoning_tokens") or 0
    corrected = False
    if tokens.get("input_tokens") is not None and cached > tokens["input_tokens"]:
        tokens["input_tokens"] += cached
        corrected = True
    if tokens.get("output_tokens") is not None and reasoning > tokens["output_tokens"]:
        tokens["output_tokens"] += reasoning
        corrected = True
    return corrected


_STRING_COLUMNS = frozenset(name for name, kind in SPAN_FIELDS if kind == pa.string())
_TIME_COLUMNS = frozenset(("start_time", "end_time", "duration_ms"))
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def to_table(rows: Iterable[dict[str, Any]], upload_id: str | None = None) -> pa.Table:
    """Build the canonical Arrow table from span dicts.

    Times arrive as integer epoch nanoseconds (`start_ns`, `end_ns`) and leave as UTC
    microsecond timestamps; `duration_ms` is derived, never taken on trust. A text column
    given a number, list or object (a source with the wrong type there) keeps it as JSON text.
    Built column by column (one pass per column, times as integers), not row by row.
    """
    rows = rows if isinstance(rows, list) else list(rows)
    starts = [row.get("start_ns") for row in rows]
    ends = [row.get("end_ns") for row in rows]
    columns: dict[str, Any] = {}
    for name in SPAN_COLUMNS:
        if name in _TIME_COLUMNS:
            continue
        values = [row.get(name) for row in rows]
        if name in _STRING_COLUMNS and any(
            v is not None and not isinstance(v, str) for v in values
        ):
            values = [v if v is None or isinstance(v, str) else as_text(v) for v in values]
        columns[name] = values
    try:
        columns["start_time"] = _timestamps(starts)
        columns["end_time"] = _timestamps(ends)
    except (OverflowError, pa.ArrowInvalid):  # out of range: fail as the datetime path does
        columns["start_time"] = [ns_to_datetime(ns) for ns in starts]
        columns["end_time"] = [ns_to_datetime(ns) for ns in ends]
    columns["duration_ms"] = [
        (end - start) / 1e6 if start is not None and end is not None else None
        for start, end in zip(starts, ends, strict=True)
    ]
    if upload_id is not None:
        columns["upload_id"] = [upload_id] * len(rows)
    columns = {name: columns[name] for name in SPAN_COLUMNS}
    try:
        return pa.table(columns, schema=SPAN_SCHEMA)
    except UnicodeEncodeError:
        for name in _STRING_COLUMNS:
            columns[name] = [valid_unicode(value) for value in columns[name]]
        return pa.table(columns, schema=SPAN_SCHEMA)


def _timestamps(nanoseconds: list) -> pa.Array:
    """Epoch ns -> UTC microsecond timestamps, truncated as `ns_to_datetime` does (floor)."""
    micros = [None if ns is None else int(ns) // 1000 for ns in nanoseconds]
    return pa.array(micros, pa.int64()).cast(TIMESTAMP)


def valid_unicode(text: str | None) -> str | None:
    """Text without lone UTF-16 surrogates: JSON escapes such as \\ud800 decode to characters
    no UTF-8 text can hold (a JavaScript string cut mid-emoji); each becomes U+FFFD."""
    if text is None:
        return None
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def ns_to_datetime(ns: int | None) -> datetime | None:
    if ns is None:
        return None
    seconds, rest = divmod(int(ns), 1_000_000_000)
    return datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=rest // 1000)


def parse_time_ns(value: Any) -> int | None:
    """Epoch nanoseconds from ISO-8601 text, epoch ns/us/ms/s numbers, or None.

    Numbers are read by magnitude: a 2020s timestamp has 19 digits in ns, 16 in us,
    13 in ms and 10 in s, so the unit is not ambiguous for real data. A time that epoch
    nanoseconds cannot hold in 64 bits (before 1677 or after 2262) is refused.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"expected a time, got {value!r}")
    if isinstance(value, (int, float)):
        return _in_range(_number_to_ns(value), value)
    text = str(value).strip()
    if text.lstrip("-").replace(".", "", 1).isdigit():
        return _in_range(_number_to_ns(float(text) if "." in text else int(text)), value)
    return _in_range(_iso_to_ns(text), value)


def _in_range(ns: int, given: Any) -> int:
    if not INT64_MIN <= ns <= INT64_MAX:
        raise ValueError(f"time {str(given)[:40]!r} is outside the years 1677-2262")
    return ns


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
    try:
        parsed = datetime.fromisoformat(body)
    except ValueError:
        raise ValueError(
            f"time {text[:40]!r} is not ISO 8601 (2026-11-28T09:00:00Z) or epoch "
            "seconds, ms, µs or ns"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp()) * 1_000_000_000 + fraction_ns


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spacing: equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def fast_canonical_json(value: Any) -> str:
    """Exactly the text of `canonical_json`, written by orjson when the value holds only
    types orjson writes the same way (on a hot path: every span's attributes)."""
    if _same_in_orjson(value, 0):
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
        except (TypeError, orjson.JSONEncodeError):
            pass  # lone surrogates, integers past 64 bits: the standard encoder decides
    return canonical_json(value)


def _same_in_orjson(value: Any, depth: int) -> bool:
    """True when orjson's output equals json.dumps': strings, ints, bools, None, floats outside
    the exponent forms where the two differ (below 1e-4), in lists and string-keyed dicts."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is float:
        return value == 0 or (abs(value) >= 1e-4 and value - value == 0)
    if depth > 32:
        return False
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                return False
            if type(item) is not str and not _same_in_orjson(item, depth + 1):
                return False
        return True
    if kind is list:
        for item in value:
            if type(item) is not str and not _same_in_orjson(item, depth + 1):
                return False
        return True
    return False


def loads_json_text(value: Any) -> Any:
    """`jsonutil.parse_json_text` with orjson first: JSON text decoded, anything else kept."""
    if isinstance(value, str):
        stripped = value.strip()
        if stripped[:1] in ("{", "[") or stripped in ("null", "true", "false"):
            try:
                data = stripped.encode()
            except UnicodeEncodeError:  # lone surrogates: only the standard parser takes them
                return parse_json_text(value)
            if may_hold_long_integer(data):
                return parse_json_text(value)
            try:
                return orjson.loads(data)
            except orjson.JSONDecodeError:
                return parse_json_text(value)
    return value


def may_hold_long_integer(data: bytes) -> bool:
    """True when `data` may hold an integer literal past 64 bits, which orjson reads as a
    float and the standard parser as the exact int: 20 digits, or `-` and 19, where a JSON
    number can start (at the start, or after `:`, `,`, `[` or a space). Digit runs
    inside ids (hex trace ids often have them) are not numbers; a run inside a string after
    a space is a false alarm, which only costs the slower standard parser."""
    return _LONG_DIGITS in data.translate(_DIGIT_MAP) and _LONG_NUMBER.search(data) is not None


_DIGIT_MAP = bytes(0x31 if 0x30 <= byte <= 0x39 or byte == 0x2D else 0x20 for byte in range(256))
_LONG_DIGITS = b"1" * 20  # a cheap first look: digits (or a minus) 20 in a row
_LONG_NUMBER = re.compile(rb"(?:^|[\s:,\[])(?:-[0-9]{19}|[0-9]{20})")


def as_text(value: Any) -> str | None:
    """Content as text for the `input`/`output` columns: strings kept, the rest as JSON."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def stable_id(*parts: Any, length: int = 32) -> str:
    """A deterministic hex id from content, so re-ingesting the same record dedupes."""
    digest = hashlib.sha256(canonical_json(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return digest[:length]


def as_int(value: Any) -> int | None:
    """Token counts: ints, numeric strings and integral floats within 64 bits; anything else
    (including a count no BIGINT column can hold) is unknown."""
    number = _as_python_int(value)
    return number if number is not None and INT64_MIN <= number <= INT64_MAX else None


def _as_python_int(value: Any) -> int | None:
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


_gc_lock = threading.Lock()
_gc_state = {"depth": 0, "was_enabled": False}


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC during a bulk decode; re-entrant across threads. With millions of
    live dicts the collector, not parsing, dominates decoding (it re-walks them all)."""
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
