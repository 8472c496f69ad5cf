"""Limits: too big, too compressed, too deep, too many spans — each refused with a message
that names the file and the limit, the store left as it was, memory bounded.

Sizes and gzip bombs run the real CLI in a subprocess with the documented environment
variables, and that process reports its own peak memory (VmHWM) as it exits, so "memory
bounded" is measured, not assumed.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import duckdb
import pytest

from analysis.pipeline import ingest_path
from ingest.jsonutil import MAX_JSON_DEPTH
from ingest.settings import DEFAULTS, MAX_SPANS_ENV
from store import db
from tests.conftest import ROOT, SHARED_TRACES
from tests.live_server import running_server

SIZE_LIMIT = 1_000
BOMB_LIMIT = 10_000_000
BOMB_BYTES = 600 * 1024**2
PEAK_RSS_CEILING = 450 * 1024**2  # the CLI's own baseline is near 220 MB; the bomb is 600 MB

# Every real file an adapter recognises, all over SIZE_LIMIT bytes (sizes from `ls -l`).
SUPPORTED = [
    "otlp/sdk_agent_collector.lenprefix.binpb",
    "otlp/sdk_agent_console_exporter.jsonl",
    "otlp/sdk_agent_msgtojson.json",
    "otlp/sdk_agent_otlp.jsonl",
    "otlp/sdk_agent.binpb",
    "otlp/otlp_proto_examples_trace.json",
    "otlp/otel_spec_file_exporter_traces.jsonl",
    "other/vercel_ai_sdk_v6_readable_spans.json",
    "other/tau-bench_gpt-4o-airline.json",
    "langsmith/langsmith_runs_post_patch__wrap_openai_reasoning.json",
    "langsmith/langsmith_runs_post_patch__wrap_openai_stream.json",
    "other/langfuse_trace__langgraph-python-2025-08-22.json",
]
SPAN = {
    "trace_id": "t1",
    "span_id": "s1",
    "name": "chat",
    "kind": "llm",
    "start_time": "2026-01-01T00:00:00Z",
    "end_time": "2026-01-01T00:00:01Z",
}


# `python -m ingest`, recording its own peak resident memory (VmHWM) when it exits. The
# kernel's ru_maxrss is no use here: it carries over the forking test process's peak.
PEAK_PROBE = """
import atexit, os, runpy

def record_peak():
    status = open("/proc/self/status").read().splitlines()
    peak_kb = next(line for line in status if line.startswith("VmHWM:")).split()[1]
    open(os.environ["AGENTTIME_TEST_PEAK_FILE"], "w").write(peak_kb)

atexit.register(record_peak)
runpy.run_module("ingest", run_name="__main__", alter_sys=True)
"""


def run_cli(args: list[str], env: dict, tmp_path: Path) -> tuple[int, str, int]:
    """(exit code, stderr, peak resident bytes) of `python -m ingest ARGS`."""
    peak_file = tmp_path / "peak-kb.txt"
    result = subprocess.run(
        [sys.executable, "-c", PEAK_PROBE, *args],
        cwd=ROOT,
        env={**os.environ, **env, "AGENTTIME_TEST_PEAK_FILE": str(peak_file)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=300,
    )
    return result.returncode, result.stderr, int(peak_file.read_text()) * 1024


def stored_spans(db_file: Path) -> int:
    with duckdb.connect(str(db_file)) as con:
        return con.execute("SELECT count(*) FROM spans").fetchone()[0]


# --- size ----------------------------------------------------------------------------------


def test_every_format_refuses_a_file_over_the_size_limit(tmp_path, shared_traces):
    files = [shared_traces / name for name in SUPPORTED]
    db_file = tmp_path / "limits.duckdb"
    code, stderr, _ = run_cli(
        [*map(str, files), "--db", str(db_file)],
        {"AGENTTIME_MAX_INGEST_BYTES": str(SIZE_LIMIT)},
        tmp_path,
    )
    assert code == 1
    failures = [line for line in stderr.splitlines() if line.startswith("FAILED ")]
    assert len(failures) == len(files), stderr
    for path, line in zip(files, failures, strict=True):
        assert line.startswith(f"FAILED {path}"), line
        assert "1,000" in line, line  # the configured limit, as the user wrote it
        size = path.stat().st_size
        if "file is" in line:
            assert f"file is {size:,} bytes; the limit is 1,000" in line
    assert not db_file.exists()  # a new store every file was refused from is not left behind


# --- gzip bombs ----------------------------------------------------------------------------

BOMB_SHAPES = {
    "span_jsonl": (json.dumps(SPAN)[:-1] + ', "input": "', '"}\n'),
    "messages": ('[{"id": "b", "messages": [{"role": "user", "content": "', '"}]}]'),
    "langsmith": (
        '{"post": [{"id": "9f3c6a52-5d6b-4f0e-9a4c-1d2e3f4a5b6c", "run_type": "llm", "inputs": "',
        '"}]}',
    ),
    "otlp_jsonl": (
        '{"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": [{"traceId": '
        '"5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "',
        '"}]}]}]}\n',
    ),
}


def write_bomb(path: Path, head: str, tail: str) -> None:
    """A small gzip file that inflates to BOMB_BYTES: one record whose text never ends."""
    chunk = b"a" * (1 << 20)
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write(head.encode())
        for _ in range(BOMB_BYTES // len(chunk)):
            out.write(chunk)
        out.write(tail.encode())


@pytest.mark.parametrize("shape", sorted(BOMB_SHAPES))
def test_gzip_bomb_is_stopped_at_the_limit_in_bounded_memory(tmp_path, shape):
    bomb = tmp_path / f"{shape}.gz"
    write_bomb(bomb, *BOMB_SHAPES[shape])
    assert bomb.stat().st_size < BOMB_BYTES // 100
    db_file = tmp_path / "bomb.duckdb"
    code, stderr, peak = run_cli(
        [str(bomb), "--db", str(db_file)], {"AGENTTIME_MAX_INGEST_BYTES": str(BOMB_LIMIT)}, tmp_path
    )
    assert code == 1
    assert stderr.startswith(f"FAILED {bomb}"), stderr
    assert "10,000,000 bytes" in stderr, stderr
    assert peak < PEAK_RSS_CEILING, f"peak memory {peak / 1024**2:.0f} MB for a refused bomb"
    assert not db_file.exists()  # the new store it was refused from is not left behind


# --- nesting -------------------------------------------------------------------------------


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


DEEP_FILES = {
    "span.jsonl": lambda v: json.dumps(SPAN)[:-1] + f', "attributes": {v}}}\n',
    "messages.json": lambda v: f'[{{"id": "d", "messages": [{{"role": "user", "content": {v}}}]}}]',
    "langsmith.json": lambda v: (
        '{"post": [{"id": "9f3c6a52-5d6b-4f0e-9a4c-1d2e3f4a5b6c", "run_type": "chain", '
        f'"name": "x", "start_time": "2026-01-01T00:00:00Z", "inputs": {v}}}]}}'
    ),
    "otlp.json": lambda v: (
        '{"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": [{"traceId": '
        '"5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "chat", '
        '"startTimeUnixNano": "1767225600000000000", "endTimeUnixNano": "1767225601000000000", '
        f'"attributes": [{{"key": "deep", "value": {{"stringValue": "x"}}}}], "extra": {v}}}]}}]}}]}}'
    ),
}


@pytest.mark.parametrize("name", sorted(DEEP_FILES))
def test_nesting_deeper_than_python_can_follow_is_a_clear_limit(con, tmp_path, name):
    path = tmp_path / name
    path.write_text(DEEP_FILES[name](nested(100_000)))
    report = ingest_path(con, path)
    assert not report.ok
    assert re.match(rf"{re.escape(name)}, line 1\b.*: .*nest.* deep", report.error), report.error
    with con.cursor() as cur:
        assert cur.execute("SELECT count(*) FROM uploads").fetchone() == (0,)


def test_nesting_position_points_at_the_line_that_goes_too_deep(con, tmp_path):
    path = tmp_path / "deep.jsonl"
    line = json.dumps(SPAN)[:-1] + ', "attributes": ' + nested(100_000) + "}"
    path.write_text(json.dumps(SPAN | {"span_id": "s0"}) + "\n" + line + "\n")
    report = ingest_path(con, path)
    # the span's own "{" is level 1, so the 500th nested '{"a":' is the first past the limit
    column = len(json.dumps(SPAN)[:-1] + ', "attributes": ') + (MAX_JSON_DEPTH - 1) * 5 + 1
    assert report.error == (
        f"deep.jsonl, line 2 column {column}: JSON nests deeper than {MAX_JSON_DEPTH:,} levels; "
        f"expected at most {MAX_JSON_DEPTH:,} levels of arrays and objects"
    )


def test_nesting_within_the_documented_depth_is_kept_whole(con, tmp_path):
    depth = MAX_JSON_DEPTH - 10
    path = tmp_path / "nested.jsonl"
    path.write_text(json.dumps(SPAN)[:-1] + f', "attributes": {nested(depth)}}}\n')
    report = ingest_path(con, path)
    assert report.ok, report.error
    with con.cursor() as cur:
        (attributes,) = cur.execute("SELECT attributes::VARCHAR FROM spans").fetchone()
    assert attributes == nested(depth).replace(" ", "")


# --- spans per trajectory ------------------------------------------------------------------


def spans_file(path: Path, count: int) -> Path:
    path.write_text("".join(json.dumps(SPAN | {"span_id": f"s{i}"}) + "\n" for i in range(count)))
    return path


def test_a_trajectory_over_the_span_cap_is_refused_whole(con, tmp_path, monkeypatch):
    monkeypatch.setenv(MAX_SPANS_ENV, "3")
    report = ingest_path(con, spans_file(tmp_path / "four.jsonl", 4))
    assert report.error == (
        "four.jsonl: trace 't1' has 4 spans; the limit is 3 spans per trajectory "
        f"(set {MAX_SPANS_ENV} to raise it)"
    )
    with con.cursor() as cur:
        assert cur.execute("SELECT count(*) FROM spans").fetchone() == (0,)
    assert ingest_path(con, spans_file(tmp_path / "three.jsonl", 3)).spans == 3


def test_the_span_cap_defaults_to_the_documented_value(monkeypatch):
    from ingest.registry import max_spans_per_trace

    monkeypatch.delenv(MAX_SPANS_ENV, raising=False)
    assert max_spans_per_trace() == DEFAULTS[MAX_SPANS_ENV] == 100_000
    docs = (ROOT / "docs" / "reliability.md").read_text()
    assert f"{MAX_SPANS_ENV}" in docs and "100,000" in docs


def test_span_cap_applies_to_real_files(con, monkeypatch, shared_traces):
    """tau-bench's 200 trajectories each hold more than one span, so a cap of 1 refuses it."""
    monkeypatch.setenv(MAX_SPANS_ENV, "1")
    report = ingest_path(con, SHARED_TRACES / "other" / "tau-bench_gpt-4o-airline.json")
    assert report.error.startswith("tau-bench_gpt-4o-airline.json: trace ")
    assert "the limit is 1 spans per trajectory" in report.error


# --- the HTTP endpoint ---------------------------------------------------------------------


def peak_rss(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def post(url: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_ingest_endpoint_refuses_big_bodies_and_bombs_in_bounded_memory(tmp_path):
    bomb = tmp_path / "bomb.jsonl.gz"
    write_bomb(bomb, *BOMB_SHAPES["span_jsonl"])
    db_file = tmp_path / "endpoint.duckdb"
    env = {"AGENTTIME_INGEST_MAX_BYTES": "5000000", "AGENTTIME_MAX_INGEST_BYTES": str(BOMB_LIMIT)}
    with running_server(db_file, extra_env=env) as base:
        pid = json.loads(Path(f"{db_file}.server.json").read_text())["pid"]
        status, answer = post(f"{base}/api/ingest?filename=big.jsonl", b"x" * 5_000_001)
        assert (status, answer) == (
            413,
            {
                "error": "big.jsonl: body over 5,000,000 bytes "
                "(set AGENTTIME_INGEST_MAX_BYTES to raise it)"
            },
        )
        status, report = post(f"{base}/api/ingest?filename=bomb.jsonl.gz", bomb.read_bytes())
        assert status == 422
        assert report["error"] == (
            "bomb.jsonl.gz: decompresses to more than 10,000,000 bytes "
            "(set AGENTTIME_MAX_INGEST_BYTES to raise it)"
        )
        assert peak_rss(pid) < BOMB_BYTES, "the server inflated the bomb"
        assert list(db.upload_dir(db_file).iterdir()) == [], "spooled bodies must be removed"
    assert stored_spans(db_file) == 0


@pytest.mark.parametrize(("setting", "expected"), [(None, "953.6 MiB"), ("2GB", "1.8 GiB")])
def test_the_store_caps_duckdb_working_memory(tmp_path, monkeypatch, setting, expected):
    """DuckDB takes up to its memory_limit for inserts and rollups (1 GB unless
    AGENTTIME_DUCKDB_MEMORY_LIMIT says otherwise); beyond it, work spills to disk."""
    if setting is None:
        monkeypatch.delenv("AGENTTIME_DUCKDB_MEMORY_LIMIT", raising=False)
    else:
        monkeypatch.setenv("AGENTTIME_DUCKDB_MEMORY_LIMIT", setting)
    path = tmp_path / f"limit-{setting}.duckdb"
    try:
        with db.connect(path).cursor() as cur:
            (limit,) = cur.execute("SELECT current_setting('memory_limit')").fetchone()
    finally:
        db.close(path)
    assert limit == expected
