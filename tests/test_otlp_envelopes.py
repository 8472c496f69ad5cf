"""OTLP envelopes: every real file in ../shared/traces/otlp decodes to the spans it holds.

Expected values were read by hand from the files: the sdk_agent trajectory is
invoke_agent (root) -> chat -> execute_tool [error] -> chat, with gen_ai.* attributes.
"""

from __future__ import annotations

import gzip
import json
import random
from datetime import UTC, datetime

import pytest
from google.protobuf.json_format import MessageToJson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from analysis.pipeline import ingest_path
from ingest.canonical import may_hold_long_integer
from ingest.otlp.protobuf import sniff_binary
from ingest.registry import decode_file, detect
from ingest.source import Source

TRACE = "03cd3dcfbccbf65b121ec2e38f8bda6d"
ROOT, CHAT1, TOOL, CHAT2 = (
    "08c6fb1334f40397",
    "cb59dd9632c652b5",
    "df657bfa14aefb30",
    "0fa7adea83cc2abd",
)
CONVERSATION = "conv_5j66UpCpwteGg4YSxUnt7lPY"
SDK_AGENT_FILES = {
    "sdk_agent_otlp.jsonl": "otlp_json",
    "sdk_agent_msgtojson.json": "otlp_json",
    "sdk_agent.binpb": "otlp_protobuf",
    "sdk_agent_collector.lenprefix.binpb": "otlp_protobuf_framed",
    "sdk_agent_console_exporter.jsonl": "otel_console_json",
}
EXACT_ENCODINGS = [name for name in SDK_AGENT_FILES if "console" not in name]

# (span_id, parent, name, kind, status, model, request_model, in, out, reasoning, cache_read)
SDK_AGENT_SPANS = [
    (CHAT1, ROOT, "chat gpt-4o", "llm", "unset", "gpt-4o-2024-08-06", "gpt-4o", 1200, 25, None, 1024),
    (TOOL, ROOT, "execute_tool get_weather", "tool", "error", None, None, None, None, None, None),
    (CHAT2, ROOT, "chat gpt-4o", "llm", "unset", "gpt-4o-2024-08-06", "gpt-4o", 1260, 40, 0, None),
    (ROOT, None, "invoke_agent weather_agent", "agent", "unset", "gpt-4o", "gpt-4o", 2460, 65, None, None),
]  # fmt: skip
COLUMNS = (
    "span_id", "parent_id", "name", "kind", "status", "model", "request_model", "input_tokens",
    "output_tokens", "reasoning_tokens", "cache_read_tokens",
)  # fmt: skip


def rows(path, name=None) -> list[dict]:
    return decode_file(path, name).spans.to_pylist()


@pytest.mark.parametrize("filename", SDK_AGENT_FILES)
def test_sdk_agent_trajectory_in_every_encoding(shared_traces, filename):
    decoded = decode_file(shared_traces / "otlp" / filename)
    assert decoded.format == SDK_AGENT_FILES[filename]
    assert decoded.skipped == []
    spans = decoded.spans.to_pylist()
    assert [tuple(s[c] for c in COLUMNS) for s in spans] == SDK_AGENT_SPANS
    assert {s["trace_id"] for s in spans} == {TRACE}
    assert [s["seq"] for s in spans] == [0, 1, 2, 3]
    assert {s["source"] for s in spans} == {"otlp"} and {s["convention"] for s in spans} == {
        "gen_ai"
    }
    assert {s["provider"] for s in spans if s["kind"] != "tool"} == {"openai"}
    assert {s["session_id"] for s in spans} == {CONVERSATION}  # set on the agent span only
    assert {s["agent_name"] for s in spans} == {None, "weather_agent"}
    tool = spans[1]
    assert (tool["tool_name"], tool["tool_call_id"]) == ("get_weather", "call_1")
    assert (tool["error_type"], tool["error_message"]) == ("TimeoutError", "upstream timeout")
    assert tool["tool_args"] == '{"location":"Paris"}'  # from the chat span's tool call
    assert json.loads(spans[0]["input"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]}
    ]
    assert spans[0]["start_time"] == datetime(2026, 11, 28, 20, 0, 2, 440101, tzinfo=UTC)


def test_exact_encodings_give_identical_rows(shared_traces):
    reference = rows(shared_traces / "otlp" / EXACT_ENCODINGS[0])
    for filename in EXACT_ENCODINGS[1:]:
        assert rows(shared_traces / "otlp" / filename) == reference, filename


def test_console_exporter_differs_only_by_its_microsecond_rounding(shared_traces):
    reference = rows(shared_traces / "otlp" / "sdk_agent_otlp.jsonl")
    console = rows(shared_traces / "otlp" / "sdk_agent_console_exporter.jsonl")
    timing = {"start_time", "end_time", "duration_ms"}
    for exact, rounded in zip(reference, console, strict=True):
        assert {k: v for k, v in exact.items() if k not in timing} == {
            k: v for k, v in rounded.items() if k not in timing
        }
        for key in ("start_time", "end_time"):
            assert abs((exact[key] - rounded[key]).total_seconds()) <= 1e-6
        assert exact["duration_ms"] == pytest.approx(rounded["duration_ms"], abs=0.002)


def test_attributes_keep_everything_including_resource_and_events(shared_traces):
    tool = rows(shared_traces / "otlp" / "sdk_agent.binpb")[1]
    attributes = json.loads(tool["attributes"])
    assert attributes["gen_ai.tool.type"] == "function"
    assert attributes["otel.span_kind"] == "internal"
    assert attributes["otel.events"] == [
        {
            "name": "exception",
            "attributes": {
                "exception.type": "TimeoutError",
                "exception.message": "upstream timeout",
            },
        }
    ]
    assert attributes["resource"]["service.name"] == "demo-agent"


def test_proto_example_uppercase_hex_and_string_int64(shared_traces):
    decoded = decode_file(shared_traces / "otlp" / "otlp_proto_examples_trace.json")
    assert decoded.format == "otlp_json"
    [span] = decoded.spans.to_pylist()
    assert (span["trace_id"], span["span_id"], span["parent_id"]) == (
        "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174", "eee19b7ec3c1b173",
    )  # fmt: skip
    assert (span["name"], span["kind"], span["status"]) == ("I'm a server span", "other", "unset")
    assert span["start_time"] == datetime(2018, 12, 13, 14, 51, 0, tzinfo=UTC)
    assert span["duration_ms"] == 1000.0
    assert span["convention"] is None and span["model"] is None
    attributes = json.loads(span["attributes"])
    assert attributes["my.span.attr"] == "some value"
    assert attributes["otel.span_kind"] == "server"
    assert attributes["resource"] == {"service.name": "my.service"}


def test_spec_file_exporter_empty_ids_are_skipped_with_reasons(shared_traces):
    decoded = decode_file(shared_traces / "otlp" / "otel_spec_file_exporter_traces.jsonl")
    assert decoded.spans.num_rows == 0
    assert len(decoded.skipped) == 8  # 4 lines x 2 spans, every id ""
    first = decoded.skipped[0]
    assert first.position == "line 1, resourceSpans[0].scopeSpans[0].spans[0]"
    assert "empty or all-zero trace id" in first.reason
    assert decoded.skipped[7].position == "line 4, resourceSpans[0].scopeSpans[0].spans[1]"


def test_vercel_js_readable_spans(shared_traces):
    decoded = decode_file(shared_traces / "other" / "vercel_ai_sdk_v6_readable_spans.json")
    assert decoded.format == "otel_js_spans"
    spans = decoded.spans.to_pylist()
    assert [s["kind"] for s in spans] == ["llm", "chain"] * 4 + ["embedding", "chain"]
    assert {s["convention"] for s in spans} == {"vercel_ai"}
    assert {s["provider"] for s in spans} == {"openai"}  # openai.responses / openai.embedding
    generate = spans[0]
    assert (generate["model"], generate["request_model"]) == (
        "gpt-4o-mini-2024-07-18",
        "gpt-4o-mini",
    )
    assert (generate["input_tokens"], generate["output_tokens"]) == (14, 20)
    assert generate["agent_name"] == "test-generate-text"
    assert generate["start_time"] == datetime(2026, 2, 3, 15, 19, 52, 242000, tzinfo=UTC)
    assert generate["duration_ms"] == pytest.approx(1779.415667)
    stream = spans[6]
    assert (stream["input_tokens"], stream["output_tokens"]) == (15, 112)
    assert (stream["reasoning_tokens"], stream["cache_read_tokens"]) == (0, 0)
    embed = spans[8]
    assert (embed["model"], embed["input_tokens"], embed["output_tokens"]) == (
        "text-embedding-3-small", 10, None,
    )  # fmt: skip


@pytest.mark.parametrize("filename", [*SDK_AGENT_FILES, "otlp_proto_examples_trace.json"])
def test_gzip_of_any_envelope(shared_traces, tmp_path, filename):
    original = shared_traces / "otlp" / filename
    packed = tmp_path / (filename + ".gz")
    packed.write_bytes(gzip.compress(original.read_bytes()))
    assert rows(packed, filename) == rows(original)


def test_pre_2022_instrumentation_library_spans_json(shared_traces, tmp_path):
    document = json.loads((shared_traces / "otlp" / "otlp_proto_examples_trace.json").read_text())
    resource = document["resourceSpans"][0]
    scope = resource.pop("scopeSpans")[0]
    scope["instrumentationLibrary"] = scope.pop("scope")
    resource["instrumentationLibrarySpans"] = [scope]
    old = tmp_path / "old.json"
    old.write_text(json.dumps(document))
    assert rows(old) == rows(shared_traces / "otlp" / "otlp_proto_examples_trace.json")


def test_pre_2022_instrumentation_library_spans_protobuf(shared_traces, tmp_path):
    request = ExportTraceServiceRequest.FromString(
        (shared_traces / "otlp" / "sdk_agent.binpb").read_bytes()
    )
    scope_bytes = request.resource_spans[0].scope_spans[0].SerializeToString()
    del request.resource_spans[0].scope_spans[:]
    resource_bytes = request.resource_spans[0].SerializeToString()
    legacy_field = bytes([0xC2, 0x3E]) + _varint(len(scope_bytes)) + scope_bytes  # field 1000
    inner = resource_bytes + legacy_field
    old = tmp_path / "old.binpb"
    old.write_bytes(bytes([0x0A]) + _varint(len(inner)) + inner)
    assert rows(old) == rows(shared_traces / "otlp" / "sdk_agent.binpb")


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def test_json_format_with_proto_field_names(shared_traces, tmp_path):
    request = ExportTraceServiceRequest.FromString(
        (shared_traces / "otlp" / "sdk_agent.binpb").read_bytes()
    )
    snake = tmp_path / "snake.json"
    snake.write_text(MessageToJson(request, preserving_proto_field_name=True))
    assert '"resource_spans"' in snake.read_text() and '"string_value"' in snake.read_text()
    assert rows(snake) == rows(shared_traces / "otlp" / "sdk_agent.binpb")


def test_pretty_printed_console_exporter_objects(shared_traces, tmp_path):
    lines = (shared_traces / "otlp" / "sdk_agent_console_exporter.jsonl").read_text().splitlines()
    pretty = tmp_path / "console.txt"
    pretty.write_text("\n".join(json.dumps(json.loads(line), indent=4) for line in lines) + "\n")
    assert rows(pretty) == rows(shared_traces / "otlp" / "sdk_agent_console_exporter.jsonl")


def test_binary_sniffing_never_claims_text(shared_traces, tmp_path):
    text_files = [p for p in shared_traces.rglob("*") if p.is_file() and p.suffix != ".binpb"]
    assert len(text_files) >= 15
    for path in text_files:
        assert sniff_binary(Source.open(path).head()) is None, path
    newline_first = tmp_path / "newline.json"
    newline_first.write_text(
        "\n\n\n" + (shared_traces / "otlp" / "sdk_agent_otlp.jsonl").read_text()
    )
    assert sniff_binary(newline_first.read_bytes()) is None
    assert detect(Source.open(newline_first)).name == "otlp_json"


def test_only_otlp_files_are_claimed_by_the_otlp_adapters(shared_traces):
    for path in sorted(p for p in shared_traces.rglob("*") if p.is_file() and p.suffix != ".md"):
        name = detect_name(path)
        is_otel = path.parent.name == "otlp" or "readable_spans" in path.name
        assert name.startswith("otlp_") == is_otel, (path, name)


def detect_name(path) -> str:
    try:
        return detect(Source.open(path)).name
    except Exception as exc:  # noqa: BLE001 - an unclaimed file is fine here
        return type(exc).__name__


def _counts(con) -> tuple:
    with con.cursor() as cur:
        return (
            cur.execute("SELECT count(*) FROM spans").fetchone()[0],
            cur.execute("SELECT count(*) FROM uploads").fetchone()[0],
            cur.execute("SELECT count(*) FROM trajectories").fetchone()[0],
        )


def test_ingest_into_store_builds_the_trajectory(shared_traces, con):
    report = ingest_path(con, shared_traces / "otlp" / "sdk_agent_otlp.jsonl")
    assert report.ok and (report.format, report.spans, report.trajectories) == ("otlp_json", 4, 1)
    with con.cursor() as cur:
        row = cur.execute(
            "SELECT session_id, agent_name, llm_calls, tool_calls, tool_errors, input_tokens, "
            "output_tokens, cache_read_tokens, models FROM trajectories WHERE trace_id = ?",
            [TRACE],
        ).fetchone()
    assert row == (CONVERSATION, "weather_agent", 2, 1, 1, 2460, 65, 1024, ["gpt-4o-2024-08-06"])


def _bad_inputs(shared_traces, tmp_path) -> dict:
    msgtojson = (shared_traces / "otlp" / "sdk_agent_msgtojson.json").read_bytes()
    framed = (shared_traces / "otlp" / "sdk_agent_collector.lenprefix.binpb").read_bytes()
    wrong_prefix = (len(framed) + 1000).to_bytes(4, "big") + framed[4:]
    short_prefix = (100).to_bytes(4, "big") + framed[4:]
    files = {
        "truncated.json": msgtojson[: len(msgtojson) // 2],
        "wrong_prefix.binpb": wrong_prefix,
        "short_prefix.binpb": short_prefix,
        "random.bin": random.Random(3).randbytes(4096),
        "not_otlp.json": b'{"hello": "world", "items": [1, 2, 3]}\n',
        "not_a_list.json": b'{"resourceSpans": {"spans": []}}\n',
        "empty.json": b"",
        "cut_line.jsonl": b'{"resourceSpans": []}\n{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "ch',
    }
    paths = {}
    for name, data in files.items():
        paths[name] = tmp_path / name
        paths[name].write_bytes(data)
    return paths


BAD_INPUT_ERRORS = {
    "truncated.json": ("invalid JSON: Expecting value; the text ends before the JSON does (is the file cut short?)", "line 165 column 27 (byte offset 5128)"),
    "wrong_prefix.binpb": ("length prefix says 3,185 bytes but only 2,181 follow", "message 1 at byte offset 0"),
    "short_prefix.binpb": ("not a valid ExportTraceServiceRequest", "message 1 at byte offset 0"),
    "random.bin": ("not a recognised trace format: binary content, starting with bytes fd 3f eb 3c 92 50 b7 97; expected OpenTelemetry", "byte 0"),
    "not_otlp.json": ("not a recognised trace format: the file starts with '{\"hello\": \"world\", \"items\": [1, 2, 3]}\\n'; expected", "byte 0"),
    "empty.json": ("not a recognised trace format: the file is empty; expected", "byte 0"),
    "cut_line.jsonl": ("invalid JSON: Unterminated string; the text ends before the JSON does (is the file cut short?); expected one complete JSON object per line", "line 2 column 56"),
    "not_a_list.json": ("expected 'resourceSpans' to be a list", "line 1"),
}  # fmt: skip


def test_bad_input_names_file_and_position_and_leaves_store_unchanged(shared_traces, tmp_path, con):
    assert ingest_path(con, shared_traces / "otlp" / "sdk_agent.binpb").ok
    before = _counts(con)
    for name, path in _bad_inputs(shared_traces, tmp_path).items():
        report = ingest_path(con, path)
        assert not report.ok, name
        message, position = BAD_INPUT_ERRORS[name]
        assert report.error.startswith(f"{name}, {position}: "), report.error
        assert message in report.error, report.error
        assert _counts(con) == before, name


def _any(value):
    if isinstance(value, dict):
        return {"kvlistValue": {"values": [{"key": k, "value": _any(v)} for k, v in value.items()]}}
    if isinstance(value, list):
        return {"arrayValue": {"values": [_any(v) for v in value]}}
    if isinstance(value, int):
        return {"intValue": value}  # a number, not the spec's string
    return {"stringValue": value}


def test_structured_attributes_and_numeric_int64(tmp_path):
    messages = [{"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]}]
    calls = [{"role": "assistant", "parts": [{"type": "tool_call", "id": "c1", "name": "get_weather", "arguments": {"city": "Paris", "days": 2}}]}]  # fmt: skip
    chat = {"gen_ai.operation.name": "chat", "gen_ai.input.messages": messages,
            "gen_ai.output.messages": calls, "gen_ai.usage.input_tokens": 12}  # fmt: skip
    tool = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.call.id": "c1",
            "gen_ai.tool.call.result": {"temp_c": 11}}  # fmt: skip
    spans = [
        {"traceId": "AB" * 16, "spanId": "CD" * 8, "name": "chat m", "kind": 3,
         "startTimeUnixNano": 1_700_000_000_000_000_000, "endTimeUnixNano": 1_700_000_001_000_000_000,
         "attributes": [{"key": k, "value": _any(v)} for k, v in chat.items()]},
        {"traceId": "AB" * 16, "spanId": "EF" * 8, "name": "execute_tool get_weather",
         "startTimeUnixNano": "1700000001000000000", "endTimeUnixNano": "1700000002000000000",
         "attributes": [{"key": k, "value": _any(v)} for k, v in tool.items()]},
    ]  # fmt: skip
    path = tmp_path / "structured.json"
    path.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}, indent=2))
    llm, tool_row = rows(path)
    assert (llm["trace_id"], llm["span_id"], llm["input_tokens"]) == ("ab" * 16, "cd" * 8, 12)
    assert json.loads(llm["input"]) == messages and json.loads(llm["output"]) == calls
    assert llm["duration_ms"] == 1000.0 and tool_row["duration_ms"] == 1000.0
    assert tool_row["tool_args"] == '{"city":"Paris","days":2}'  # from the chat's tool call
    assert tool_row["output"] == '{"temp_c":11}'
    assert json.loads(tool_row["attributes"])["gen_ai.tool.call.result"] == {"temp_c": 11}


def test_integers_past_64_bits_stay_exact_and_ids_with_digit_runs_take_the_fast_parser(tmp_path):
    big = 123456789012345678901234567890
    span = {
        "traceId": "0695919160736583022547e3b0f00000", "spanId": "12345678901234567890abcd"[:16],
        "name": "chat m", "startTimeUnixNano": "1700000000000000000",
        "attributes": [{"key": "big", "value": {"intValue": big}},
                       {"key": "note", "value": {"stringValue": "digits 12345678901234567890"}}],
    }  # fmt: skip
    path = tmp_path / "big.jsonl"
    path.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}) + "\n")
    (row,) = rows(path)
    assert json.loads(row["attributes"])["big"] == big  # not the float orjson would make

    assert may_hold_long_integer(b'{"a": -123456789012345678901}')
    assert may_hold_long_integer(b"[1,123456789012345678901]")
    assert may_hold_long_integer(b"12345678901234567890")
    assert may_hold_long_integer(b'{"a": -9223372036854775809}')  # below int64: 19 digits
    assert may_hold_long_integer(b'{"note": "digits 12345678901234567890"}')  # a false alarm
    assert not may_hold_long_integer(b'{"traceId": "0695919160736583022547e3b0f00000"}')
    assert not may_hold_long_integer(b'{"a": 1234567890123456789}')  # 19 digits fit in 64 bits


def test_protobuf_attribute_values_keep_empty_text_apart_from_unset_and_zero():
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    from ingest.otlp.protobuf import pb_kv

    items = [
        KeyValue(key="empty", value=AnyValue(string_value="")), KeyValue(key="unset"),
        KeyValue(key="zero", value=AnyValue(int_value=0)),
        KeyValue(key="no", value=AnyValue(bool_value=False)),
        KeyValue(key="text", value=AnyValue(string_value="x")),
        KeyValue(key="nothing", value=AnyValue(double_value=0.0)),
    ]  # fmt: skip
    assert pb_kv(items) == {
        "empty": "", "unset": None, "zero": 0, "no": False, "text": "x", "nothing": 0.0,
    }  # fmt: skip
    assert [type(v) for v in pb_kv(items).values()] == [str, type(None), int, bool, str, float]
