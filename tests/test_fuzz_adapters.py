"""Fuzzing every adapter: hostile input either ingests whole or is refused with an IngestError.

Two sources of input. Mutations of every real file in ../shared/traces (truncation at a
random offset, flipped bytes, invalid UTF-8, deep nesting, huge strings, wrong types and
missing fields at a random place in the JSON tree, gzip wrapping), and records generated
from scratch in the shape each adapter expects with every field given a random type.
Each input goes through `ingest_path` into a real DuckDB file that keeps growing across
examples, so the check is the user's: an error names the file, never another exception
escapes, and a refused file leaves every count of the store exactly as it was.

`make test` runs a few examples per file; `make fuzz` sets AGENTTIME_FUZZ_EXAMPLES higher.
"""

from __future__ import annotations

import functools
import gzip
import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.pipeline import IngestReport, ingest_path
from ingest.canonical import to_table
from tests.conftest import SHARED_TRACES

EXAMPLES = int(os.environ.get("AGENTTIME_FUZZ_EXAMPLES") or 10)
BIG_FILE_BYTES = 1_000_000
MARKER = "\u2063agenttime-fuzz-marker\u2063"
STORE_REFUSED = "the store refused the write"

REAL_FILES = (
    sorted(p for p in SHARED_TRACES.rglob("*") if p.is_file() and p.suffix != ".md")
    if SHARED_TRACES.is_dir()
    else []
)
needs_real_files = pytest.mark.skipif(
    not REAL_FILES, reason=f"real trace files not present at {SHARED_TRACES}"
)


def fuzz_settings(examples: int = EXAMPLES):
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# --- what every example must satisfy -------------------------------------------------------

COUNTS_SQL = """
SELECT (SELECT count(*) FROM spans), (SELECT count(*) FROM uploads),
       (SELECT count(*) FROM trajectories), (SELECT coalesce(sum(span_count), 0) FROM uploads),
       (SELECT count(DISTINCT trace_id) FROM spans)
"""


def store_counts(con) -> tuple[int, ...]:
    with con.cursor() as cur:
        return cur.execute(COUNTS_SQL).fetchone()


def ingest_and_check(con, tmp_path: Path, body: bytes, name: str) -> IngestReport:
    """Ingest `body` as file `name`; assert all-or-nothing and a clear refusal."""
    path = tmp_path / "fuzzed.bin"
    path.write_bytes(body)
    before = store_counts(con)
    report = ingest_path(con, path, display_name=name)
    after = store_counts(con)
    if not report.ok:
        assert report.error.startswith((f"{name}: ", f"{name}, ")), report.error
        assert STORE_REFUSED not in report.error, report.error
        assert after == before, f"refused file changed the store: {report.error}"
        return report
    spans, uploads, trajectories, upload_spans, traces = after
    assert spans == upload_spans == before[0] + report.spans
    assert uploads == before[1] + (0 if report.already_ingested else 1)
    assert trajectories == traces, "a stored trace has no trajectory row (or the reverse)"
    return report


# --- mutations of real files ---------------------------------------------------------------

INVALID_UTF8 = (b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xfe\xff", b"\x80\x80")
DEPTHS = (600, 5_000, 100_000)
HUGE = 2_000_000


def deep(depth: int, kind: str) -> bytes:
    if kind == "array":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


def wrong_values() -> st.SearchStrategy[bytes]:
    """A JSON fragment of a type the field may not expect, or one no reader can take."""
    plain = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=12),
        st.sampled_from(["", "0x", "2026-13-45T25:61:00Z", "-1", "9" * 40, "null", "{"]),
        st.lists(st.integers(), max_size=3),
        st.dictionaries(st.text(max_size=4), st.integers(), max_size=3),
    ).map(lambda value: json.dumps(value).encode())
    raw = st.one_of(
        st.builds(deep, st.sampled_from(DEPTHS), st.sampled_from(["array", "object"])),
        st.just(b'"' + b"x" * HUGE + b'"'),
        st.sampled_from(INVALID_UTF8).map(lambda bad: b'"a' + bad + b'b"'),
    )
    return st.one_of(plain, plain, raw)


def parse_json(data: bytes) -> tuple[str, Any] | None:
    """("document", value), ("lines", [values]) or None when the file is not JSON."""
    try:
        return "document", json.loads(data)
    except ValueError:
        pass
    try:
        return "lines", [json.loads(line) for line in data.splitlines() if line.strip()]
    except ValueError:
        return None


@functools.cache
def json_paths(data: bytes) -> tuple[tuple, ...]:
    """The path to every node below the root of the file's JSON (none when it is not JSON)."""
    parsed = parse_json(data)
    if parsed is None:
        return ()
    paths, stack = [], [((), parsed[1])]
    while stack:
        path, node = stack.pop()
        if path:
            paths.append(path)
        if isinstance(node, dict):
            stack.extend((path + (key,), value) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((path + (index,), value) for index, value in enumerate(node))
    return tuple(paths)


def parent_of(root: Any, path: tuple) -> Any:
    """The container holding the node at `path`, or None when earlier edits removed it."""
    node = root
    try:
        for step in path[:-1]:
            node = node[step]
        node[path[-1]]  # noqa: B018 (the node itself must still be there)
    except (KeyError, IndexError, TypeError):
        return None
    return node if isinstance(node, (dict, list)) else None


@st.composite
def structural_mutation(draw, data: bytes) -> bytes | None:
    """Replace (with a value of another type) or delete one to three nodes of the JSON tree,
    each chosen uniformly among all the file's nodes."""
    paths = json_paths(data)
    if not paths:
        return None
    shape, root = parse_json(data)
    fragments = {}
    for number in range(draw(st.integers(1, 3))):
        path = paths[draw(st.integers(0, len(paths) - 1))]
        parent = parent_of(root, path)
        if parent is None:
            continue
        if draw(st.integers(0, 3)) == 0:
            del parent[path[-1]]
        else:
            marker = f"{MARKER}{number}"
            parent[path[-1]] = marker
            fragments[json.dumps(marker).encode()] = draw(wrong_values())
    lines = [root] if shape == "document" else root
    text = b"\n".join(json.dumps(line).encode() for line in lines)
    for marker, fragment in fragments.items():
        text = text.replace(marker, fragment, 1)
    return text


@st.composite
def byte_mutation(draw, data: bytes) -> bytes:
    kind = draw(st.sampled_from(["truncate", "flip", "utf8", "nest", "huge", "cut"]))
    at = draw(st.integers(0, len(data)))
    if kind == "truncate":
        return data[:at]
    if kind == "flip":
        flipped = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            index = draw(st.integers(0, len(flipped) - 1))
            flipped[index] ^= 1 << draw(st.integers(0, 7))
        return bytes(flipped)
    if kind == "utf8":
        return data[:at] + draw(st.sampled_from(INVALID_UTF8)) + data[at:]
    if kind == "nest":
        depth = draw(st.sampled_from(DEPTHS))
        return data[:at] + b"[" * depth + data[at:]
    if kind == "huge":
        return data[:at] + b"x" * HUGE + data[at:]
    return data[:at] + data[at + draw(st.integers(1, 400)) :]


@functools.cache
def file_bytes(path: Path) -> bytes:
    return path.read_bytes()


@st.composite
def mutated(draw, path: Path) -> bytes:
    """A mutation of the file at `path` (passed by name so Hypothesis's reports stay short)."""
    data = file_bytes(path)
    body = None
    if draw(st.booleans()):
        body = draw(structural_mutation(data))
    if body is None:
        body = draw(byte_mutation(data))
    wrap = draw(st.sampled_from(["plain", "plain", "plain", "gzip", "gzip-cut"]))
    if wrap == "plain":
        return body
    packed = gzip.compress(body, compresslevel=1)
    return packed if wrap == "gzip" else packed[: draw(st.integers(2, max(2, len(packed) - 1)))]


def examples_for(path: Path) -> int:
    return max(2, EXAMPLES // 5) if path.stat().st_size > BIG_FILE_BYTES else EXAMPLES


@needs_real_files
@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: p.name)
def test_mutated_real_file_ingests_whole_or_is_refused(con, tmp_path, path):
    @fuzz_settings(examples_for(path))
    @given(body=mutated(path))
    def run(body):
        ingest_and_check(con, tmp_path, body, f"mutated-{path.name}")

    run()


@needs_real_files
@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: p.name)
def test_unmutated_real_file_gives_the_same_answer_twice(con, tmp_path, path):
    """The baseline the mutations start from: each real file ingests or is refused cleanly,
    and ingesting it a second time adds nothing."""
    body = path.read_bytes()
    ingest_and_check(con, tmp_path, body, path.name)
    before = store_counts(con)
    ingest_and_check(con, tmp_path, body, path.name)
    assert store_counts(con) == before


# --- records generated from scratch in each adapter's shape --------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**66), max_value=2**66),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
    st.sampled_from(["2026-01-01T00:00:00Z", "1767225600000", "bad-time", "0x01", ""]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def record(required: dict, optional_keys: list[str]) -> st.SearchStrategy[dict]:
    """A record with the keys the adapter looks for: the required ones always there but of any
    type, the optional ones maybe missing. (Missing required keys come from the mutations.)"""
    return st.fixed_dictionaries(
        {key: st.one_of(st.just(value), json_values) for key, value in required.items()},
        optional={key: json_values for key in optional_keys},
    )


SPAN_LINE = record(
    {"trace_id": "t1", "span_id": "s1", "name": "chat",
     "start_time": "2026-01-01T00:00:00Z", "end_time": "2026-01-01T00:00:01Z"},
    ["kind", "status", "parent_id", "input_tokens", "output_tokens", "cost_usd", "model",
     "attributes", "tool_args", "input", "seq", "score", "session_id"],
)  # fmt: skip
MESSAGE = record(
    {"role": "assistant", "content": "hi"},
    ["tool_calls", "usage", "timestamp", "tool_call_id", "model", "error", "start_time"],
)
TRAJECTORY = st.fixed_dictionaries(
    {"messages": st.lists(st.one_of(MESSAGE, json_values), max_size=4)},
    optional={key: json_values for key in ("id", "task_id", "reward", "model", "agent_name")},
)
RUN = record(
    {"id": "9f3c6a52-5d6b-4f0e-9a4c-1d2e3f4a5b6c", "run_type": "llm", "name": "ChatOpenAI",
     "trace_id": "9f3c6a52-5d6b-4f0e-9a4c-1d2e3f4a5b6c", "start_time": "2026-01-01T00:00:00Z"},
    ["end_time", "parent_run_id", "dotted_order", "inputs", "outputs", "extra", "error",
     "child_runs", "feedback_stats", "reference_example_id", "usage_metadata", "events"],
)  # fmt: skip
OTLP_SPAN = record(
    {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
     "name": "chat gpt-4o", "startTimeUnixNano": "1767225600000000000",
     "endTimeUnixNano": "1767225601000000000"},
    ["parentSpanId", "kind", "attributes", "events", "status", "links"],
)  # fmt: skip
OTLP_ENVELOPE = st.lists(OTLP_SPAN, min_size=1, max_size=3).map(
    lambda spans: {"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": spans}]}]}
)

GENERATED = {
    "span_jsonl": st.lists(SPAN_LINE, min_size=1, max_size=4).map(
        lambda lines: "\n".join(json.dumps(line) for line in lines).encode()
    ),
    "messages": st.lists(TRAJECTORY, min_size=1, max_size=2).map(lambda t: json.dumps(t).encode()),
    "langsmith": st.lists(RUN, min_size=1, max_size=3).map(
        lambda runs: json.dumps({"post": runs}).encode()
    ),
    "otlp_json": OTLP_ENVELOPE.map(lambda envelope: json.dumps(envelope).encode()),
    "bytes": st.binary(max_size=300),
}


def parquet_bytes(kind: str) -> bytes:
    """A small valid Parquet file: canonical spans (as an export holds) or LangSmith runs."""
    if kind == "canonical":
        rows = [
            {"trace_id": "t1", "span_id": f"s{i}", "source": "jsonl", "name": "chat",
             "kind": "llm", "status": "ok", "start_ns": 1_767_225_600_000_000_000 + i,
             "end_ns": 1_767_225_601_000_000_000, "attributes": "{}", "input": "hi " * i}
            for i in range(5)
        ]  # fmt: skip
        table = to_table(rows)
    else:
        table = pa.table(
            {
                "id": [f"00000000-0000-4000-8000-00000000000{i}" for i in range(3)],
                "trace_id": ["00000000-0000-4000-8000-000000000000"] * 3,
                "run_type": ["chain", "llm", "tool"],
                "name": ["agent", "ChatOpenAI", "search"],
                "start_time": pa.array([1_767_225_600_000_000] * 3, pa.timestamp("us", tz="UTC")),
                "inputs": ['{"q": "hi"}'] * 3,
            }
        )
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


@pytest.mark.parametrize("kind", ["canonical", "langsmith"])
def test_mutated_parquet_ingests_whole_or_is_refused(con, tmp_path, kind):
    @fuzz_settings()
    @given(body=byte_mutation(parquet_bytes(kind)))
    def run(body):
        ingest_and_check(con, tmp_path, body, f"mutated-{kind}.parquet")

    run()


@pytest.mark.parametrize("shape", sorted(GENERATED))
def test_generated_records_ingest_whole_or_are_refused(con, tmp_path, shape):
    @fuzz_settings(EXAMPLES * 3)
    @given(body=GENERATED[shape])
    def run(body):
        ingest_and_check(con, tmp_path, body, f"generated-{shape}.json")

    run()


# --- what the fuzzing found, pinned down -------------------------------------------------

SPAN_TEXT = (
    '{"trace_id": "t1", "span_id": "s1", "name": "chat", "kind": "llm", '
    '"start_time": "2026-01-01T00:00:00Z", "end_time": "2026-01-01T00:00:01Z"'
)
OTLP_SPAN_TEXT = (
    '"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", '
    '"name": "chat", "startTimeUnixNano": "1767225600000000000", '
    '"endTimeUnixNano": "1767225601000000000"'
)


def otlp_document(spans: str) -> str:
    return f'{{"resourceSpans": [{{"resource": {{}}, "scopeSpans": [{{"spans": {spans}}}]}}]}}'


FOUND = {  # name: (file content, column to read back and its value, or the refusal's words)
    "lone-surrogate.jsonl": (
        SPAN_TEXT.replace('"chat"', '"chat\\ud800"') + "}",
        ("name", "chat\ufffd"),
    ),
    "year-9999.jsonl": (
        SPAN_TEXT.replace("2026-01-01T00:00:01Z", "9999-01-01T00:00:00Z") + "}",
        "'9999-01-01T00:00:00Z' is outside the years 1677-2262",
    ),
    "huge-count.jsonl": (
        SPAN_TEXT + ', "input_tokens": ' + str(2**70) + "}",
        f"input_tokens {2**70} is not a count: expected a whole number >= 0",
    ),
    "number-as-model.jsonl": (SPAN_TEXT + ', "model": 42}', ("model", "42")),
    "usage-number.json": (
        '[{"id": "m", "messages": [{"role": "assistant", "content": "x", "usage": 5}]}]',
        "message 1: expected 'usage' to be an object, got 5",
    ),
    "surrogate-run.json": (
        '{"post": [{"id": "9f3c6a52-5d6b-4f0e-9a4c-1d2e3f4a5b6c", "run_type": "llm", '
        '"name": "x\\udc00", "start_time": "2026-01-01T00:00:00Z"}]}',
        ("name", "x\ufffd"),
    ),
    "otlp-spans-true.json": (otlp_document("true"), "malformed span (spans True is not a list)"),
    "otlp-event-name-list.json": (
        otlp_document(f'[{{{OTLP_SPAN_TEXT}, "events": [{{"name": ["x"]}}]}}]'),
        "malformed span (event name ['x'] is not a string)",
    ),
    "otlp-key-null.json": (
        otlp_document(
            f'[{{{OTLP_SPAN_TEXT}, "attributes": [{{"key": null, "value": {{"stringValue": "a"}}}}, '
            '{"key": "b", "value": {"stringValue": "c"}}]}]'
        ),
        ("name", "chat"),
    ),
}


@pytest.mark.parametrize("name", sorted(FOUND))
def test_inputs_the_fuzzing_found_are_read_or_refused_as_documented(con, tmp_path, name):
    content, expected = FOUND[name]
    report = ingest_and_check(con, tmp_path, content.encode(), name)
    if isinstance(expected, str):
        assert not report.ok and expected in report.error, report.error
        return
    column, value = expected
    with con.cursor() as cur:
        assert cur.execute(f"SELECT {column} FROM spans").fetchall() == [(value,)]
