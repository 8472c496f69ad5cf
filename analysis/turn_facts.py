"""The two per-span facts the turn rollup cannot compute in SQL, computed over whole columns.

A tool call's signature needs its arguments as canonical JSON (sorted keys), and an
assistant reply's fingerprint needs the text extracted from whatever message shape the
source used. Both follow `analysis.turns` exactly (`tool_signature`, `message_facts`);
here they run once per distinct argument text and only for the replies the stuck rules
read (turns without tool calls), parsing with orjson where it reads JSON as `json` does.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import orjson
import pyarrow as pa

from analysis.turns import _collect_text
from ingest.canonical import fast_canonical_json, may_hold_long_integer

NOT_JSON = object()


def json_value(text: str) -> Any:
    """`json.loads(text)`, or `NOT_JSON` where it raises ValueError."""
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


def canonical_args(texts: list[str]) -> list[str]:
    """Tool arguments as compared by the detectors (`tool_signature`'s second part)."""
    out = []
    for text in texts:
        value = json_value(text)
        out.append(text.strip() if value is NOT_JSON else _storable(fast_canonical_json(value)))
    return out


def _storable(canon: str) -> str:
    """`canon` as Arrow can hold it. JSON escapes a lone surrogate ("\\ud800", a JavaScript
    string cut mid-emoji) as text, and decoding yields a Python string UTF-8 cannot carry:
    such a text compares by its digest, behind a NUL no canonical JSON starts with."""
    try:
        canon.encode()
    except UnicodeEncodeError:
        return "\0" + hashlib.sha256(canon.encode("utf-8", "surrogatepass")).hexdigest()
    return canon


def canonical_args_table(texts: pa.Array) -> pa.Table:
    values = texts.to_pylist()
    return pa.table({"tool_args": pa.array(values, pa.string()), "canon": canonical_args(values)})


def message_fingerprint(raw: str, output_hash: str) -> tuple[str, bool]:
    """(fingerprint, empty) of a reply short enough to read: `message_facts` exactly."""
    value = json_value(raw)
    if value is NOT_JSON:
        text, has_calls = raw, False
    else:
        texts: list[str] = []
        has_calls = _collect_text(value, texts, top=True)
        text = "\n".join(texts)
    stripped = text.strip()
    empty = not stripped and not has_calls
    fingerprint = hashlib.sha256(stripped.encode("utf-8", "surrogatepass")).hexdigest()
    return (output_hash if has_calls else fingerprint), empty


def message_facts_table(replies: pa.RecordBatchReader) -> pa.Table:
    """(trace_id, span_id, message, empty) for batches of (trace_id, span_id, output,
    output_hash), read a batch at a time so the reply texts are never all held at once."""
    parts = [_facts_batch(batch) for batch in replies]
    return pa.Table.from_batches(parts, FACTS_SCHEMA) if parts else FACTS_SCHEMA.empty_table()


FACTS_SCHEMA = pa.schema(
    [("trace_id", pa.string()), ("span_id", pa.string()), ("message", pa.string()),
     ("empty", pa.bool_())]
)  # fmt: skip


def _facts_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    outputs = batch.column("output").to_pylist()
    hashes = batch.column("output_hash").to_pylist()
    facts = [message_fingerprint(raw, digest) for raw, digest in zip(outputs, hashes, strict=True)]
    return pa.RecordBatch.from_arrays(
        [
            batch.column("trace_id").cast(pa.string()),
            batch.column("span_id").cast(pa.string()),
            pa.array([f[0] for f in facts], pa.string()),
            pa.array([f[1] for f in facts], pa.bool_()),
        ],
        schema=FACTS_SCHEMA,
    )
