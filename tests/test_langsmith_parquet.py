"""LangSmith bulk-export Parquet: one file, a hive-partitioned folder, a zip of one."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.pipeline import ingest_path
from ingest import langsmith
from ingest.errors import DecodeError, LimitExceeded
from ingest.registry import decode_file
from ingest.source import Source
from tests.test_langsmith import assert_tree, ingest_ok, tree_runs

# -- bulk-export Parquet ------------------------------------------------------------------


def export_table(runs: list[dict], tz: str | None = "UTC") -> pa.Table:
    """Runs in the bulk-export layout: JSON columns as text, times as timestamps, Decimal costs."""
    json_columns = (
        "inputs",
        "outputs",
        "extra",
        "feedback_stats",
        "prompt_token_details",
        "completion_token_details",
    )
    columns = {
        "id": [r["id"] for r in runs],
        "session_id": ["project-1"] * len(runs),
        "trace_id": [r.get("trace_id") for r in runs],
        "parent_run_id": [r.get("parent_run_id") for r in runs],
        "dotted_order": [r["dotted_order"] for r in runs],
        "name": [r["name"] for r in runs],
        "run_type": [r["run_type"] for r in runs],
        "status": [r["status"] for r in runs],
        "reference_example_id": [r.get("reference_example_id") for r in runs],
        "prompt_tokens": pa.array([r.get("prompt_tokens") for r in runs], pa.int64()),
        "completion_tokens": pa.array([r.get("completion_tokens") for r in runs], pa.int64()),
        "total_cost": pa.array(
            [None if r.get("total_cost") is None else Decimal(str(r["total_cost"])) for r in runs],
            pa.decimal128(20, 10),
        ),
    }
    for key in ("start_time", "end_time"):
        times = [datetime.fromisoformat(r[key]).astimezone(UTC) for r in runs]
        columns[key] = pa.array(
            [t.replace(tzinfo=None) if tz is None else t for t in times], pa.timestamp("us", tz=tz)
        )
    for key in json_columns:
        columns[key] = [json.dumps(r[key]) if key in r else None for r in runs]
    return pa.table(columns)


def write_hive_export(tmp_path):
    runs = tree_runs()
    folder = tmp_path / "export" / "runs"
    first_day, second_day = (
        folder / "year=2025/month=03/day=01",
        folder / "year=2025/month=03/day=02",
    )
    first_day.mkdir(parents=True)
    second_day.mkdir(parents=True)
    pq.write_table(export_table(runs[:3]), first_day / "part-0.parquet")
    pq.write_table(export_table(runs[3:], tz=None), second_day / "part-0.parquet")  # naive = UTC
    (folder / "_SUCCESS").write_text("")
    return folder


def test_parquet_single_file(con, tmp_path):
    pq.write_table(export_table(tree_runs()), tmp_path / "runs.parquet", compression="zstd")
    ingest_ok(con, tmp_path / "runs.parquet")
    assert_tree(con)


def test_parquet_hive_folder(con, tmp_path):
    folder = write_hive_export(tmp_path)
    report = ingest_ok(con, folder)
    assert report.warnings == ["ignored 1 files that are not Parquet: _SUCCESS"]
    assert_tree(con)
    assert ingest_path(con, folder).already_ingested  # the folder's content hash dedupes


def test_parquet_zip_of_hive_folder(con, tmp_path):
    folder = write_hive_export(tmp_path)
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for part in sorted(folder.rglob("*")):
            if part.is_file():
                zf.write(part, part.relative_to(folder.parent).as_posix())
    report = ingest_ok(con, archive)
    assert report.warnings == ["ignored 1 files that are not Parquet: runs/_SUCCESS"]
    assert_tree(con)
    with pytest.raises(LimitExceeded, match="zip holds .* bytes of Parquet; the limit is 100"):
        langsmith.decode(Source.open(archive, max_bytes=100))


def test_parquet_folder_names_the_file_missing_columns(tmp_path):
    folder = write_hive_export(tmp_path)
    pq.write_table(
        pa.table({"id": ["x"], "run_type": ["llm"], "start_time": ["2025-03-02"]}),
        folder / "year=2025/month=03/day=02/part-1.parquet",
    )
    with pytest.raises(
        DecodeError,
        match=r"year=2025/month=03/day=02/part-1.parquet, schema: "
        r"missing required column\(s\) trace_id or dotted_order",
    ):
        decode_file(folder)
