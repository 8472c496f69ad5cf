"""Faults: a server killed mid-ingest, a read-only store, a full disk — the store stays whole.

Everything here is real: the server is `streamlit run server.py` killed with SIGKILL while
it commits a large upload; "read-only" is a folder the process may not write to; "full
disk" is the kernel refusing writes past RLIMIT_FSIZE with EFBIG, which reaches DuckDB
exactly as ENOSPC would (a write() that fails part-way), without needing a tiny tmpfs.
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import resource
import signal
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import duckdb
import pytest

from store import db
from tests.conftest import ROOT, SHARED_TRACES
from tests.live_server import running_server

BIG_TRACES, SPANS_PER_TRACE = 2_000, 50
BIG_SPANS = BIG_TRACES * SPANS_PER_TRACE
SMALL = SHARED_TRACES / "otlp" / "sdk_agent_otlp.jsonl"  # 4 spans, one trace (see SOURCES.md)
TAU = SHARED_TRACES / "other" / "tau-bench_gpt-4o-airline.json"


def write_big_file(path: Path) -> Path:
    """BIG_SPANS spans in BIG_TRACES traces: big enough that committing it takes a while."""
    base = 1_767_225_600_000_000_000
    with path.open("w") as out:
        for t in range(BIG_TRACES):
            for s in range(SPANS_PER_TRACE):
                start = base + t * 10**9 + s * 10**7
                span = {
                    "trace_id": f"big-{t:05d}", "span_id": f"s{s:03d}", "name": "chat",
                    "kind": "llm", "start_time": start, "end_time": start + 5 * 10**6,
                    "model": "gpt-4o", "input_tokens": 100 + s, "output_tokens": 10,
                    "input": "x" * 100,
                }  # fmt: skip
                out.write(json.dumps(span) + "\n")
    return path


def counts(db_file: Path) -> dict[str, int]:
    with duckdb.connect(str(db_file)) as con:
        row = con.execute(
            """SELECT (SELECT count(*) FROM spans), (SELECT count(*) FROM uploads),
                      (SELECT count(*) FROM trajectories),
                      (SELECT count(DISTINCT trace_id) FROM spans),
                      (SELECT count(*) FROM spans WHERE trace_id LIKE 'big-%'),
                      (SELECT coalesce(sum(span_count), 0) FROM uploads)"""
        ).fetchone()
    keys = ("spans", "uploads", "trajectories", "traces", "big_spans", "upload_spans")
    return dict(zip(keys, row, strict=True))


def post_file(base: str, path: Path) -> tuple[int, dict]:
    query = urllib.parse.urlencode({"filename": path.name})
    request = urllib.request.Request(
        f"{base}/api/ingest?{query}", data=path.read_bytes(), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def server_pid(db_file: Path) -> int:
    return json.loads(Path(f"{db_file}.server.json").read_text())["pid"]


def store_bytes(db_file: Path) -> int:
    return sum(p.stat().st_size for p in db_file.parent.glob(db_file.name + "*") if p.is_file())


# --- SIGKILL in the middle of an ingest ----------------------------------------------------


def test_server_killed_while_committing_leaves_the_file_whole_or_absent(tmp_path):
    if not SHARED_TRACES.is_dir():
        pytest.skip(f"real trace files not present at {SHARED_TRACES}")
    big = write_big_file(tmp_path / "big.jsonl")
    db_file = tmp_path / "killed.duckdb"
    answer: dict = {}
    with running_server(db_file) as base:
        assert post_file(base, SMALL)[1]["spans"] == 4
        pid, before = server_pid(db_file), store_bytes(db_file)
        client = threading.Thread(target=lambda: answer.update(result=_try_post(base, big)))
        client.start()
        while client.is_alive() and store_bytes(db_file) == before:
            time.sleep(0.002)  # the store grows only once the commit starts writing
        os.kill(pid, signal.SIGKILL)
        client.join()
    assert isinstance(answer["result"], (OSError, http.client.HTTPException)), (
        "the ingest finished before the kill"
    )

    after = counts(db_file)
    assert after["big_spans"] in (0, BIG_SPANS), after
    present = after["big_spans"] == BIG_SPANS
    assert after["spans"] == 4 + after["big_spans"]
    assert after["uploads"] == 1 + present
    assert after["upload_spans"] == after["spans"]
    assert after["trajectories"] == after["traces"] == 1 + (BIG_TRACES if present else 0)

    with running_server(db_file) as base:
        status, report = post_file(base, big)
    assert status == 200, report
    assert report["already_ingested"] == present
    final = counts(db_file)
    assert (final["spans"], final["trajectories"], final["uploads"]) == (
        4 + BIG_SPANS,
        1 + BIG_TRACES,
        2,
    )


def _try_post(base: str, path: Path):
    try:
        return post_file(base, path)
    except (OSError, http.client.HTTPException) as exc:  # the connection dies with the server
        return exc


# --- a store that cannot be written --------------------------------------------------------


def run_cli(args: list[str], preexec=None) -> subprocess.CompletedProcess:
    """`python -m ingest`; as root, without CAP_DAC_OVERRIDE so file modes bind as for users."""
    prefix = ["setpriv", "--bounding-set=-dac_override", "--"] if os.geteuid() == 0 else []
    return subprocess.run(
        [*prefix, sys.executable, "-m", "ingest", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=preexec,
    )


def read_only(folder: Path) -> None:
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)


@pytest.fixture
def writable_again(tmp_path):
    yield
    for path in [tmp_path, *tmp_path.rglob("*")]:
        if path.is_dir():
            path.chmod(0o755)


def test_new_store_in_a_read_only_folder_is_a_clear_error(tmp_path, writable_again):
    folder = tmp_path / "locked"
    folder.mkdir()
    read_only(folder)
    db_file = folder / "store.duckdb"
    result = run_cli([str(SMALL), "--db", str(db_file)])
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: cannot open the store at {db_file}: ")
    assert "Permission denied" in result.stderr
    assert "Traceback" not in result.stderr
    assert not db_file.exists()


def test_existing_store_in_a_read_only_folder_is_a_clear_error(tmp_path, writable_again):
    if not SHARED_TRACES.is_dir():
        pytest.skip(f"real trace files not present at {SHARED_TRACES}")
    folder = tmp_path / "archive"
    folder.mkdir()
    db_file = folder / "store.duckdb"
    assert run_cli([str(SMALL), "--db", str(db_file)]).returncode == 0
    db_file.chmod(0o444)
    read_only(folder)
    result = run_cli([str(TAU), "--db", str(db_file)])
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: cannot open the store at {db_file}: ")
    assert "Traceback" not in result.stderr
    assert counts(db_file)["spans"] == 4


# --- a full disk ---------------------------------------------------------------------------


def file_size_limit(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    return apply


def test_full_disk_during_cli_ingest_fails_cleanly_and_a_retry_lands(tmp_path):
    if not SHARED_TRACES.is_dir():
        pytest.skip(f"real trace files not present at {SHARED_TRACES}")
    db_file = tmp_path / "full.duckdb"
    assert run_cli([str(SMALL), "--db", str(db_file)]).returncode == 0
    result = run_cli([str(TAU), "--db", str(db_file)], preexec=file_size_limit(1 << 20))
    assert result.returncode == 1
    assert result.stderr.startswith(f"FAILED {TAU}: the store refused the write: ")
    assert f'"{db_file}' in result.stderr and "File too large" in result.stderr
    assert "Traceback" not in result.stderr
    assert counts(db_file)["spans"] == 4

    retry = run_cli([str(TAU), "--db", str(db_file)])
    assert retry.returncode == 0, retry.stderr
    assert "3,818 spans, 200 trajectories" in retry.stdout
    assert counts(db_file)["trajectories"] == 201


def test_full_disk_under_a_running_server_then_space_freed(tmp_path):
    """The server keeps answering while its disk is full, and ingests once space is back.

    The body is gzip (about 1 MB on the wire, 35 MB of spans) so the spooled upload fits
    under the limit and the store's own write is what hits the full disk. DuckDB then
    invalidates its database; store/db.connect reopens it, so no restart is needed.
    """
    if not SHARED_TRACES.is_dir():
        pytest.skip(f"real trace files not present at {SHARED_TRACES}")
    body = tmp_path / "big.jsonl.gz"
    body.write_bytes(gzip.compress(write_big_file(tmp_path / "big.jsonl").read_bytes()))
    db_file = tmp_path / "server-full.duckdb"
    with running_server(db_file) as base:
        assert post_file(base, SMALL)[0] == 200
        pid = server_pid(db_file)
        unlimited = resource.prlimit(pid, resource.RLIMIT_FSIZE)
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (4 << 20, unlimited[1]))
        status, report = post_file(base, body)
        assert status == 422, report
        assert report["error"].startswith(f"{body.name}: the store refused the write: ")
        assert "File too large" in report["error"] and str(db_file) in report["error"]
        with urllib.request.urlopen(f"{base}/healthz", timeout=60) as response:
            assert json.loads(response.read())["spans"] == 4
        resource.prlimit(pid, resource.RLIMIT_FSIZE, unlimited)
        status, report = post_file(base, body)
        assert (status, report["spans"], report["trajectories"]) == (200, BIG_SPANS, BIG_TRACES)
    assert counts(db_file)["trajectories"] == 1 + BIG_TRACES


def test_full_disk_while_the_server_spools_an_upload_is_a_clear_error(tmp_path):
    if not SHARED_TRACES.is_dir():
        pytest.skip(f"real trace files not present at {SHARED_TRACES}")
    db_file = tmp_path / "spool-full.duckdb"
    with running_server(db_file) as base:
        pid = server_pid(db_file)
        unlimited = resource.prlimit(pid, resource.RLIMIT_FSIZE)
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (1 << 20, unlimited[1]))
        try:
            status, report = post_file(base, TAU)  # 4 MB: more than the disk has left
        except json.JSONDecodeError:
            status, report = 500, {}
        finally:
            resource.prlimit(pid, resource.RLIMIT_FSIZE, unlimited)
    assert status in (413, 422, 507) and TAU.name in report.get("error", "")
    assert not list(db.upload_dir(db_file).iterdir()), "a failed spool must not stay on disk"
