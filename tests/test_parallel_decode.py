"""Decoding a file in parts, one process each, gives the single-process table row for row.

Large OTLP files are split at line (JSON) or frame (Collector protobuf) boundaries and decoded
by worker processes (`ingest.otlp.parallel`). Here the split is forced on small real files so
every part boundary falls inside real data: the joined table, the skipped spans and the
first error must be exactly what one process produces.
"""

from __future__ import annotations

import json
import re

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from ingest.errors import DecodeError
from ingest.otlp import parallel
from ingest.otlp.adapter import spans_to_table
from ingest.otlp.envelope import JsonSpanReader
from ingest.otlp.protobuf import ProtobufSpanReader
from ingest.otlp.table import apply_fills
from ingest.registry import Decoded
from ingest.source import Source
from tests.conftest import ROOT

SAMPLE_OTLP = ROOT / "sample_traces" / "support-bot.otlp.jsonl"


def serial_json(path):
    reader = JsonSpanReader(Source.open(path))
    return spans_to_table(reader.spans()), reader.skipped


def test_line_parts_cover_the_file_at_line_ends_with_their_line_numbers(tmp_path):
    path = tmp_path / "lines.jsonl"
    path.write_bytes(b"aaaa\nbb\ncccccc\nd\neeeeeeee\n")
    parts = parallel.line_parts(path, 3)
    assert [(p.start, p.end, p.first_record) for p in parts] == [
        (0, 8, 1),
        (8, 17, 3),
        (17, 26, 5),
    ]


@pytest.mark.parametrize("parts", [2, 3, 7])
def test_json_parts_join_to_the_single_process_table(parts):
    expected, skipped = serial_json(SAMPLE_OTLP)
    source = Source.open(SAMPLE_OTLP)
    table, got_skipped, shapes, _ = parallel.decode_parts(
        source, parallel.line_parts(SAMPLE_OTLP, parts), "json"
    )
    assert table.num_rows == expected.num_rows == 122
    assert table.equals(expected)
    assert (got_skipped, shapes) == (skipped, ["otlp_json"])


def test_skipped_spans_and_errors_keep_their_file_positions(tmp_path, shared_traces):
    lines = SAMPLE_OTLP.read_bytes().splitlines()
    spec = (shared_traces / "otlp" / "otel_spec_file_exporter_traces.jsonl").read_bytes()
    lines[17] = re.sub(rb'"spanId":"[0-9a-f]+"', b'"spanId":""', lines[17], count=1)
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(lines[:5]) + b"\n" + spec + b"\n".join(lines[5:]) + b"\n")
    expected, skipped = serial_json(path)
    table, got_skipped, shapes, _ = parallel.decode_parts(
        Source.open(path), parallel.line_parts(path, 3), "json"
    )
    assert table.equals(expected)
    assert got_skipped == skipped
    # the spec example's id-less spans (lines 6-9) and the span blanked on line 17 + 4 + 1
    assert {s.position.split(",")[0] for s in skipped} == {
        "line 6",
        "line 7",
        "line 8",
        "line 9",
        "line 22",
    }
    assert skipped[-1].position == "line 22, resourceSpans[0].scopeSpans[0].spans[0]"

    broken = tmp_path / "broken.jsonl"
    broken.write_bytes(b"\n".join([*lines[:17], b'{"resourceSpans": [', *lines[17:]]))
    with pytest.raises(DecodeError) as single:
        serial_json(broken)
    with pytest.raises(DecodeError) as split:
        parallel.decode_parts(Source.open(broken), parallel.line_parts(broken, 3), "json")
    assert str(split.value) == str(single.value)
    assert split.value.position == "line 18 column 20"


def test_framed_protobuf_parts_join_to_the_single_process_table(tmp_path, shared_traces):
    one = (shared_traces / "otlp" / "sdk_agent_collector.lenprefix.binpb").read_bytes()
    path = tmp_path / "many.binpb"
    path.write_bytes(one * 5)
    reader = ProtobufSpanReader(Source.open(path), framed=True)
    expected = spans_to_table(reader.spans())
    parts = parallel.frame_parts(path, 3)
    assert [p.first_record for p in parts][0] == 1 and len(parts) == 3
    assert parts[-1].end == len(one) * 5
    table, skipped, _, _ = parallel.decode_parts(Source.open(path), parts, "protobuf")
    assert table.num_rows == expected.num_rows == 20
    assert table.equals(expected) and skipped == reader.skipped == []


def test_a_frame_length_past_the_end_leaves_the_file_to_the_single_reader(tmp_path):
    path = tmp_path / "cut.binpb"
    path.write_bytes((100).to_bytes(4, "big") + b"\x0a" * 20)
    assert parallel.frame_parts(path, 2) is None


def test_fills_run_once_over_the_joined_parts():
    """A tool span in one part takes its arguments from an LLM call in another part."""
    expected, _ = serial_json(SAMPLE_OTLP)
    parts = parallel.line_parts(SAMPLE_OTLP, 7)
    unfilled = [
        JsonSpanReader(Source.open(SAMPLE_OTLP).part(p.start, p.end, p.first_record)) for p in parts
    ]
    tables = []
    for reader in unfilled:
        batches: list = []
        spans_to_table(reader.spans(), emit=batches.append)
        tables.append(pa.concat_tables(batches))
    assert apply_fills(parallel._join(tables)).equals(expected)


def _otlp_line(span_id: str, attributes: dict, name: str) -> bytes:
    attrs = [{"key": k, "value": {"stringValue": v}} for k, v in attributes.items()]
    span = {
        "traceId": "ab" * 16, "spanId": span_id, "name": name, "kind": 3,
        "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000001000000000",
        "attributes": attrs,
    }  # fmt: skip
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}).encode() + b"\n"


def _llm_calling(call_arguments: dict) -> str:
    call = {"type": "tool_call", "id": "call_1", "name": "grep", "arguments": call_arguments}
    return json.dumps([{"role": "assistant", "parts": [call]}])


def test_a_trace_across_parts_is_filled_from_its_first_rows_not_from_one_part(tmp_path):
    """The second worker sees a later LLM call and session id of the trace beside the tool
    span; the fills must still come from the first ones, which only the first part holds."""
    second = _otlp_line(
        "2" * 16,
        {"gen_ai.operation.name": "chat", "gen_ai.request.model": "m",
         "gen_ai.conversation.id": "later-session",
         "gen_ai.output.messages": _llm_calling({"pattern": "later"})},
        "chat m",
    ) + _otlp_line(
        "3" * 16,
        {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "grep",
         "gen_ai.tool.call.id": "call_1"},
        "execute_tool grep",
    )  # fmt: skip
    first_attrs = {
        "gen_ai.operation.name": "chat", "gen_ai.request.model": "m",
        "gen_ai.conversation.id": "first-session",
        "gen_ai.output.messages": _llm_calling({"pattern": "first"}),
    }  # fmt: skip
    first = _otlp_line("1" * 16, first_attrs, "chat m")
    first_attrs["padding"] = "x" * (len(second) - len(first))  # two parts of one line each side
    first = _otlp_line("1" * 16, first_attrs, "chat m")
    path = tmp_path / "across.jsonl"
    path.write_bytes(first + second)
    parts = parallel.line_parts(path, 2)
    assert [p.first_record for p in parts] == [1, 2]

    table, _, _, _ = parallel.decode_parts(Source.open(path), parts, "json")
    expected, _ = serial_json(path)
    assert table.equals(expected)
    tool = table.filter(pc.equal(table.column("kind"), "tool")).to_pylist()[0]
    assert (tool["tool_args"], tool["session_id"]) == ('{"pattern":"first"}', "first-session")


def _resident_kb_of_decoded_parts() -> dict[str, int]:
    """Resident memory of each of this process's mappings of workers' (deleted) part files,
    by address range (an earlier test's decode may still be mapped: only new ones count)."""
    resident: dict[str, int] = {}
    where = None
    for line in open("/proc/self/smaps").read().splitlines():  # noqa: SIM115
        fields = line.split()
        if "-" in fields[0] and ":" not in fields[0]:  # a mapping's header line
            where = fields[0] if "agenttime-decode-" in line else None
        elif where is not None and fields[0] == "Rss:":
            resident[where] = int(fields[1])
    return resident


def test_filled_columns_are_mapped_from_a_file_like_the_parts():
    """Built in memory, a filled column (the output text among them) was a copy held to the
    end of the ingest; written beside the parts and mapped, it is released with them."""
    joined = parallel.decode_parts(
        Source.open(SAMPLE_OTLP), parallel.line_parts(SAMPLE_OTLP, 2), "json"
    )
    assert len(joined.mapped) == 3  # two parts, then the filled columns
    filled = pa.py_buffer(joined.mapped[-1])

    def lives_in_filled(column: str) -> bool:
        buffers = [b for chunk in joined.table.column(column).chunks for b in chunk.buffers() if b]
        return all(filled.address <= b.address < filled.address + filled.size for b in buffers)

    # this sample fills conversation ids and tool results, not tool arguments
    assert [lives_in_filled(c) for c in ("session_id", "output", "tool_args", "input")] == [
        True, True, False, False
    ]  # fmt: skip


def test_released_parts_leave_memory_and_still_read_the_same():
    earlier = set(_resident_kb_of_decoded_parts())
    joined = parallel.decode_parts(
        Source.open(SAMPLE_OTLP), parallel.line_parts(SAMPLE_OTLP, 2), "json"
    )
    decoded = Decoded("otlp_json", joined.table, mapped=joined.mapped)
    before = decoded.spans.to_pylist()  # every page read
    ours = set(_resident_kb_of_decoded_parts()) - earlier
    assert sum(_resident_kb_of_decoded_parts()[where] for where in ours) > 0
    decoded.release_pages()
    assert sum(_resident_kb_of_decoded_parts()[where] for where in ours) == 0
    assert decoded.spans.to_pylist() == before
