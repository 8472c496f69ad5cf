"""Langfuse trace exports: what `GET /api/public/traces/{id}`, the observations API and the UI's
export give, recognised by content.

A team moving from Langfuse (or comparing) has its history in that shape: a trace with its
`observations` (GENERATION, SPAN, TOOL, AGENT, ...), each with `usageDetails` and
`costDetails`. Rather than a second mapping, each observation is written back into the
attribute names Langfuse's own OpenTelemetry SDK uses (`langfuse.observation.*`,
`langfuse.session.id`, ...), next to the OTel attributes Langfuse keeps in `metadata.attributes`
when the trace came in over OTel, and mapped by the OTLP conventions (`span_row`): a Langfuse
observation means the same here whichever way it arrived. Langfuse's usage excludes cache
from `input` and reasoning from `output`; that convention adds them back.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from ingest import registry
from ingest.canonical import as_float, canonical_json, gc_paused, loads_json_text, parse_time_ns
from ingest.errors import DecodeError
from ingest.jsonutil import first_char, iter_records
from ingest.langsmith_runs import SCORE_KEYS
from ingest.otlp.adapter import span_row
from ingest.otlp.envelope import neutral_span
from ingest.otlp.table import COL, TableBuilder
from ingest.source import Source

NAME = "langfuse"
PRIORITY = 40  # before LangSmith (45) and the JSONL adapters: observations hold chat messages
EXPECTED = (
    'expected a Langfuse trace export ({"trace": {...}, "observations": [...]}, a trace with '
    'its "observations", or the observations API\'s {"data": [...]})'
)
# Observation fields written back under the attribute names of Langfuse's OTel SDK.
OBSERVATION_ATTRIBUTES = {
    "level": "langfuse.observation.level",
    "statusMessage": "langfuse.observation.status_message",
    "model": "langfuse.observation.model.name",
    "modelParameters": "langfuse.observation.model.parameters",
    "input": "langfuse.observation.input",
    "output": "langfuse.observation.output",
    "completionStartTime": "langfuse.observation.completion_start_time",
    "promptName": "langfuse.observation.prompt.name",
    "promptVersion": "langfuse.observation.prompt.version",
    "version": "langfuse.version",
    "environment": "langfuse.environment",
    "toolCalls": "langfuse.observation.tool_calls",
    "toolDefinitions": "langfuse.observation.tool_definitions",
}
JSON_OBSERVATION_ATTRIBUTES = {
    "usageDetails": "langfuse.observation.usage_details",
    "costDetails": "langfuse.observation.cost_details",
}
# Trace fields, on the trajectory's root observations (the session then covers the trajectory).
TRACE_ATTRIBUTES = {
    "name": "langfuse.trace.name",
    "userId": "langfuse.user.id",
    "sessionId": "langfuse.session.id",
    "tags": "langfuse.trace.tags",
    "release": "langfuse.release",
    "scores": "langfuse.trace.scores",
}
OTEL_KEYS = ("attributes", "resourceAttributes")
TYPE_KEY = "langfuse.observation.type"
# Trace fields some exports write as Python text (`str()` of the API's values): 'None', "[]".
PYTHON_NONE = "None"
_TRACE_START = re.compile(rb'^\[?\s*\{\s*"trace"\s*:\s*\{')


def sniff(head: bytes, source: Source) -> bool:
    if first_char(head) not in ("{", "["):
        return False
    body = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if _TRACE_START.match(body) and b'"projectId"' in head:
        return True
    text = head[:16384]
    if b'"resourceSpans"' in text:
        return False
    if b'"observations"' in text and b'"projectId"' in text:
        return True  # a trace, or the traces list API (whose observations are only ids)
    return b'"parentObservationId"' in text and b'"traceId"' in text and b'"startTime"' in text


def decode(source: Source) -> registry.Decoded:
    skipped: list[registry.Skipped] = []
    with gc_paused():
        builder = TableBuilder()
        seq = 0
        for position, record in iter_records(source):
            for trace, observations, where in _traces_of(record, position, source):
                for index, observation in _in_time_order(observations, where, source):
                    row = _row(observation, trace, f"{where}[{index}]", source, skipped, seq)
                    if row is not None:
                        builder.add(row)
                        seq += 1
        table = builder.finish()
    if seq == 0 and not skipped:
        raise DecodeError(source.display_name, f"no observations found; {EXPECTED}")
    return registry.Decoded(NAME, table, skipped)


def _traces_of(record: Any, position: str, source: Source):
    """(trace fields or None, observations, where) for each trace a record holds."""
    if not isinstance(record, dict):
        raise DecodeError(source.display_name, EXPECTED, position)
    if isinstance(record.get("trace"), dict):
        trace = record["trace"]
        where = f"{position}, observations"
        observations = record.get("observations", trace.get("observations"))
        yield trace, _observation_list(observations, where, source), where
    elif "observations" in record:
        where = f"{position}, observations"
        yield record, _observation_list(record["observations"], where, source), where
    elif isinstance(record.get("data"), list):
        for index, item in enumerate(record["data"]):
            yield from _traces_of(item, f"{position}, data[{index}]", source)
    elif "traceId" in record and "type" in record:
        yield None, [record], position
    else:
        raise DecodeError(source.display_name, EXPECTED, position)


def _observation_list(value: Any, where: str, source: Source) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise DecodeError(source.display_name, "expected 'observations' to be a list", where)
    if value and not isinstance(value[0], dict):
        raise DecodeError(
            source.display_name,
            "the observations are ids, not objects (the traces list API returns only ids); "
            "export each trace with GET /api/public/traces/{id}",
            where,
        )
    return value


def _in_time_order(observations: list, where: str, source: Source) -> list[tuple[int, dict]]:
    """Observations by start time (exports list them in any order), file order on ties."""
    timed = []
    for index, observation in enumerate(observations):
        if not isinstance(observation, dict):
            raise DecodeError(
                source.display_name, "expected an observation object", f"{where}[{index}]"
            )
        try:
            start = parse_time_ns(observation.get("startTime"))
        except ValueError as exc:
            raise DecodeError(
                source.display_name, f"startTime: {exc}", f"{where}[{index}]"
            ) from exc
        timed.append((start is None, start or 0, index, observation))
    timed.sort(key=lambda item: item[:3])
    return [(index, observation) for _, _, index, observation in timed]


def _row(
    observation: dict, trace: dict | None, where: str, source: Source, skipped: list, seq: int
) -> list | None:
    trace = trace or {}
    span_id = _text(observation.get("id"))
    trace_id = _text(observation.get("traceId")) or _text(trace.get("id"))
    if span_id is None or trace_id is None:
        missing = "id" if span_id is None else "traceId (nor a trace id around it)"
        skipped.append(registry.Skipped(where, f"observation has no {missing}"))
        return None
    try:
        span = _neutral(observation, trace, trace_id, span_id)
    except (TypeError, ValueError) as exc:
        raise DecodeError(source.display_name, f"malformed observation ({exc})", where) from exc
    row = span_row(span, seq)
    row[COL["source"]] = NAME
    if row[COL["kind"]] == "other" and span["attributes"].get(TYPE_KEY) == "span":
        row[COL["kind"]] = "chain"  # a step of the agent's own code (a LangGraph node, a router)
    if row[COL["kind"]] == "tool" and row[COL["tool_name"]] is None:
        row[COL["tool_name"]] = span["name"] or None
    if span["parent_id"] is None:
        row[COL["score"]] = _outcome_score(trace.get("scores"))
    return row


def _neutral(observation: dict, trace: dict, trace_id: str, span_id: str) -> dict:
    attributes, resource = _metadata_attributes(observation.get("metadata"))
    kind = str(observation.get("type") or "").lower()
    if kind == "span" and _is_tool_message(observation.get("output")):
        kind = "tool"  # LangChain's handler records a tool run as a SPAN returning a ToolMessage
    if kind:
        attributes[TYPE_KEY] = kind
    for field, key in OBSERVATION_ATTRIBUTES.items():
        value = observation.get(field)
        if value not in (None, "", [], {}):
            attributes[key] = value
    for field, key in JSON_OBSERVATION_ATTRIBUTES.items():
        value = observation.get(field)
        if isinstance(value, dict) and value:
            attributes[key] = canonical_json(value)
    parent_id = _text(observation.get("parentObservationId"))
    if parent_id is None:
        for field, key in TRACE_ATTRIBUTES.items():
            value = _trace_value(trace.get(field))
            if value not in (None, "", [], {}):
                attributes[key] = value
    failed = observation.get("level") == "ERROR"
    return neutral_span(
        trace_id,
        span_id,
        parent_id,
        observation.get("name"),
        None,
        parse_time_ns(observation.get("startTime")),
        parse_time_ns(observation.get("endTime")),
        2 if failed else 0,
        observation.get("statusMessage") if failed else None,
        attributes,
        canonical_json(resource),
        [],
    )


def _metadata_attributes(raw: Any) -> tuple[dict, dict]:
    """(attributes, resource attributes) out of an observation's metadata: the OTel span's own
    attributes as they are, every other key as `langfuse.observation.metadata.<key>`."""
    metadata = loads_json_text(raw)
    if metadata in (None, "", {}):
        return {}, {}
    if not isinstance(metadata, dict):
        return {"langfuse.observation.metadata": metadata}, {}
    otel = metadata.get("attributes")
    attributes = dict(otel) if isinstance(otel, dict) else {}
    resource = metadata.get("resourceAttributes")
    for key, value in metadata.items():
        if key not in OTEL_KEYS or not isinstance(value, dict):
            attributes.setdefault(f"langfuse.observation.metadata.{key}", value)
    return attributes, resource if isinstance(resource, dict) else {}


def _is_tool_message(output: Any) -> bool:
    """A LangChain ToolMessage: `{"type": "tool", "tool_call_id": ..., "content": ...}`."""
    if isinstance(output, str):
        if '"tool_call_id"' not in output:
            return False
        output = loads_json_text(output)
    return isinstance(output, dict) and output.get("type") == "tool" and "tool_call_id" in output


def _trace_value(value: Any) -> Any:
    """A trace field as the API gives it, or as Python's text of it ('None', "['a']")."""
    if not isinstance(value, str):
        return value
    if value == PYTHON_NONE:
        return None
    if value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            try:
                return ast.literal_eval(value)
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                return value
    return value


def _outcome_score(raw: Any) -> float | None:
    """The trace's success score (correctness, reward, ...), not e.g. a toxicity score."""
    scores = _trace_value(raw)
    if not isinstance(scores, list):
        return None
    for score in scores:
        if isinstance(score, dict) and str(score.get("name", "")).lower() in SCORE_KEYS:
            value = as_float(score.get("value"))
            if value is not None:
                return value
    return None


def _text(value: Any) -> str | None:
    if value is None or value == "" or value == PYTHON_NONE:
        return None
    return str(value)


registry.register(NAME, PRIORITY, sniff, decode)
