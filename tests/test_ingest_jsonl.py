"""Format detection and the two JSONL shapes, including the real tau-bench file."""

from __future__ import annotations

import gzip
import json

import pytest

from analysis.pipeline import ingest_path
from ingest.errors import DecodeError, UnsupportedFormat
from ingest.registry import decode_file, detect
from ingest.source import Source

SPAN_LINES = [
    {
        "trace_id": "t1",
        "span_id": "a",
        "name": "agent",
        "kind": "agent",
        "start_time": "2026-01-01T00:00:00Z",
        "end_time": "2026-01-01T00:00:10Z",
    },
    {
        "trace_id": "t1",
        "span_id": "b",
        "parent_id": "a",
        "name": "chat",
        "kind": "llm",
        "start_time": 1767225601000000000,
        "end_time": 1767225603500000000,
        "model": "gpt-4.1-mini",
        "input_tokens": 1200,
        "output_tokens": 80,
        "cache_read_tokens": 1000,
        "team": "search",
    },
]

MESSAGES = {
    "trajectory_id": "traj-7",
    "model": "gpt-4.1-mini",
    "task_id": "refund-12",
    "reward": 1,
    "messages": [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "Refund order 12", "timestamp": "2026-01-01T00:00:00Z"},
        {
            "role": "assistant",
            "content": None,
            "timestamp": "2026-01-01T00:00:02Z",
            "usage": {
                "prompt_tokens": 300,
                "completion_tokens": 20,
                "prompt_tokens_details": {"cached_tokens": 0},
            },
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "get_order", "arguments": '{"id": 12}'},
                }
            ],
        },
        {
            "role": "tool",
            "tool_call_id": "c1",
            "content": "Error: order service timeout",
            "timestamp": "2026-01-01T00:00:03Z",
        },
        {"role": "assistant", "content": "Done, refunded.", "timestamp": "2026-01-01T00:00:05Z"},
    ],
}


def write_lines(path, records):
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return path


def test_detects_by_content_not_extension(tmp_path):
    spans = write_lines(tmp_path / "spans.txt", SPAN_LINES)
    messages = write_lines(tmp_path / "spans.jsonl", [MESSAGES])
    assert detect(Source.open(spans)).name == "span_jsonl"
    assert detect(Source.open(messages)).name == "messages_jsonl"


def test_gzip_is_read_transparently(tmp_path):
    path = tmp_path / "spans.jsonl.gz"
    path.write_bytes(gzip.compress("\n".join(json.dumps(r) for r in SPAN_LINES).encode()))
    assert decode_file(path).spans.num_rows == 2


def test_a_truncated_gzip_says_where_its_content_broke(tmp_path, shared_traces):
    spans = tmp_path / "spans.jsonl.gz"
    spans.write_bytes(gzip.compress("\n".join(json.dumps(r) for r in SPAN_LINES).encode())[:-12])
    with pytest.raises(DecodeError) as broken:
        decode_file(spans)
    assert str(broken.value).startswith(
        "spans.jsonl.gz, content bytes 0–1,048,576: gzip stream broken ("
    )
    # OTLP JSON lines are streamed: the line it broke in
    lines = (shared_traces / "otlp" / "sdk_agent_otlp.jsonl").read_bytes()
    otlp = tmp_path / "otlp.jsonl.gz"
    otlp.write_bytes(gzip.compress(lines * 200)[:-40])
    with pytest.raises(DecodeError) as broken:
        decode_file(otlp)
    assert broken.value.position == "content bytes 0–4,194,304"  # the first 4 MiB read


def test_a_folder_no_adapter_takes_is_named_as_a_folder(tmp_path):
    folder = tmp_path / "traces"
    folder.mkdir()
    (folder / "notes.txt").write_text("hi")
    with pytest.raises(UnsupportedFormat) as refused:
        decode_file(folder)
    assert str(refused.value) == (
        "traces: a folder (1 file) holding neither an AgentTime export nor LangSmith "
        "bulk-export Parquet; expected a trace file, or one of those folders"
    )


def test_unknown_content_is_refused_with_the_file_name(tmp_path):
    path = tmp_path / "notes.jsonl"
    path.write_text('{"hello": "world"}\n')
    with pytest.raises(
        UnsupportedFormat, match=r"notes.jsonl, byte 0: not a recognised trace format"
    ):
        decode_file(path)


def test_span_jsonl_maps_columns_and_keeps_unknown_keys(tmp_path):
    spans = decode_file(write_lines(tmp_path / "s.jsonl", SPAN_LINES)).spans.to_pylist()
    chat = spans[1]
    assert chat["duration_ms"] == 2500.0
    assert (chat["input_tokens"], chat["output_tokens"], chat["cache_read_tokens"]) == (
        1200,
        80,
        1000,
    )
    assert chat["reasoning_tokens"] is None
    assert json.loads(chat["attributes"]) == {"team": "search"}
    assert spans[0]["duration_ms"] == 10_000.0
    assert (chat["status"], spans[0]["kind"]) == ("unset", "agent")


def test_span_jsonl_missing_required_field_names_the_line(tmp_path):
    lines = [SPAN_LINES[0], {k: v for k, v in SPAN_LINES[1].items() if k != "span_id"}]
    with pytest.raises(DecodeError, match=r"s.jsonl, line 2: missing required field 'span_id'"):
        decode_file(write_lines(tmp_path / "s.jsonl", lines))


@pytest.mark.parametrize(
    ("dropped", "named"),
    [(("end_time",), "'end_time'"), (("start_time", "end_time"), "'start_time' and 'end_time'")],
)
def test_span_jsonl_missing_time_names_the_field(tmp_path, dropped, named):
    lines = [{k: v for k, v in SPAN_LINES[0].items() if k not in dropped}]
    with pytest.raises(DecodeError, match=rf"^s.jsonl, line 1: missing required field {named}$"):
        decode_file(write_lines(tmp_path / "s.jsonl", lines))


def test_spans_that_start_together_keep_the_files_order(con, tmp_path):
    """Without `seq`, the line number orders spans with the same start: the small model's
    call written first is turn 1, so the switch to the large one is an escalation."""
    same_start = {"start_time": "2026-01-01T00:00:01Z", "end_time": "2026-01-01T00:00:02Z"}
    lines = [
        SPAN_LINES[0],
        {"trace_id": "t1", "span_id": "zz-first", "name": "chat", "kind": "llm"}
        | same_start
        | {"model": "gpt-4.1-mini"},
        {"trace_id": "t1", "span_id": "aa-second", "name": "chat", "kind": "llm"}
        | same_start
        | {"model": "gpt-4.1", "seq": 7},
    ]
    path = write_lines(tmp_path / "tie.jsonl", lines)
    assert decode_file(path).spans.column("seq").to_pylist() == [1, 2, 7]
    assert ingest_path(con, path).ok
    with con.cursor() as cur:
        turns = cur.execute("SELECT span_id, model FROM turns ORDER BY turn").fetchall()
        escalated = cur.execute("SELECT escalated FROM trajectories").fetchone()[0]
    assert turns == [("zz-first", "gpt-4.1-mini"), ("aa-second", "gpt-4.1")]
    assert escalated is True


def test_counts_without_their_cache_or_reasoning_part_are_completed_and_reported(tmp_path):
    raw_style = {"input_tokens": 100, "cache_read_tokens": 3000, "cache_write_tokens": 50}
    lines = [
        SPAN_LINES[0],
        SPAN_LINES[1] | raw_style,  # 100 uncached + 3,050 cache
        SPAN_LINES[1] | {"span_id": "c", "output_tokens": 40, "reasoning_tokens": 300},
        SPAN_LINES[1] | {"span_id": "d"},  # inclusive already: 1,200 with 1,000 cached
    ]
    decoded = decode_file(write_lines(tmp_path / "raw.jsonl", lines))
    spans = decoded.spans.to_pylist()
    assert [(s["input_tokens"], s["output_tokens"]) for s in spans[1:]] == [
        (3150, 80),
        (1200, 340),
        (1200, 80),
    ]
    assert decoded.warnings == [
        "input or output tokens below their cache or reasoning part on 2 of 4 spans: read as "
        "counts without those parts (raw-Anthropic style), and the parts added in "
        "(docs/formats.md)"
    ]
    assert decode_file(write_lines(tmp_path / "fine.jsonl", SPAN_LINES)).warnings == []


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("input_tokens", "lots", 'input_tokens "lots" is not a count: expected a whole number >= 0, or null when unknown'),
        ("input_tokens", -500, "input_tokens -500 is not a count: expected a whole number >= 0, or null when unknown"),
        ("output_tokens", 12.5, "output_tokens 12.5 is not a count: expected a whole number >= 0, or null when unknown"),
        ("seq", [1], "seq [1] is not a count: expected a whole number >= 0, or null when unknown"),
        ("cost_usd", -0.01, "cost_usd -0.01 is not valid: expected a number >= 0, or null when unknown"),
        ("score", "high", 'score "high" is not valid: expected a number, or null when unknown'),
    ],
)  # fmt: skip
def test_a_number_that_is_not_one_refuses_the_file_at_its_line(tmp_path, field, value, expected):
    """Read as unknown, "lots" tokens would vanish from every total unnoticed."""
    lines = [SPAN_LINES[0], SPAN_LINES[1] | {field: value}]
    with pytest.raises(DecodeError) as error:
        decode_file(write_lines(tmp_path / "s.jsonl", lines))
    assert str(error.value) == f"s.jsonl, line 2: {expected}"


def test_numbers_written_as_text_or_null_are_read(tmp_path):
    written = {"input_tokens": "1200", "output_tokens": 80.0, "cost_usd": "0.5", "score": None}
    spans = decode_file(write_lines(tmp_path / "s.jsonl", [SPAN_LINES[1] | written])).spans
    row = spans.to_pylist()[0]
    assert (row["input_tokens"], row["output_tokens"], row["cost_usd"], row["score"]) == (
        1200,
        80,
        0.5,
        None,
    )


def test_span_jsonl_bad_time_names_the_line(tmp_path):
    lines = [SPAN_LINES[0] | {"end_time": "yesterday"}]
    with pytest.raises(DecodeError, match=r"line 1: .*expected ISO-8601 text or epoch nanoseconds"):
        decode_file(write_lines(tmp_path / "s.jsonl", lines))


def test_messages_become_llm_and_tool_spans(tmp_path):
    decoded = decode_file(write_lines(tmp_path / "m.jsonl", [MESSAGES]))
    rows = decoded.spans.to_pylist()
    assert [r["kind"] for r in rows] == ["agent", "llm", "tool", "llm"]
    root, first, tool, last = rows
    assert (root["trace_id"], root["task_id"], root["score"]) == ("traj-7", "refund-12", 1.0)
    assert root["input"] == "Refund order 12"
    assert (first["input_tokens"], first["output_tokens"], first["cache_read_tokens"]) == (
        300,
        20,
        0,
    )
    assert first["duration_ms"] == 2000.0  # from the user message to the reply
    assert (tool["tool_name"], tool["tool_call_id"], tool["tool_args"]) == (
        "get_order",
        "c1",
        '{"id":12}',
    )
    assert (tool["status"], tool["output"], tool["duration_ms"]) == (
        "error",
        "Error: order service timeout",
        1000.0,
    )
    assert last["input_tokens"] is None  # not recorded stays NULL


def test_messages_without_times_keep_times_null(tmp_path):
    record = {
        "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    }
    rows = decode_file(write_lines(tmp_path / "m.jsonl", [record])).spans.to_pylist()
    assert [(r["start_time"], r["end_time"], r["duration_ms"]) for r in rows] == [
        (None, None, None)
    ] * 2


def test_orphan_tool_result_is_reported_as_skipped(tmp_path):
    record = {
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "tool", "tool_call_id": "nope", "content": "42"},
        ]
    }
    decoded = decode_file(write_lines(tmp_path / "m.jsonl", [record]))
    assert [(s.position, s.reason) for s in decoded.skipped] == [
        ("line 1, message 2", "tool result for unknown tool_call_id 'nope'")
    ]


def test_the_stored_upload_names_what_was_skipped(con, tmp_path):
    """The upload's own report lists every skipped record; whoever opens the list of uploads
    later finds the first five in its warnings, and how many more."""
    orphan = {"role": "tool", "tool_call_id": "nope", "content": "42"}
    record = {"messages": [{"role": "user", "content": "hi"}] + [orphan] * 7}
    report = ingest_path(con, write_lines(tmp_path / "m.jsonl", [record]))
    assert len(report.skipped) == 7
    with con.cursor() as cur:
        (stored,) = cur.execute("SELECT warnings FROM uploads").fetchone()
    reason = "tool result for unknown tool_call_id 'nope'"
    assert json.loads(stored) == [
        *(f"skipped line 1, message {n}: {reason}" for n in range(2, 7)),
        "and 2 more skipped",
    ]
    assert report.warnings == []  # the report has them all, as its skipped records


def test_tau_bench_real_file(con, shared_traces):
    path = shared_traces / "other" / "tau-bench_gpt-4o-airline.json"
    records = json.loads(path.read_text())
    expected_llm = sum(1 for r in records for m in r["traj"] if m["role"] == "assistant")
    expected_tools = sum(len(m.get("tool_calls") or []) for r in records for m in r["traj"])
    report = ingest_path(con, path)
    assert (report.ok, report.format, report.trajectories) == (True, "messages_jsonl", 200)
    with con.cursor() as cur:
        stats = cur.execute(
            "SELECT count(*), count(DISTINCT task_id), avg(score), sum(llm_calls), sum(tool_calls),"
            " count(wall_ms), count(input_tokens) FROM trajectories"
        ).fetchone()
    assert stats == (200, 50, pytest.approx(0.42), expected_llm, expected_tools, 0, 0)
    again = ingest_path(con, path)
    assert (again.already_ingested, again.spans) == (True, 0)


def test_a_time_that_is_not_one_says_what_a_time_looks_like(tmp_path):
    path = tmp_path / "when.jsonl"
    path.write_text(json.dumps(SPAN_LINES[0] | {"start_time": "yesterday"}) + "\n")
    with pytest.raises(DecodeError) as refused:
        decode_file(path)
    assert "time 'yesterday' is not ISO 8601 (2026-11-28T09:00:00Z) or epoch seconds" in str(
        refused.value
    )
