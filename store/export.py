"""The whole store as plain Parquet, so a team's data never stays locked in one DuckDB file.

Spans are written hive-partitioned by UTC day of their start time (`spans/day=YYYY-MM-DD/`,
`day=unknown` when the source recorded no time) in the canonical column layout, which
ClickHouse, Spark, Trino or DuckDB read as is; uploads, reviews and models go beside them
as one file each, and so do the rollups (trajectories, turns, findings, verdicts). Everything is read in one transaction, so the files are one consistent
snapshot even while ingests continue. The export is built in a sibling folder and renamed
into place at the end: a folder that exists under the target name is complete. The
manifest lists every file with its row count, so a re-import can prove nothing is missing.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

# The export's layout is a contract with ingest/canonical_parquet.py, which re-imports it
# (store never imports ingest; tests/test_export.py checks the two agree).
EXPORT_FORMAT = "agenttime-export"
EXPORT_VERSION = 1
MANIFEST = "manifest.json"
SPANS_DIR = "spans"
SIDE_TABLES = ("uploads", "reviews", "models")
# Derived at ingest, exported for those who analyse elsewhere; a re-import rebuilds them.
ROLLUP_TABLES = ("trajectories", "turns", "findings", "verdicts")
UNKNOWN_DAY = "unknown"

SPANS_COPY_SQL = f"""
COPY (
    -- attributes as plain text: DuckDB's JSON type reaches Parquet as an extension type
    -- that Polars, for one, reads as bytes
    SELECT * REPLACE (attributes::VARCHAR AS attributes),
        coalesce(strftime(timezone('UTC', start_time), '%Y-%m-%d'), '{UNKNOWN_DAY}') AS day
    FROM spans ORDER BY trace_id, span_id
) TO '{{target}}' (FORMAT parquet, PARTITION_BY (day))
"""
SPAN_COLUMNS_SQL = "SELECT * FROM spans LIMIT 0"
TABLE_COPY_SQL = "COPY (SELECT * FROM {table} ORDER BY ALL) TO '{target}' (FORMAT parquet)"
COUNT_SQL = "SELECT count(*) FROM {table}"


class ExportError(Exception):
    """The export could not be written; the message names the folder and the reason."""


class TargetNotEmpty(ExportError):
    """The target folder already holds something: an export never mixes with other files."""


@dataclass
class ExportResult:
    folder: Path
    manifest: dict

    @property
    def span_count(self) -> int:
        return self.manifest["tables"]["spans"]["rows"]


def export_store(con: duckdb.DuckDBPyConnection, folder: str | Path) -> ExportResult:
    """Write the store to `folder` (absent or empty); nothing is left behind on failure."""
    target = Path(folder)
    if (problem := target_taken(target)) is not None:
        raise TargetNotEmpty(problem)
    staging = target.parent / f".{target.name}.partial-{os.getpid()}"
    try:
        (staging / SPANS_DIR).mkdir(parents=True)
        manifest = _write_snapshot(con, staging)
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        staging.replace(target)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, (OSError, duckdb.Error, ExportError)):
            raise ExportError(f"{target}: could not write the export: {exc}") from exc
        raise
    return ExportResult(target, manifest)


def target_taken(target: Path) -> str | None:
    """Why `target` cannot take an export (it exists and is not an empty folder), or None."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        return f"{target}: exists and is not an empty folder; choose a new folder"
    return None


def _write_snapshot(con: duckdb.DuckDBPyConnection, folder: Path) -> dict:
    tables: dict[str, dict] = {}
    with con.cursor() as cur:
        cur.execute("BEGIN TRANSACTION")
        try:
            cur.execute(SPAN_COLUMNS_SQL)
            span_columns = [column[0] for column in cur.description]
            cur.fetchall()
            cur.execute(SPANS_COPY_SQL.format(target=_sql_path(folder / SPANS_DIR)))
            tables["spans"] = _spans_entry(cur, folder)
            for table in (*SIDE_TABLES, *ROLLUP_TABLES):
                name = f"{table}.parquet"
                cur.execute(TABLE_COPY_SQL.format(table=table, target=_sql_path(folder / name)))
                (rows,) = cur.execute(COUNT_SQL.format(table=table)).fetchone()
                tables[table] = {"path": name, "rows": rows}
        finally:
            cur.execute("ROLLBACK")  # a read-only snapshot: nothing to commit
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "span_columns": span_columns,
        "tables": tables,
    }


def _spans_entry(cur: duckdb.DuckDBPyConnection, folder: Path) -> dict:
    (rows,) = cur.execute(COUNT_SQL.format(table="spans")).fetchone()
    files = {
        part.relative_to(folder).as_posix(): pq.ParquetFile(part).metadata.num_rows
        for part in sorted((folder / SPANS_DIR).rglob("*.parquet"))
    }
    if sum(files.values()) != rows:
        raise ExportError(f"the Parquet files hold {sum(files.values()):,} of {rows:,} spans")
    return {
        "path": SPANS_DIR,
        "partitioning": "hive: day=YYYY-MM-DD of start_time in UTC, day=unknown when NULL",
        "rows": rows,
        "files": files,
    }


def _sql_path(path: Path) -> str:
    """A path as a SQL string literal body (COPY targets cannot be bound parameters)."""
    return str(path).replace("'", "''")
