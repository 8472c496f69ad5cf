"""POST /v1/traces on the real server, fed by the real OpenTelemetry SDK and by raw requests.

The installed exporter package (opentelemetry-exporter-otlp-proto-http) only speaks
protobuf; OTLP/JSON is posted by a small SpanExporter below that encodes with the SDK's own
encoder and writes spec OTLP/JSON (hex ids, int enums). The store is read after the server
stops, since the server holds the DuckDB file lock while it runs.
"""

from __future__ import annotations

import base64
import gzip
import json
from concurrent.futures import ThreadPoolExecutor

import duckdb
import requests
from google.protobuf.json_format import MessageToDict
from google.rpc import status_pb2
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, Status, StatusCode

from tests.live_server import running_server

PROTOBUF, JSON = "application/x-protobuf", "application/json"
TOKEN = "s3cret-token"
IDS = ("traceId", "spanId", "parentSpanId")


class JsonOTLPExporter(SpanExporter):
    """OTLP/HTTP JSON: the SDK's protobuf encoding, written as spec OTLP/JSON."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        self.statuses: list[int] = []

    def export(self, spans) -> SpanExportResult:
        body = _spec_json(MessageToDict(encode_spans(spans), use_integers_for_enums=True))
        response = requests.post(
            self.endpoint, data=json.dumps(body), headers={"Content-Type": JSON}, timeout=10
        )
        self.statuses.append(response.status_code)
        return SpanExportResult.SUCCESS if response.ok else SpanExportResult.FAILURE

    def shutdown(self) -> None:
        pass


def _spec_json(value):
    """protobuf JSON mapping -> spec OTLP/JSON: ids as hex, not base64."""
    if isinstance(value, dict):
        return {
            k: base64.b64decode(v).hex() if k in IDS else _spec_json(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_spec_json(item) for item in value]
    return value


class RecordingExporter(SpanExporter):
    """Wraps the SDK's OTLPSpanExporter to keep each export's result."""

    def __init__(self, inner: OTLPSpanExporter):
        self.inner = inner
        self.results: list[SpanExportResult] = []

    def export(self, spans) -> SpanExportResult:
        result = self.inner.export(spans)
        self.results.append(result)
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()


def run_weather_agent(exporter: SpanExporter, conversation: str) -> str:
    """invoke_agent -> chat -> execute_tool [error] -> chat; each span is its own export."""
    provider = TracerProvider(resource=Resource.create({"service.name": "endpoint-test"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("agenttime.tests")
    agent_attributes = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "weather_agent",
        "gen_ai.conversation.id": conversation,
    }
    with tracer.start_as_current_span(
        "invoke_agent weather_agent", attributes=agent_attributes
    ) as agent:
        _chat(tracer, 1200, 25, 1024, tool_call=True)
        with tracer.start_as_current_span(
            "execute_tool get_weather",
            attributes={
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "get_weather",
                "gen_ai.tool.call.id": "call_1",
                "error.type": "TimeoutError",
            },
        ) as tool:
            tool.set_status(Status(StatusCode.ERROR, "upstream timeout"))
        _chat(tracer, 1260, 40, None, tool_call=False)
    provider.shutdown()
    return format(agent.get_span_context().trace_id, "032x")


def _chat(tracer, input_tokens: int, output_tokens: int, cache_read: int | None, tool_call: bool):
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.response.model": "gpt-4o-2024-08-06",
        "gen_ai.usage.input_tokens": input_tokens,
        "gen_ai.usage.output_tokens": output_tokens,
        "gen_ai.response.finish_reasons": ["tool_calls" if tool_call else "stop"],
    }
    if cache_read is not None:
        attributes["gen_ai.usage.cache_read.input_tokens"] = cache_read
    if tool_call:
        part = {
            "type": "tool_call",
            "id": "call_1",
            "name": "get_weather",
            "arguments": {"location": "Paris"},
        }
        attributes["gen_ai.output.messages"] = json.dumps([{"role": "assistant", "parts": [part]}])
    with tracer.start_as_current_span("chat gpt-4o", kind=SpanKind.CLIENT, attributes=attributes):
        pass


TOOL_ARGS = '{"location":"Paris"}'  # canonical JSON of the first chat's tool call


def query(db_file, sql: str, params=()) -> list[tuple]:
    with duckdb.connect(str(db_file), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def test_real_sdk_exports_protobuf_and_json_and_batches_form_one_trajectory(tmp_path):
    db_file = tmp_path / "sdk.duckdb"
    with running_server(db_file) as base:
        endpoint = f"{base}/v1/traces"
        protobuf = RecordingExporter(
            OTLPSpanExporter(endpoint=endpoint, compression=Compression.Gzip)
        )
        protobuf_trace = run_weather_agent(protobuf, "conv-protobuf")
        json_exporter = JsonOTLPExporter(endpoint)
        json_trace = run_weather_agent(json_exporter, "conv-json")
    assert protobuf.results == [SpanExportResult.SUCCESS] * 4
    assert json_exporter.statuses == [200] * 4
    spans_sql = (
        "SELECT name, kind, status, model, input_tokens, output_tokens, cache_read_tokens, "
        "tool_name, tool_call_id, error_type, error_message, parent_id IS NULL, source, convention "
        "FROM spans WHERE trace_id = ? ORDER BY start_time"
    )
    expected_spans = [
        ("invoke_agent weather_agent", "agent", "unset", None, None, None, None, None, None, None, None, True, "otlp", "gen_ai"),
        ("chat gpt-4o", "llm", "unset", "gpt-4o-2024-08-06", 1200, 25, 1024, None, None, None, None, False, "otlp", "gen_ai"),
        ("execute_tool get_weather", "tool", "error", None, None, None, None, "get_weather", "call_1", "TimeoutError", "upstream timeout", False, "otlp", "gen_ai"),
        ("chat gpt-4o", "llm", "unset", "gpt-4o-2024-08-06", 1260, 40, None, None, None, None, None, False, "otlp", "gen_ai"),
    ]  # fmt: skip
    trajectory_sql = (
        "SELECT span_count, llm_calls, tool_calls, tool_errors, session_id, agent_name, "
        "input_tokens, output_tokens, cache_read_tokens FROM trajectories WHERE trace_id = ?"
    )
    for trace_id, conversation in ((protobuf_trace, "conv-protobuf"), (json_trace, "conv-json")):
        assert query(db_file, spans_sql, [trace_id]) == expected_spans
        # Each span came in an export of its own: the conversation id (on the agent span,
        # exported last) and the tool's arguments (in the first chat's output, exported
        # first) still reach every span, as from one file of the run.
        assert query(
            db_file,
            "SELECT session_id, tool_args FROM spans WHERE trace_id = ? ORDER BY start_time",
            [trace_id],
        ) == [
            (conversation, None),
            (conversation, None),
            (conversation, TOOL_ARGS),
            (conversation, None),
        ]
        # The four spans came in four exports; the rollup covers all of them.
        assert query(db_file, trajectory_sql, [trace_id]) == [
            (4, 2, 1, 1, conversation, "weather_agent", 2460, 65, 1024)
        ]
    uploads = query(
        db_file, "SELECT filename, format, span_count, who FROM uploads ORDER BY created_at"
    )
    assert [u[1] for u in uploads] == ["otlp_protobuf"] * 4 + ["otlp_json"] * 4
    assert {(u[0], u[2], u[3]) for u in uploads} == {("POST /v1/traces", 1, "otlp-http")}


def test_exporters_sending_at_once_all_land_with_their_runs_whole(tmp_path):
    """Six SDKs export at the same time: their exports queue for the store's one writer and
    are committed in groups; every export is answered with success and every run is whole."""
    db_file = tmp_path / "many.duckdb"
    agents = 6
    with running_server(db_file) as base:
        exporters = [
            RecordingExporter(OTLPSpanExporter(endpoint=f"{base}/v1/traces")) for _ in range(agents)
        ]
        with ThreadPoolExecutor(agents) as pool:
            traces = list(
                pool.map(lambda k: run_weather_agent(exporters[k], f"conv-{k}"), range(agents))
            )
    assert [exporter.results for exporter in exporters] == [[SpanExportResult.SUCCESS] * 4] * agents
    rollup_sql = (
        "SELECT span_count, llm_calls, tool_calls, tool_errors, session_id, "
        "input_tokens, output_tokens, cache_read_tokens FROM trajectories WHERE trace_id = ?"
    )
    for k, trace_id in enumerate(traces):
        assert query(db_file, rollup_sql, [trace_id]) == [(4, 2, 1, 1, f"conv-{k}", 2460, 65, 1024)]
    assert query(db_file, "SELECT count(*), sum(span_count) FROM uploads") == [(24, 24)]


def _post(url, body: bytes, content_type: str, token: str | None = TOKEN, **headers):
    if content_type:
        headers["Content-Type"] = content_type
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.post(url, data=body, headers=headers, timeout=30)


def _status(response) -> status_pb2.Status:
    if response.headers["content-type"].startswith(PROTOBUF):
        return status_pb2.Status.FromString(response.content)
    payload = response.json()
    return status_pb2.Status(code=payload.get("code", 0), message=payload["message"])


def _span_count(base) -> int:
    return requests.get(f"{base}/healthz", timeout=10).json()["spans"]


def _partial_request(shared_otlp) -> bytes:
    request = ExportTraceServiceRequest.FromString((shared_otlp / "sdk_agent.binpb").read_bytes())
    spans = request.resource_spans[0].scope_spans[0].spans
    del spans[2:]
    spans[0].trace_id = b"\x11" * 16  # a new trace: one valid span
    spans[1].trace_id = b""  # rejected: empty trace id
    return request.SerializeToString()


def test_otlp_http_semantics_and_store_unchanged_by_bad_requests(tmp_path, shared_traces):
    shared_otlp = shared_traces / "otlp"
    db_file = tmp_path / "http.duckdb"
    env = {"AGENTTIME_OTLP_TOKEN": TOKEN, "AGENTTIME_OTLP_MAX_BYTES": "20000"}
    binpb = (shared_otlp / "sdk_agent.binpb").read_bytes()
    jsonl = (shared_otlp / "sdk_agent_otlp.jsonl").read_bytes()
    with running_server(db_file, env) as base:
        url = f"{base}/v1/traces"
        assert _post(url, b"", PROTOBUF).status_code == 200  # an empty export stores nothing
        assert _span_count(base) == 0

        ok = _post(url, binpb, PROTOBUF)
        assert ok.status_code == 200 and ok.headers["content-type"] == PROTOBUF
        assert not ExportTraceServiceResponse.FromString(ok.content).HasField("partial_success")
        assert _span_count(base) == 4

        bad = {
            "no token": (_post(url, binpb, PROTOBUF, token=None), 401, 16, "bearer token"),
            "wrong token": (_post(url, binpb, PROTOBUF, token="nope"), 401, 16, "bearer token"),
            "text/plain": (_post(url, b"hello", "text/plain"), 415, 3, "'text/plain'"),
            "random protobuf": (_post(url, bytes(range(256)) * 4, PROTOBUF), 400, 3, "POST /v1/traces, byte 0"),
            "truncated protobuf": (_post(url, binpb[:1000], PROTOBUF), 400, 3, "not a valid ExportTraceServiceRequest"),
            "truncated json": (_post(url, jsonl[:500], JSON), 400, 3, "POST /v1/traces, line 1 column"),
            "json not otlp": (_post(url, b'{"hello": "world"}', JSON), 400, 3, "POST /v1/traces, byte 0: not an OTLP ExportTraceServiceRequest encoded as application/json: the body starts with '{\"hello\": \"world\"}'"),
            "text as protobuf": (_post(url, b"garbage!!", PROTOBUF), 400, 3, "not an OTLP ExportTraceServiceRequest encoded as application/x-protobuf: the body starts with 'garbage!!'"),
            "protobuf as json": (_post(url, jsonl, PROTOBUF), 400, 3, "body looks like otlp_json"),
            "too large": (_post(url, b"\x0a" * 20001, PROTOBUF), 413, 8, "exceeds 20,000 bytes"),
            "gzip bomb": (_post(url, gzip.compress(b"{" * 100_000), JSON, **{"Content-Encoding": "gzip"}), 413, 8, "decompressed body exceeds"),
            "broken gzip": (_post(url, b"\x1f\x8bnot gzip", JSON, **{"Content-Encoding": "gzip"}), 400, 3, "not valid gzip"),
            "brotli": (_post(url, binpb, PROTOBUF, **{"Content-Encoding": "br"}), 415, 3, "Content-Encoding 'br'; expected gzip or deflate"),
        }  # fmt: skip
        for label, (response, http_status, code, fragment) in bad.items():
            assert response.status_code == http_status, (label, response.text)
            status = _status(response)
            assert status.code == code and fragment in status.message, (label, status.message)
        assert bad["no token"][0].headers["www-authenticate"] == "Bearer"
        assert bad["text/plain"][0].headers["content-type"] == JSON  # readable, not protobuf
        for path in ("/v1/traces", "/api/ingest"):  # not Streamlit's blank page with a 200
            opened = requests.get(f"{base}{path}", timeout=10)
            assert (opened.status_code, opened.headers["allow"]) == (405, "POST"), path
            assert opened.text.startswith(f"GET is not served here: POST {path} takes "), path
        assert _span_count(base) == 4  # nothing stored by any rejected request

        packed = _post(url, gzip.compress(jsonl), JSON, **{"Content-Encoding": "gzip"})
        assert (packed.status_code, packed.json()) == (200, {})  # same spans again: deduplicated
        assert _span_count(base) == 4

        spec_line = (
            (shared_otlp / "otel_spec_file_exporter_traces.jsonl").read_bytes().splitlines()[0]
        )
        partial_json = _post(url, spec_line, JSON)
        assert partial_json.status_code == 200
        partial = partial_json.json()["partialSuccess"]
        assert partial["rejectedSpans"] == "2"
        assert partial["errorMessage"].startswith(
            "2 spans rejected: line 1, resourceSpans[0].scopeSpans[0].spans[0]: empty or all-zero trace id"
        )

        partial_pb = _post(url, _partial_request(shared_otlp), PROTOBUF)
        answer = ExportTraceServiceResponse.FromString(partial_pb.content)
        assert answer.partial_success.rejected_spans == 1
        assert answer.partial_success.error_message.startswith("1 span rejected: ")
        assert "resource_spans[0].scope_spans[0].spans[1]: empty or all-zero trace id" in (
            answer.partial_success.error_message
        )
        assert _span_count(base) == 5

        # compressed without a Content-Encoding: taken as gzip, as it was meant (the same
        # spans as the first export: stored once)
        unlabelled = _post(url, gzip.compress(binpb), PROTOBUF)
        assert (unlabelled.status_code, _span_count(base)) == (200, 5)
        # an exporter logs only the status code: the server log says why
        log = (tmp_path / f"server-{base.rsplit(':', 1)[1]}.log").read_text()
        refused = [
            line.split("agenttime.otlp: ", 1)[1] for line in log.splitlines() if "refused" in line
        ]
        assert refused[:3] == [
            "POST /v1/traces from 127.0.0.1 refused: 401 missing or wrong bearer token",
            "POST /v1/traces from 127.0.0.1 refused: 401 missing or wrong bearer token",
            "POST /v1/traces from 127.0.0.1 refused: 415 unsupported Content-Type 'text/plain'; "
            "expected application/x-protobuf or application/json",
        ]
        assert len(refused) == len(bad)

    uploads = query(
        db_file, "SELECT format, span_count, skipped_count FROM uploads ORDER BY created_at"
    )
    assert uploads == [
        ("otlp_protobuf", 4, 0),
        ("otlp_json", 0, 0),
        ("otlp_json", 0, 2),
        ("otlp_protobuf", 1, 1),
    ]
    assert query(db_file, "SELECT count(*) FROM spans WHERE trace_id = ?", ["11" * 16]) == [(1,)]
