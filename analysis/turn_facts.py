"""The two per-span facts the turn rollup cannot compute in SQL, computed over whole columns.

A tool call's signature needs its arguments as canonical JSON (sorted keys): it follows
`analysis.turns.tool_signature` once per distinct argument text, with the fast parser and
encoder and keys Arrow can hold. An assistant reply's fingerprint is
`analysis.turns.message_facts` itself, run only for the replies the stuck rules read
(turns without tool calls).
"""

from __future__ import annotations

import hashlib

import pyarrow as pa

from analysis.turns import NOT_JSON, json_value, message_facts
from ingest.canonical import fast_canonical_json


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
    facts = [message_facts(raw, digest) for raw, digest in zip(outputs, hashes, strict=True)]
    return pa.RecordBatch.from_arrays(
        [
            batch.column("trace_id").cast(pa.string()),
            batch.column("span_id").cast(pa.string()),
            pa.array([f[0] for f in facts], pa.string()),
            pa.array([f[1] for f in facts], pa.bool_()),
        ],
        schema=FACTS_SCHEMA,
    )
