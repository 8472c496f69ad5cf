"""POST /api/ingest and the CLI falling back to it while the server holds the DuckDB file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import duckdb

from tests.conftest import ROOT
from tests.live_server import running_server
from tests.test_cli import run_cli

SPAN = {
    "trace_id": "t1",
    "span_id": "s1",
    "name": "chat",
    "kind": "llm",
    "start_time": "2026-01-01T00:00:00Z",
    "end_time": "2026-01-01T00:00:01Z",
}


def post(url: str, body: bytes, token: str | None = None) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_cli_sends_files_to_the_server_that_holds_the_db(tmp_path):
    db_file = tmp_path / "held.duckdb"
    first = tmp_path / "first.jsonl"
    first.write_text(json.dumps(SPAN) + "\n")
    second = tmp_path / "second.jsonl"
    second.write_text(json.dumps(SPAN | {"trace_id": "t2"}) + "\n")
    with running_server(db_file):
        result = subprocess.run(
            [sys.executable, "-m", "ingest", str(first), str(second), "--db", str(db_file)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 0, result.stderr
    assert "is held by the server at http://127.0.0.1:" in result.stderr
    assert "first.jsonl: span_jsonl, 1 span, 1 trajectory, 0 skipped" in result.stdout
    with duckdb.connect(str(db_file), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM trajectories").fetchone()[0] == 2
    assert not (tmp_path / "held.duckdb.server.json").exists()


def test_if_empty_asks_the_server_that_holds_the_db(tmp_path):
    """`make run` after a pull, with the old server still up: the samples must not be sent
    into a store that already holds traces."""
    db_file = tmp_path / "held.duckdb"
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_text(json.dumps(SPAN) + "\n")
    second.write_text(json.dumps(SPAN | {"trace_id": "t2"}) + "\n")
    with running_server(db_file):
        loaded = run_cli("--if-empty", str(first), "--db", str(db_file))
        kept = run_cli("--if-empty", str(second), "--db", str(db_file))
    assert "first.jsonl: span_jsonl, 1 span" in loaded.stdout, loaded.stderr
    assert (kept.returncode, kept.stdout) == (
        0,
        f"{db_file} already holds traces; not loading 1 file(s)\n",
    )
    with duckdb.connect(str(db_file), read_only=True) as con:
        assert con.execute("SELECT trace_id FROM spans").fetchall() == [("t1",)]


def test_a_note_left_by_a_killed_server_is_not_followed(tmp_path):
    """The note of a server killed with -9 stays; the lock may since be another process's."""
    db_file = tmp_path / "held.duckdb"
    duckdb.connect(str(db_file)).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(db_file)!r}); "
         "print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline() == "held\n"
        ended = subprocess.Popen([sys.executable, "-c", "pass"])
        ended.wait()  # its pid is free again: the server that wrote the note is gone
        note = {"url": "http://127.0.0.1:9", "pid": ended.pid}
        (tmp_path / "held.duckdb.server.json").write_text(json.dumps(note))
        spans = tmp_path / "s.jsonl"
        spans.write_text(json.dumps(SPAN) + "\n")
        result = run_cli(str(spans), "--db", str(db_file))
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: cannot open the store at {db_file}: ")
    assert "Conflicting lock" in result.stderr and "sending the files" not in result.stderr


def test_bearer_token_is_required_when_configured(tmp_path):
    body = (json.dumps(SPAN) + "\n").encode()
    env = {"AGENTTIME_INGEST_TOKEN": "s3cret"}
    with running_server(tmp_path / "token.duckdb", extra_env=env) as base:
        url = f"{base}/api/ingest?filename=a.jsonl"
        assert post(url, body)[0] == 401
        assert post(url, body, token="wrong")[0] == 401
        status, report = post(url, body, token="s3cret")
    assert status == 200
    assert (report["ok"], report["file"], report["spans"]) == (True, "a.jsonl", 1)


def test_the_cli_reports_a_request_the_server_refused(tmp_path):
    """401 and 413 answers carry no report, only `{"error": ...}`: the CLI says so, exit 1."""
    db_file, span_file = tmp_path / "held.duckdb", tmp_path / "run.jsonl"
    span_file.write_text(json.dumps(SPAN) + "\n")
    env = {"AGENTTIME_INGEST_TOKEN": "s3cret", "AGENTTIME_INGEST_MAX_BYTES": "100"}
    command = [sys.executable, "-m", "ingest", str(span_file), "--db", str(db_file)]
    with running_server(db_file, extra_env=env):
        no_token = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
        too_big = subprocess.run(
            [*command, "--json"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            env=os.environ | {"AGENTTIME_INGEST_TOKEN": "s3cret"},
        )
    assert no_token.returncode == 1
    assert no_token.stderr.splitlines()[-1] == (
        f"FAILED {span_file}: the server refused it (401): missing or wrong bearer token"
    )
    assert too_big.returncode == 1
    assert json.loads(too_big.stdout) == {
        "file": str(span_file),
        "ok": False,
        "error": f"{span_file}: the server refused it (413): run.jsonl: body over 100 bytes "
        "(set AGENTTIME_INGEST_MAX_BYTES to raise it)",
    }
    # a client shows only the status; the server's log says why, as for OTLP exports
    log = next(tmp_path.glob("server-*.log")).read_text()
    refused = [
        line.split("agenttime.ingest: ", 1)[1] for line in log.splitlines() if "refused" in line
    ]
    assert refused == [
        "POST /api/ingest from 127.0.0.1 refused: 401 missing or wrong bearer token",
        "POST /api/ingest from 127.0.0.1 refused: 413 run.jsonl: body over 100 bytes "
        "(set AGENTTIME_INGEST_MAX_BYTES to raise it)",
    ]


def test_bad_file_gets_422_with_the_reason(live_server):
    status, report = post(f"{live_server}/api/ingest?filename=../x.jsonl", b"\x00\x01garbage")
    assert status == 422
    assert report["ok"] is False
    assert report["error"].startswith("x.jsonl, byte 0: not a recognised trace format")


def test_uploads_a_killed_server_left_spooled_are_removed_at_the_next_start(tmp_path):
    """An upload is spooled beside the store until ingested; a server killed mid-upload
    (SIGKILL, out of memory) leaves it there. The next server to hold the store removes it."""
    db_file = tmp_path / "spooled.duckdb"
    uploads = tmp_path / "spooled.duckdb.uploads"
    uploads.mkdir()
    (uploads / "tmpa1b2c3.part").write_bytes(b'{"trace_id": "t9"')
    (uploads / "tmpd4e5f6.otlp").write_bytes(b"\x0a\x02")
    beside = tmp_path / "other.duckdb.uploads"  # another store's, maybe being ingested now
    beside.mkdir()
    (beside / "tmpz9y8x7.part").write_bytes(b'{"trace_id": "t8"')
    with running_server(db_file) as base:
        assert sorted(p.name for p in uploads.iterdir()) == []
        assert [p.name for p in beside.iterdir()] == ["tmpz9y8x7.part"]
        status, report = post(f"{base}/api/ingest?filename=ok.jsonl", json.dumps(SPAN).encode())
        assert (status, report["spans"]) == (200, 1)
        assert list(uploads.iterdir()) == []
