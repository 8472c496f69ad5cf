"""The benchmark's generator writes files every adapter reads back whole, with exact counts.

Speed is never asserted here (bench/RESULTS.md is the record); this only makes sure the
benchmark measures what it claims: each format holds the spans and trajectories the
manifest says, counted once from the files themselves and once through ingest.
"""

from __future__ import annotations

import json
from collections import Counter

import pyarrow.compute as pc
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from analysis.pipeline import ingest_path
from bench.generate import generate
from ingest.registry import decode_file

SPANS = 400
FORMATS = {
    "otlp_json": ("otlp.jsonl", "otlp_json"),
    "otlp_protobuf": ("otlp.binpb", "otlp_protobuf_framed"),
    "span_jsonl": ("spans.jsonl", "span_jsonl"),
    "langsmith": ("langsmith.jsonl", "langsmith"),
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench-data")
    return out, generate(out, SPANS, seed=11, parallel=False)


def spans_in_file(path) -> Counter:
    """Spans per trace id, read straight from the file without the adapters."""
    per_trace: Counter = Counter()
    if path.suffix == ".binpb":
        data, offset = path.read_bytes(), 0
        while offset < len(data):
            size = int.from_bytes(data[offset : offset + 4], "big")
            request = ExportTraceServiceRequest.FromString(data[offset + 4 : offset + 4 + size])
            offset += 4 + size
            for resource in request.resource_spans:
                for scope in resource.scope_spans:
                    per_trace.update(span.trace_id.hex() for span in scope.spans)
        return per_trace
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if "resourceSpans" in record:
            for resource in record["resourceSpans"]:
                for scope in resource["scopeSpans"]:
                    per_trace.update(span["traceId"] for span in scope["spans"])
        else:
            per_trace[record["trace_id"]] += 1
    return per_trace


def test_manifest_counts_match_every_file(generated):
    out, manifest = generated
    assert manifest["spans"] == SPANS
    assert manifest["llm"] + manifest["tool"] + manifest["agent"] == SPANS
    for name, (file, _) in FORMATS.items():
        per_trace = spans_in_file(out / file)
        assert sum(per_trace.values()) == SPANS, name
        assert len(per_trace) == manifest["trajectories"], name


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_format_decodes_with_the_generated_counts(generated, name):
    out, manifest = generated
    file, expected_format = FORMATS[name]
    decoded = decode_file(out / file)
    assert decoded.format == expected_format
    assert (decoded.spans.num_rows, decoded.trace_count) == (SPANS, manifest["trajectories"])
    assert decoded.skipped == []
    kinds = dict(zip(*pc.value_counts(decoded.spans.column("kind")).flatten(), strict=True))
    kinds = {k.as_py(): v.as_py() for k, v in kinds.items()}
    root = "chain" if name == "langsmith" else "agent"  # LangSmith has no agent run type
    assert kinds == {root: manifest["agent"], "llm": manifest["llm"], "tool": manifest["tool"]}
    tools = decoded.spans.filter(pc.equal(decoded.spans.column("kind"), "tool"))
    # half the OTLP tool spans carry no arguments: they must come from the LLM's messages
    assert tools.column("tool_args").null_count == 0
    assert tools.column("tool_name").null_count == 0


def test_ingest_stores_every_trajectory(generated, con):
    out, manifest = generated
    report = ingest_path(con, out / "otlp.jsonl")
    assert report.ok, report.error
    assert (report.spans, report.trajectories) == (SPANS, manifest["trajectories"])
    with con.cursor() as cur:
        stored = cur.execute(
            "SELECT (SELECT count(*) FROM spans), (SELECT count(*) FROM trajectories),"
            " (SELECT sum(llm_calls) FROM trajectories)"
        ).fetchone()
    assert stored == (SPANS, manifest["trajectories"], manifest["llm"])
