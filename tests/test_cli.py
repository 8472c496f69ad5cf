"""`python -m ingest`: what it prints and its exit codes, run as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import duckdb

from tests.conftest import ROOT

SPAN = {
    "trace_id": "t1",
    "span_id": "s1",
    "name": "chat",
    "kind": "llm",
    "start_time": "2026-01-01T00:00:00Z",
    "end_time": "2026-01-01T00:00:01Z",
}


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ingest", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def span_count(db_file) -> int:
    with duckdb.connect(str(db_file)) as con:
        return con.execute("SELECT count(*) FROM spans").fetchone()[0]


def test_ingests_and_reports_per_file(tmp_path, db_path):
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps(SPAN) + "\n")
    result = run_cli(str(good), "--db", str(db_path))
    assert result.returncode == 0, result.stderr
    assert f"{good}: span_jsonl, 1 span, 1 trajectory, 0 skipped" in result.stdout
    again = run_cli(str(good), "--db", str(db_path))
    assert again.returncode == 0
    assert "already ingested" in again.stdout and "nothing added" in again.stdout
    renamed = tmp_path / "renamed.jsonl"
    renamed.write_bytes(good.read_bytes())
    copy = run_cli(str(renamed), "--db", str(db_path))
    assert copy.stdout.startswith(f"{renamed}: already ingested as {good} (up_")
    assert span_count(db_path) == 1


def test_one_bad_file_exits_1_and_the_others_still_land(tmp_path, db_path):
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps(SPAN) + "\n")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(SPAN | {"span_id": "s2"}) + "\n{not json\n")
    result = run_cli(str(bad), str(good), "--db", str(db_path))
    assert result.returncode == 1
    assert f"FAILED {bad}, line 2 column 2: invalid JSON" in result.stderr
    assert span_count(db_path) == 1


def test_a_new_store_whose_every_file_was_refused_is_not_left_behind(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("meeting notes\n")
    new_store = tmp_path / "fresh" / "store.duckdb"
    result = run_cli(str(bad), "--db", str(new_store))
    assert result.returncode == 1
    assert result.stderr.startswith(f"FAILED {bad}, byte 0: not a recognised trace format")
    assert list(new_store.parent.iterdir()) == []


def test_json_output_is_one_object_per_file(tmp_path, db_path):
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps(SPAN) + "\n")
    result = run_cli(str(good), "--db", str(db_path), "--json")
    report = json.loads(result.stdout)
    assert (report["ok"], report["format"], report["spans"], report["trajectories"]) == (
        True,
        "span_jsonl",
        1,
        1,
    )


def test_usage_errors_exit_2(tmp_path, db_path):
    assert run_cli("--db", str(db_path)).returncode == 2


def test_a_missing_file_fails_alone_and_the_others_still_land(tmp_path, db_path):
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps(SPAN) + "\n")
    missing = tmp_path / "nope.jsonl"
    result = run_cli(str(good), str(missing), "--db", str(db_path))
    assert result.returncode == 1
    assert result.stderr == f"FAILED {missing}: no such file or folder\n"
    assert span_count(db_path) == 1


def test_a_file_whose_every_record_was_skipped_exits_1(shared_traces, db_path):
    """Read, but nothing of it is in the store (the spec's sample: every trace id empty):
    CI must be able to tell."""
    skipped = shared_traces / "otlp" / "otel_spec_file_exporter_traces.jsonl"
    result = run_cli(str(skipped), "--db", str(db_path))
    assert result.returncode == 1, result.stdout
    assert "otlp_json, 0 spans, 0 trajectories, 8 skipped" in result.stdout


def test_files_and_an_export_to_a_taken_folder_change_nothing(tmp_path, db_path):
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps(SPAN) + "\n")
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    result = run_cli(str(good), "--db", str(db_path), "--export", str(taken))
    assert result.returncode == 2
    assert (
        result.stderr == f"error: {taken}: exists and is not an empty folder; choose a new folder\n"
    )
    assert not db_path.exists()  # nothing was ingested first


def test_if_empty_loads_only_into_an_empty_store(tmp_path, db_path):
    first = tmp_path / "first.jsonl"
    first.write_text(json.dumps(SPAN) + "\n")
    second = tmp_path / "second.jsonl"
    second.write_text(json.dumps(SPAN | {"trace_id": "t2"}) + "\n")
    assert run_cli("--if-empty", str(first), "--db", str(db_path)).returncode == 0
    skipped = run_cli("--if-empty", str(second), "--db", str(db_path))
    assert "already holds traces" in skipped.stdout
    assert span_count(db_path) == 1


def test_tau_bench_end_to_end(db_path, shared_traces):
    path = shared_traces / "other" / "tau-bench_gpt-4o-airline.json"
    result = run_cli(str(path), "--db", str(db_path))
    assert result.returncode == 0
    assert "200 trajectories" in result.stdout
    with duckdb.connect(str(db_path)) as con:
        tasks, mean = con.execute(
            "SELECT count(DISTINCT task_id), round(avg(score), 2) FROM trajectories"
        ).fetchone()
    assert (tasks, mean) == (50, 0.42)
    before = span_count(db_path)
    assert "already ingested" in run_cli(str(path), "--db", str(db_path)).stdout
    assert span_count(db_path) == before


def test_the_command_loads_neither_pandas_nor_polars(tmp_path):
    """pyarrow would import pandas (0.2 s) on its first conversion and the rollups' modules
    polars (0.1 s); the command uses neither, so every run is spared both."""
    script = (
        "import runpy, sys\n"
        "sys.argv = ['ingest', 'sample_traces/support-bot.otlp.jsonl', '--db', sys.argv[1]]\n"
        "try:\n"
        "    runpy.run_module('ingest', run_name='__main__')\n"
        "except SystemExit as done:\n"
        "    print(done.code, sorted({m.split('.')[0] for m in sys.modules} & {'pandas', 'polars'}))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "s.duckdb")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.stdout.splitlines()[-1] == "0 []"


def test_delete_upload_removes_its_trajectories_and_says_what(tmp_path, db_path):
    keep, drop = tmp_path / "keep.jsonl", tmp_path / "drop.jsonl"
    keep.write_text(json.dumps(SPAN) + "\n")
    drop.write_text(json.dumps({**SPAN, "trace_id": "t2"}) + "\n")
    assert run_cli(str(keep), str(drop), "--db", str(db_path)).returncode == 0
    with duckdb.connect(str(db_path)) as con:
        (upload_id,) = con.execute(
            "SELECT upload_id FROM uploads WHERE filename LIKE '%drop.jsonl'"
        ).fetchone()
    done = run_cli("--delete-upload", upload_id, "--db", str(db_path))
    assert (done.returncode, done.stdout) == (
        0, f"deleted {drop} ({upload_id}): 1 trajectory, 1 span\n",
    )  # fmt: skip
    with duckdb.connect(str(db_path)) as con:
        assert con.execute("SELECT trace_id FROM spans").fetchall() == [("t1",)]
    again = run_cli("--delete-upload", upload_id, "--db", str(db_path))
    assert (again.returncode, again.stderr) == (1, f"error: no upload {upload_id} in {db_path}\n")
    both = run_cli(str(keep), "--delete-upload", upload_id, "--db", str(db_path))
    assert both.returncode == 2 and "runs alone" in both.stderr
    nowhere = run_cli("--delete-upload", upload_id, "--db", str(tmp_path / "none.duckdb"))
    assert (nowhere.returncode, nowhere.stderr) == (
        2, f"error: no store at {tmp_path / 'none.duckdb'}; nothing to delete\n",
    )  # fmt: skip


def test_delete_upload_beside_a_running_server_points_at_its_upload_page(tmp_path, db_path):
    from tests.live_server import running_server

    path = tmp_path / "run.jsonl"
    path.write_text(json.dumps(SPAN) + "\n")
    assert run_cli(str(path), "--db", str(db_path)).returncode == 0
    with duckdb.connect(str(db_path)) as con:
        (upload_id,) = con.execute("SELECT upload_id FROM uploads").fetchone()
    with running_server(db_path) as base:
        held = run_cli("--delete-upload", upload_id, "--db", str(db_path))
    assert (held.returncode, held.stderr) == (
        1,
        f"error: {db_path} is held by the server at {base}: delete the upload on its Upload "
        "page, or stop the server first\n",
    )
    assert span_count(db_path) == 1
