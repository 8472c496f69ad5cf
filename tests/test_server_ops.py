"""Running the server for a team: behind a proxy's base path, stopped and copied, given a
store it cannot open. The real server, started as `make run` starts it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request

import duckdb
import pytest

from ingest.settings import OTLP_BODY_BYTES_ENV, SettingError, byte_limit
from tests.conftest import ROOT
from tests.live_server import free_port, running_server
from tests.test_cli import SPAN

OTLP_SPAN = {
    "traceId": "11" * 16,
    "spanId": "22" * 8,
    "name": "chat",
    "startTimeUnixNano": "1767225600000000000",
    "endTimeUnixNano": "1767225601000000000",
}


def server_that_stops(env: dict[str, str]) -> subprocess.CompletedProcess:
    """The server started as `make run` starts it, expected to stop by itself at start-up."""
    return subprocess.run(
        [sys.executable, "-m", "streamlit", "run", "server.py", "--server.headless=true",
         f"--server.port={free_port()}", "--server.address=127.0.0.1",
         "--browser.gatherUsageStats=false"],
        cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def get_json(url: str) -> tuple[str, dict]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.headers["content-type"], json.loads(response.read())


def post(url: str, body: bytes, content_type: str) -> int:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status


def test_behind_a_base_path_the_endpoints_answer_under_it_too(tmp_path):
    """Streamlit moves its routes under --server.baseUrlPath; an exporter pointed at
    https://host/agenttime/v1/traces got 405 and lost its spans."""
    export = {"resourceSpans": [{"scopeSpans": [{"spans": [OTLP_SPAN]}]}]}
    with running_server(
        tmp_path / "s.duckdb", extra_args=("--server.baseUrlPath=agenttime",)
    ) as base:
        assert get_json(f"{base}/agenttime/healthz") == (
            "application/json",
            {"status": "ok", "db": str(tmp_path / "s.duckdb"), "spans": 0},
        )
        assert (
            post(f"{base}/agenttime/v1/traces", json.dumps(export).encode(), "application/json")
            == 200
        )
        body = (json.dumps(SPAN) + "\n").encode()
        assert (
            post(f"{base}/agenttime/api/ingest?filename=a.jsonl", body, "application/octet-stream")
            == 200
        )
        assert get_json(f"{base}/healthz")[1]["spans"] == 2  # and still at the root


def test_a_stopped_server_leaves_a_store_whose_file_alone_is_whole(tmp_path):
    """A backup that copies the .duckdb file of a stopped server has every span: the server
    folds its write-ahead log into the file when it stops."""
    db_file = tmp_path / "s.duckdb"
    with running_server(db_file) as base:
        body = (json.dumps(SPAN) + "\n").encode()
        assert post(f"{base}/api/ingest?filename=a.jsonl", body, "application/octet-stream") == 200
    assert not os.path.exists(f"{db_file}.wal") or os.path.getsize(f"{db_file}.wal") == 0
    copy = tmp_path / "backup" / "s.duckdb"
    copy.parent.mkdir()
    shutil.copyfile(db_file, copy)
    with duckdb.connect(str(copy), read_only=True) as con:
        assert con.execute("SELECT trace_id, span_id FROM spans").fetchall() == [("t1", "s1")]


def test_a_store_the_server_cannot_open_is_named_without_a_traceback(tmp_path):
    unusable = "/proc/agenttime-walk/store.duckdb"  # /proc takes no new folder, even as root
    done = server_that_stops({"AGENTTIME_DB": unusable})
    assert done.returncode == 1
    assert f"error: cannot open the store at {unusable}: " in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("AGENTTIME_OTLP_MAX_BYTES", "1KX", "is not a size: expected a number of bytes above 0"),
        (
            "AGENTTIME_MAX_SPANS_PER_TRACE",
            "lots",
            "is not a count: expected a whole number above 0",
        ),
    ],
)
def test_a_limit_the_server_cannot_read_stops_it_at_start_and_names_it(
    tmp_path, name, value, expected
):
    """'1KB' in AGENTTIME_OTLP_MAX_BYTES once let the server start and fail every export."""
    done = server_that_stops({"AGENTTIME_DB": str(tmp_path / "s.duckdb"), name: value})
    assert done.returncode == 1
    assert f"error: {name}={value!r} {expected}" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


@pytest.mark.parametrize(
    ("value", "limit"),
    [("", 64 * 2**20), ("5000000", 5_000_000), ("64MB", 64_000_000), ("64 MiB", 64 * 2**20),
     ("2gb", 2 * 10**9)],
)  # fmt: skip
def test_byte_limits_take_a_count_or_a_unit(monkeypatch, value, limit):
    monkeypatch.setenv(OTLP_BODY_BYTES_ENV, value)
    assert byte_limit(OTLP_BODY_BYTES_ENV) == limit


@pytest.mark.parametrize("value", ["0", "-5", "1.5MB", "lots", "12 parsecs"])
def test_a_byte_limit_that_is_not_one_is_refused(monkeypatch, value):
    monkeypatch.setenv(OTLP_BODY_BYTES_ENV, value)
    with pytest.raises(
        SettingError, match=f"^{OTLP_BODY_BYTES_ENV}='{re.escape(value)}' is not a size"
    ):
        byte_limit(OTLP_BODY_BYTES_ENV)
