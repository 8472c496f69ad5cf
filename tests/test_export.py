"""Data safety: `python -m ingest --export DIR` writes the whole store as Parquet that other
engines read, and re-importing it into an empty store gives exactly the same figures.

A damaged export (a file missing, added, cut short or changed) is refused as a whole rather
than re-imported partly, and LangSmith's own Parquet exports are never mistaken for one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.pipeline import ingest_path
from ingest import canonical_parquet
from ingest.registry import adapter_names, detect
from ingest.source import Source
from store import db, export, reviews
from tests.conftest import ROOT, SHARED_TRACES
from tests.live_server import running_server

REAL_FILES = [
    "other/tau-bench_gpt-4o-airline.json",
    "langsmith/langsmith_runs_post_patch__wrap_openai_reasoning.json",
    "langsmith/langsmith_runs_post_patch__wrap_openai_stream.json",
    "otlp/sdk_agent_otlp.jsonl",
    "otlp/otlp_proto_examples_trace.json",
    "other/vercel_ai_sdk_v6_readable_spans.json",
    "other/langfuse_trace__langgraph-python-2025-08-22.json",
]
ROLLUPS = ("trajectories", "turns", "findings", "verdicts")
UPLOAD_COLUMNS = {"upload_id", "upload_ids"}  # a re-import is one new upload, by design


def run_cli(*args: str, file_modes_bind: bool = False) -> subprocess.CompletedProcess:
    """`python -m ingest`; with `file_modes_bind`, root runs without CAP_DAC_OVERRIDE."""
    prefix = ["setpriv", "--bounding-set=-dac_override", "--"]
    prefix = prefix if os.geteuid() == 0 and file_modes_bind else []
    return subprocess.run(
        [*prefix, sys.executable, "-m", "ingest", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def source_store(tmp_path_factory) -> Path:
    """A store holding every real format, plus two reviews, closed so a CLI can open it."""
    if not SHARED_TRACES.is_dir():
        pytest.skip(f"real trace files not present at {SHARED_TRACES}")
    path = tmp_path_factory.mktemp("export-source") / "source.duckdb"
    con = db.connect(path)
    for name in REAL_FILES:
        assert ingest_path(con, SHARED_TRACES / name).ok, name
    with con.cursor() as cur:
        (trace_id,) = cur.execute("SELECT min(trace_id) FROM trajectories").fetchone()
    reviews.add_review(con, reviews.ReviewInput(trace_id, "ana", verdict="good"))
    reviews.add_review(con, reviews.ReviewInput(trace_id, "bo", comment="why 3 retries?"))
    db.close(path)
    return path


@pytest.fixture(scope="module")
def exported(source_store, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("export-out") / "agenttime-export"
    result = run_cli("--export", str(folder), "--db", str(source_store))
    assert result.returncode == 0, result.stderr
    return folder


def table_rows(db_file: Path, table: str, exclude: set[str] = frozenset()) -> list[tuple]:
    with duckdb.connect(str(db_file), read_only=True) as con:
        columns = [row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()]
        keep = ", ".join(f'"{c}"' for c in columns if c not in exclude)
        return con.execute(f"SELECT {keep} FROM {table} ORDER BY ALL").fetchall()


def count(db_file: Path, table: str) -> int:
    with duckdb.connect(str(db_file), read_only=True) as con:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


# --- the export ----------------------------------------------------------------------------


def test_export_writes_every_table_with_a_manifest(source_store, exported):
    manifest = json.loads((exported / "manifest.json").read_text())
    assert (manifest["format"], manifest["version"]) == ("agenttime-export", 1)
    rollups = ("trajectories", "turns", "findings", "verdicts")
    for table in ("spans", "uploads", "reviews", "models", *rollups):
        assert manifest["tables"][table]["rows"] == count(source_store, table), table
    assert manifest["tables"]["reviews"]["rows"] == 2
    assert manifest["tables"]["uploads"]["rows"] == len(REAL_FILES)
    assert min(manifest["tables"][table]["rows"] for table in rollups) > 0
    for table in ("uploads", "reviews", "models", *rollups):
        assert pq.read_table(exported / f"{table}.parquet").num_rows == count(source_store, table)
    assert not [p for p in exported.parent.iterdir() if p.name.startswith(".")], "staging left"


def test_spans_are_partitioned_by_utc_day_with_unknown_for_no_time(source_store, exported):
    with duckdb.connect(str(source_store), read_only=True) as con:
        expected = dict(
            con.execute(
                """SELECT coalesce(strftime(timezone('UTC', start_time), '%Y-%m-%d'), 'unknown'),
                          count(*) FROM spans GROUP BY 1"""
            ).fetchall()
        )
    assert expected["unknown"] == 3818  # tau-bench records no times (SOURCES.md)
    found: dict[str, int] = {}
    for part in (exported / "spans").rglob("*.parquet"):
        day = part.parent.name.removeprefix("day=")
        table = pq.read_table(part, partitioning=None)
        assert "day" not in table.column_names
        starts = table.column("start_time").to_pylist()
        if day == "unknown":
            assert starts == [None] * len(starts)
        else:
            assert {s.strftime("%Y-%m-%d") for s in starts} == {day}
        found[day] = found.get(day, 0) + table.num_rows
    assert found == expected


def test_span_attributes_are_exported_as_text_any_parquet_reader_takes(exported):
    import polars as pl

    spans = pl.read_parquet(exported / "spans" / "**" / "*.parquet", hive_partitioning=False)
    assert spans.schema["attributes"] == pl.String
    assert spans.filter(pl.col("attributes").str.starts_with("{")).height == spans.height


def test_other_engines_read_the_export_with_hive_partitioning(source_store, exported):
    with duckdb.connect() as con:
        days, spans = con.execute(
            "SELECT count(DISTINCT day), count(*) FROM read_parquet(?, hive_partitioning = true)",
            [str(exported / "spans" / "*" / "*.parquet")],
        ).fetchone()
    assert spans == count(source_store, "spans")
    assert days == len(list((exported / "spans").iterdir()))


# --- the re-import -------------------------------------------------------------------------


def test_reimport_into_an_empty_store_gives_the_same_figures(source_store, exported, tmp_path):
    target = tmp_path / "restored.duckdb"
    result = run_cli(str(exported), "--db", str(target))
    assert result.returncode == 0, result.stderr
    spans = count(source_store, "spans")
    assert f"agenttime_export, {spans:,} spans, {count(source_store, 'trajectories')} traj" in (
        result.stdout
    )
    assert table_rows(target, "spans", {"upload_id"}) == table_rows(
        source_store, "spans", {"upload_id"}
    )
    for table in ROLLUPS:
        assert table_rows(target, table, UPLOAD_COLUMNS) == table_rows(
            source_store, table, UPLOAD_COLUMNS
        ), table
    again = run_cli(str(exported), "--db", str(target))
    assert "already ingested" in again.stdout
    assert count(target, "spans") == spans


def test_a_single_partition_file_is_recognised_by_its_columns(exported, con, tmp_path):
    part = next((exported / "spans").glob("day=unknown/*.parquet"))
    copy = shutil.copy(part, tmp_path / "one-day.parquet")
    assert detect(Source.open(copy)).name == "agenttime_export"
    report = ingest_path(con, copy)
    assert (report.ok, report.spans, report.trajectories) == (True, 3818, 200)


def test_langsmith_parquet_is_not_taken_for_an_export(tmp_path):
    runs = pa.table(
        {
            "id": ["00000000-0000-4000-8000-000000000001"],
            "trace_id": ["00000000-0000-4000-8000-000000000001"],
            "run_type": ["llm"],
            "name": ["ChatOpenAI"],
            "start_time": pa.array([1_767_225_600_000_000], pa.timestamp("us", tz="UTC")),
        }
    )
    pq.write_table(runs, tmp_path / "runs.parquet")
    assert adapter_names().index("agenttime_export") < adapter_names().index("langsmith")
    assert detect(Source.open(tmp_path / "runs.parquet")).name == "langsmith"
    folder = tmp_path / "bulk" / "runs" / "year=2026" / "month=01" / "day=01"
    folder.mkdir(parents=True)
    shutil.copy(tmp_path / "runs.parquet", folder / "part-0.parquet")
    assert detect(Source.open(tmp_path / "bulk")).name == "langsmith"


def test_export_layout_constants_agree_with_the_reader():
    assert (export.EXPORT_FORMAT, export.EXPORT_VERSION, export.MANIFEST, export.SPANS_DIR) == (
        canonical_parquet.EXPORT_FORMAT,
        canonical_parquet.EXPORT_VERSION,
        canonical_parquet.MANIFEST,
        canonical_parquet.SPANS_DIR,
    )


# --- damaged exports are refused whole -----------------------------------------------------


def damage_missing(folder: Path) -> str:
    part = sorted((folder / "spans").rglob("*.parquet"))[-1]
    part.unlink()
    return "span file(s) listed in the manifest are missing"


def damage_extra(folder: Path) -> str:
    part = sorted((folder / "spans").rglob("*.parquet"))[0]
    shutil.copy(part, part.parent / "stray.parquet")
    return "is not listed in the manifest"


def damage_truncated(folder: Path) -> str:
    part = sorted((folder / "spans").rglob("*.parquet"))[0]
    part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])
    return "unreadable Parquet"


def damage_rows(folder: Path) -> str:
    manifest = json.loads((folder / "manifest.json").read_text())
    files = manifest["tables"]["spans"]["files"]
    first = sorted(files)[0]
    files[first] += 1
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return "where the manifest lists"


def damage_version(folder: Path) -> str:
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["version"] = 2
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return "export version 2; this AgentTime reads version 1"


def damage_escape(folder: Path) -> str:
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["tables"]["spans"]["files"]["../../outside.parquet"] = 1
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return "missing, first ../../outside.parquet"


DAMAGE = [
    damage_missing,
    damage_extra,
    damage_truncated,
    damage_rows,
    damage_version,
    damage_escape,
]


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda f: f.__name__)
def test_a_damaged_export_is_refused_and_nothing_lands(exported, con, tmp_path, damage):
    folder = Path(shutil.copytree(exported, tmp_path / "copy"))
    expected = damage(folder)
    report = ingest_path(con, folder)
    assert not report.ok
    assert report.error.startswith("copy, "), report.error
    assert expected in report.error, report.error
    with con.cursor() as cur:
        assert cur.execute("SELECT count(*) FROM uploads").fetchone() == (0,)


# --- the CLI's answers ---------------------------------------------------------------------


def test_export_refuses_a_folder_that_is_not_empty(source_store, tmp_path):
    target = tmp_path / "busy"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    result = run_cli("--export", str(target), "--db", str(source_store))
    assert result.returncode == 2
    assert (
        result.stderr
        == f"error: {target}: exists and is not an empty folder; choose a new folder\n"
    )
    assert [p.name for p in target.iterdir()] == ["keep.txt"]


def test_export_of_a_missing_store_is_a_usage_error(tmp_path):
    result = run_cli("--export", str(tmp_path / "out"), "--db", str(tmp_path / "none.duckdb"))
    assert result.returncode == 2
    assert result.stderr == f"error: no store at {tmp_path / 'none.duckdb'}; nothing to export\n"


def test_export_into_an_unwritable_place_leaves_nothing_behind(source_store, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        result = run_cli(
            "--export", str(locked / "out"), "--db", str(source_store), file_modes_bind=True
        )
    finally:
        locked.chmod(0o755)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {locked / 'out'}: could not write the export: ")
    assert "Traceback" not in result.stderr
    assert list(locked.iterdir()) == []


def test_a_read_only_store_can_still_be_exported(source_store, tmp_path):
    archive = tmp_path / "archive"
    archive.mkdir()
    frozen = Path(shutil.copy(source_store, archive / "frozen.duckdb"))
    frozen.chmod(0o444)
    archive.chmod(0o555)
    try:
        result = run_cli(
            "--export", str(tmp_path / "out"), "--db", str(frozen), file_modes_bind=True
        )
    finally:
        archive.chmod(0o755)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"exported {count(source_store, 'spans'):,} spans, ")


def test_export_while_the_server_holds_the_store_says_so(source_store, tmp_path):
    held = Path(shutil.copy(source_store, tmp_path / "held.duckdb"))
    with running_server(held) as base:
        result = run_cli("--export", str(tmp_path / "out"), "--db", str(held))
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: cannot open the store at {held}: ")
    assert f"the server at {base} holds it" in result.stderr
    assert not (tmp_path / "out").exists()
