"""LangSmith exports, recognised by content: run dumps, run trees, ingest payloads, Parquet.

Teams export their LangSmith history in whichever shape their tooling produced:
`client.list_runs()` dumped as JSONL or a JSON array (often newest first), nested run trees
(`child_runs`), the SDK's ingest payloads (`{"post": [...], "patch": [...]}`, merged by run
id), or a bulk export of Parquet files. Every shape is reduced to a flat list of runs here
and mapped to spans once, in `langsmith_runs`.
"""

from __future__ import annotations

import re
from typing import Any

from ingest import langsmith_parquet, registry
from ingest.canonical import gc_paused, to_table
from ingest.errors import DecodeError
from ingest.jsonutil import first_char, first_line_object, iter_records
from ingest.langsmith_runs import RunRecord, merge_into, merge_runs, run_id_of, runs_to_rows
from ingest.otlp.streams import json_lines_fast
from ingest.source import Source

NAME = "langsmith"
PRIORITY = 45  # before span_jsonl (50) and messages_jsonl (60): payloads hold chat messages too
PAYLOAD_KEYS = ("post", "patch")
RUN_MARKERS = ("run_type", "dotted_order", "parent_run_id", "child_runs")
EXPECTED_RECORD = (
    "expected a LangSmith run (an object with 'id' and 'run_type') "
    'or an ingest payload ({"post": [...], "patch": [...]})'
)
_BOM_AND_SPACE = b"\xef\xbb\xbf \t\r\n"
_RUN_KEY = re.compile(rb'(?<!\\)"(?:run_type|dotted_order)"\s*:')
_PAYLOAD_START = re.compile(rb'^\{\s*"(?:post|patch)"\s*:')


def sniff(head: bytes, source: Source) -> bool:
    if langsmith_parquet.claims(head, source):
        return True
    if first_char(head) not in ("{", "["):
        return False
    record = first_line_object(head)
    if record is not None:
        return is_payload(record) or "run_type" in record or "dotted_order" in record
    body = head.lstrip(_BOM_AND_SPACE)
    return bool(_PAYLOAD_START.match(body) or _RUN_KEY.search(body))


def is_payload(value: Any) -> bool:
    """Exactly the SDK's batch body: post and/or patch, nothing else."""
    return (
        isinstance(value, dict)
        and any(key in value for key in PAYLOAD_KEYS)
        and all(key in PAYLOAD_KEYS for key in value)
    )


def looks_like_run(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    return any(key in value for key in RUN_MARKERS) or ("id" in value and "trace_id" in value)


def decode(source: Source) -> registry.Decoded:
    with gc_paused():
        return _decode(source)


def _decode(source: Source) -> registry.Decoded:
    skipped: list[registry.Skipped] = []
    if langsmith_parquet.claims(source.head(), source):
        records, warnings = langsmith_parquet.read_records(source)
        runs = merge_runs(records, source.display_name)
    else:
        warnings = []
        runs = _json_runs(source, skipped)
    if not runs:
        why = f"; {len(skipped)} patches had no matching post" if skipped else ""
        raise DecodeError(source.display_name, f"no runs found{why}; {EXPECTED_RECORD}")
    rows, mapping_warnings = runs_to_rows(runs, source.display_name)
    return registry.Decoded(
        format=NAME, spans=to_table(rows), skipped=skipped, warnings=warnings + mapping_warnings
    )


def _json_runs(source: Source, skipped: list) -> dict[str, RunRecord]:
    """Runs from JSONL, a JSON array or one JSON document; patches merged into their posts."""
    runs: list[RunRecord] = []
    patches: list[RunRecord] = []
    for position, value in _records(source):
        if is_payload(value):
            runs.extend(_payload_part(value, "post", position, source))
            patches.extend(_payload_part(value, "patch", position, source))
        elif looks_like_run(value):
            runs.extend(flatten_tree(value, position, source))
        else:
            raise DecodeError(source.display_name, EXPECTED_RECORD, position)
    merged = merge_runs(runs, source.display_name)
    for patch in patches:
        run_id = run_id_of(patch, source.display_name)
        if run_id in merged:
            merge_into(merged[run_id].run, patch.run)
        else:
            skipped.append(
                registry.Skipped(
                    patch.position,
                    f"patch for run {run_id} has no matching post in this file "
                    "(it only updates a run created elsewhere)",
                )
            )
    return merged


def _records(source: Source):
    """(position, record) as `iter_records` gives them; JSON Lines of several records read
    by the orjson line reader, which hands anything unusual back to `iter_records`."""
    if first_char(source.head()) == "{":
        lines = json_lines_fast(source)
        if lines is not None and len(lines) > 1:
            return ((f"line {number}", value) for number, value in lines)
    return iter_records(source)


def _payload_part(payload: dict, key: str, position: str, source: Source) -> list[RunRecord]:
    items = payload.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        raise DecodeError(
            source.display_name, f"expected a list of runs under {key!r}", f"{position}, {key}"
        )
    records = []
    for index, item in enumerate(items):
        where = f"{position}, {key}[{index}]"
        if not isinstance(item, dict):
            raise DecodeError(source.display_name, f"expected a run object in {key!r}", where)
        records.append(RunRecord(where, item))
    return records


def flatten_tree(tree: dict, position: str, source: Source) -> list[RunRecord]:
    """A run and all its nested `child_runs`, parent first; children learn their parent's id."""
    flat: list[RunRecord] = []
    stack: list[tuple[Any, str, Any]] = [(tree, position, None)]
    while stack:
        run, where, parent_id = stack.pop()
        if not isinstance(run, dict):
            raise DecodeError(source.display_name, "expected a run object in child_runs", where)
        children = run.get("child_runs") or []
        if not isinstance(children, list):
            raise DecodeError(
                source.display_name, "expected 'child_runs' to be a list of runs", where
            )
        own = {key: value for key, value in run.items() if key != "child_runs"}
        if parent_id is not None and not own.get("parent_run_id"):
            own["parent_run_id"] = parent_id
        flat.append(RunRecord(where, own))
        for index in range(len(children) - 1, -1, -1):
            stack.append((children[index], f"{where}, child_runs[{index}]", own.get("id")))
    return flat


registry.register(NAME, PRIORITY, sniff, decode)
