"""LangSmith runs -> canonical span rows: one mapping, whatever export shape carried the runs.

The JSON shapes and the bulk-export Parquet reader both end here, so a run means the same
thing however it arrived. LangSmith rolls token and cost totals up onto parent chain runs;
copying those would count every token once per ancestor, so the canonical token and cost
columns are filled on LLM runs only and a chain's totals stay in `attributes`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from ingest.canonical import (
    as_float,
    as_text,
    canonical_json,
    fast_canonical_json,
    ns_to_datetime,
    parse_time_ns,
)
from ingest.errors import DecodeError
from ingest.jsonutil import parse_json_text
from ingest.langsmith_usage import llm_usage, model_fields

KIND_BY_RUN_TYPE = {
    "llm": "llm",
    "chain": "chain",
    "tool": "tool",
    "retriever": "retrieval",
    "embedding": "embedding",
    "prompt": "other",
    "parser": "other",
}
CONTENT_KEYS = ("inputs", "outputs", "child_runs")
SESSION_KEYS = ("thread_id", "session_id", "conversation_id")
AGENT_KEYS = ("agent_name", "lc_agent_name")
SCORE_KEYS = ("score", "correctness", "correct", "reward", "success", "accuracy")
UUID_LENGTH = 36
_ERROR_TYPE = re.compile(r"^\s*([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Timeout))\b")


@dataclass
class RunRecord:
    """One run as read, with where it was in the file (for error messages)."""

    position: str
    run: dict


def run_id_of(record: RunRecord, filename: str) -> str:
    value = record.run.get("id") if isinstance(record.run, dict) else None
    if value in (None, ""):
        raise DecodeError(
            filename,
            "run has no 'id'; expected every LangSmith run to carry its UUID in 'id'",
            record.position,
        )
    return str(value)


def merge_runs(records: list[RunRecord], filename: str) -> dict[str, RunRecord]:
    """Runs by id; a later record of the same id (a patch, a re-export) fills in and overrides."""
    merged: dict[str, RunRecord] = {}
    for record in records:
        run_id = run_id_of(record, filename)
        if run_id in merged:
            merge_into(merged[run_id].run, record.run)
        else:
            merged[run_id] = RunRecord(record.position, dict(record.run))
    return merged


def merge_into(target: dict, update: dict) -> None:
    """Non-null fields of `update` win; dicts (extra, metadata) are merged one level deep."""
    for key, value in update.items():
        if value is None:
            continue
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            target[key] = {**target[key], **value}
        else:
            target[key] = value


def runs_to_rows(runs: dict[str, RunRecord], filename: str) -> tuple[list[dict], list[str]]:
    """Canonical rows for every run, with parentage, trace ids and seq rebuilt where missing."""
    trace_ids = _trace_ids(runs)
    rows, late_ends = [], []
    for run_id, record in runs.items():
        row = _row(record, run_id, _parent_id(record.run), trace_ids[run_id], filename)
        if row.pop("late_end"):
            late_ends.append(record.position)
        rows.append(row)
    _assign_seq(
        rows, {run_id: _order_segment(record.run, run_id) for run_id, record in runs.items()}
    )
    warnings = []
    if late_ends:
        late = (
            "1 run ends before it starts; its end time was"
            if len(late_ends) == 1
            else f"{len(late_ends)} runs end before they start; their end times were"
        )
        warnings.append(f"{late} dropped (first at {late_ends[0]})")
    return rows, warnings


def _row(record: RunRecord, run_id: str, parent_id, trace_id: str, filename: str) -> dict:
    run = record.run
    kind = KIND_BY_RUN_TYPE.get(str(run.get("run_type") or "").lower(), "other")
    metadata = _dict(_dict(run.get("extra")).get("metadata"))
    row = {
        "trace_id": trace_id,
        "span_id": run_id,
        "parent_id": parent_id,
        "source": "langsmith",
        "convention": "langsmith",
        "name": str(run.get("name") or run.get("run_type") or "run"),
        "kind": kind,
        **_times(run, record.position, filename),
        **_status(run),
        "agent_name": _first_text(metadata, AGENT_KEYS),
        "session_id": _first_text(metadata, SESSION_KEYS),
        "task_id": _text(run.get("reference_example_id")),
        "score": feedback_score(run.get("feedback_stats")),
        "input": _content(run.get("inputs")),
        "output": _content(run.get("outputs")),
        "attributes": fast_canonical_json({k: v for k, v in run.items() if k not in CONTENT_KEYS}),
    }
    if kind in ("llm", "embedding"):
        row.update(model_fields(run, metadata))
    if kind == "llm":
        row.update(llm_usage(run))
        row["cost_usd"] = _reported_cost(run)
    if kind == "tool":
        row["tool_name"] = row["name"]
        row["tool_args"] = _tool_args(run.get("inputs"))
    return row


def _times(run: dict, position: str, filename: str) -> dict:
    try:
        start = parse_time_ns(run.get("start_time"))
        end = parse_time_ns(run.get("end_time"))
    except ValueError as exc:
        raise DecodeError(
            filename, f"{exc}; expected ISO-8601 text for start_time/end_time", position
        ) from exc
    late_end = start is not None and end is not None and end < start
    return {"start_ns": start, "end_ns": None if late_end else end, "late_end": late_end}


def _status(run: dict) -> dict:
    error = run.get("error")
    status = str(run.get("status") or "").lower()
    if error or status == "error":
        message = as_text(error) or None
        match = _ERROR_TYPE.match(message or "")
        return {
            "status": "error",
            "error_message": message,
            "error_type": match.group(1) if match else None,
        }
    finished = status in ("success", "ok") or (not status and run.get("end_time"))
    return {"status": "ok" if finished else "unset"}


def feedback_score(stats: Any) -> float | None:
    """Mean of the `avg` of the outcome-like feedback keys (score, correctness, …), else NULL.

    Other feedback keys (helpfulness, sentiment, …) are not outcomes; they stay in attributes.
    """
    stats = _dict(parse_json_text(stats))
    values = []
    for key in SCORE_KEYS:
        entry = stats.get(key)
        value = as_float(entry.get("avg")) if isinstance(entry, dict) else as_float(entry)
        if value is not None:
            values.append(value)
    return sum(values) / len(values) if values else None


def _reported_cost(run: dict) -> float | None:
    cost = as_float(run.get("total_cost"))
    if cost is None:
        cost = as_float(_dict(_dict(run.get("outputs")).get("usage_metadata")).get("total_cost"))
    return cost


def _tool_args(inputs: Any) -> str | None:
    """Tool arguments as canonical JSON; LangChain's single `input` string is unwrapped."""
    if inputs in (None, {}, []):
        return None
    if isinstance(inputs, dict) and set(inputs) == {"input"}:
        inputs = parse_json_text(inputs["input"])
    return canonical_json(inputs)


def _content(value: Any) -> str | None:
    return None if value in (None, {}, [], "") else as_text(value)


def _parent_id(run: dict) -> str | None:
    if run.get("parent_run_id"):
        return str(run["parent_run_id"])
    ids = dotted_ids(run.get("dotted_order"))
    return ids[-2] if len(ids) >= 2 else None


def _trace_ids(runs: dict[str, RunRecord]) -> dict[str, str]:
    """trace_id as given, else the first UUID of dotted_order, else the topmost known ancestor."""
    found: dict[str, str] = {}
    for run_id in runs:
        path, on_path, current = [], set(), run_id
        while current not in found:
            run = runs[current].run
            own = run.get("trace_id") or next(iter(dotted_ids(run.get("dotted_order"))), None)
            if own:
                found[current] = str(own)
                break
            path.append(current)
            on_path.add(current)
            parent = _parent_id(run)
            if parent is None or parent not in runs or parent in on_path:
                found[current] = current
                break
            current = parent
        for member in path:
            found[member] = found[current]
    return found


def dotted_ids(dotted_order: Any) -> list[str]:
    """Run UUIDs along a dotted_order (`<time>Z<uuid>` segments joined by '.'), root first."""
    if not isinstance(dotted_order, str) or not dotted_order:
        return []
    return [segment[-UUID_LENGTH:] for segment in dotted_order.split(".") if segment]


def _order_segment(run: dict, run_id: str) -> str:
    """The run's own dotted_order segment (`<start>Z<id>`), given or built the same way."""
    given = run.get("dotted_order")
    if isinstance(given, str) and given:
        return given.rsplit(".", 1)[-1]
    try:
        start = ns_to_datetime(parse_time_ns(run.get("start_time")))
    except ValueError:
        start = None
    return (start.strftime("%Y%m%dT%H%M%S%fZ") if start else "Z") + run_id


def _assign_seq(rows: list[dict], segments: dict[str, str]) -> None:
    """seq = position in dotted_order order: depth first, siblings by start time then id.

    Walking the tree gives the same order as sorting full dotted_order strings, without
    building strings as long as the tree is deep. Runs on a parent cycle keep seq NULL.
    """
    by_id = {row["span_id"]: row for row in rows}
    children: dict[str, list[dict]] = defaultdict(list)
    roots: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        parent = by_id.get(row["parent_id"])
        if parent is not None and parent["trace_id"] == row["trace_id"]:
            children[parent["span_id"]].append(row)
        else:
            roots[row["trace_id"]].append(row)

    def newest_first(group: list[dict]) -> list[dict]:
        return sorted(group, key=lambda r: segments[r["span_id"]], reverse=True)

    for trace_roots in roots.values():
        stack, seq = newest_first(trace_roots), 0
        while stack:
            row = stack.pop()
            row["seq"], seq = seq, seq + 1
            stack.extend(newest_first(children[row["span_id"]]))


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _first_text(mapping: dict, keys: tuple[str, ...]) -> str | None:
    return next((str(mapping[k]) for k in keys if mapping.get(k) not in (None, "")), None)
