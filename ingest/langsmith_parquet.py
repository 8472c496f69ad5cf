"""LangSmith bulk-export Parquet: one file, a hive-partitioned folder, or a zip of such a folder.

A bulk export lands as `…/runs/year=YYYY/month=MM/day=DD/*.parquet`. Each Parquet file is
read on its own rather than as one dataset so that a file missing required columns is named
in the error and every run keeps a position (file, row). The partition keys only repeat the
run's start date, so they are not read. A zip is extracted to a temporary folder: only
Parquet members, within the size limit, and never outside that folder.
"""

from __future__ import annotations

import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

import pyarrow as pa
import pyarrow.parquet as pq

from ingest.errors import DecodeError, LimitExceeded
from ingest.jsonutil import parse_json_text
from ingest.langsmith_runs import RunRecord
from ingest.source import Source, content_files

PARQUET_MAGIC = b"PAR1"
ZIP_MAGIC = b"PK\x03\x04"
REQUIRED_COLUMNS = ("id", "run_type", "start_time")
TREE_COLUMNS = ("trace_id", "dotted_order")
JSON_COLUMNS = (
    "inputs",
    "outputs",
    "extra",
    "events",
    "tags",
    "feedback_stats",
    "serialized",
    "attachments",
    "parent_run_ids",
    "prompt_token_details",
    "completion_token_details",
    "prompt_cost_details",
    "completion_cost_details",
)
EXPECTED = (
    "expected a LangSmith bulk-export runs table with columns "
    f"{', '.join(REQUIRED_COLUMNS)} and {' or '.join(TREE_COLUMNS)}"
)


def claims(head: bytes, source: Source) -> bool:
    """A Parquet file, a folder holding Parquet files, or a zip with .parquet members."""
    if source.is_dir:
        return any(_is_parquet(part) for part in content_files(source.path))
    if head.startswith(PARQUET_MAGIC):
        return True
    return head.startswith(ZIP_MAGIC) and bool(_zip_parquet_members(source.path))


def read_records(source: Source) -> tuple[list[RunRecord], list[str]]:
    """Every run of the export with its position, and warnings about files left out."""
    if source.is_dir:
        return _folder_records(source.path, source, [])
    if source.head(4).startswith(ZIP_MAGIC):
        with _extracted(source) as (folder, ignored):
            return _folder_records(folder, source, ignored)
    return _file_records(source), []


def _file_records(source: Source) -> list[RunRecord]:
    if source.compressed:
        return _table_records(_read(pa.BufferReader(source.read()), "", source), "", source)
    if source.size > source.max_bytes:
        raise LimitExceeded(
            source.display_name,
            f"file is {source.size:,} bytes; the limit is {source.max_bytes:,} "
            "(set AGENTTIME_MAX_INGEST_BYTES to raise it)",
        )
    return _table_records(_read(source.path, "", source), "", source)


def _folder_records(folder: Path, source: Source, ignored: list[str]) -> tuple[list, list[str]]:
    files = content_files(folder)
    parquet = [part for part in files if _is_parquet(part)]
    ignored = ignored + [
        part.relative_to(folder).as_posix() for part in files if part not in parquet
    ]
    total = sum(part.stat().st_size for part in parquet)
    if total > source.max_bytes:
        raise LimitExceeded(
            source.display_name,
            f"Parquet files total {total:,} bytes; the limit is {source.max_bytes:,} "
            "(set AGENTTIME_MAX_INGEST_BYTES to raise it)",
        )
    records: list[RunRecord] = []
    for part in parquet:
        where = part.relative_to(folder).as_posix()
        records.extend(_table_records(_read(part, where, source), f"{where}, ", source))
    warnings = []
    if ignored:
        shown = ", ".join(ignored[:5]) + (
            f" and {len(ignored) - 5} more" if len(ignored) > 5 else ""
        )
        warnings.append(f"ignored {len(ignored)} files that are not Parquet: {shown}")
    return records, warnings


def _read(where_from, where: str, source: Source) -> pa.Table:
    try:
        table = pq.read_table(where_from)
        table.validate(full=True)  # Parquet readers do not check that text is valid UTF-8
        return table
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        raise DecodeError(
            source.display_name, f"unreadable Parquet ({exc}); {EXPECTED}", where or "byte 0"
        ) from exc


def _table_records(table: pa.Table, prefix: str, source: Source) -> list[RunRecord]:
    names = set(table.column_names)
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if not any(c in names for c in TREE_COLUMNS):
        missing.append(" or ".join(TREE_COLUMNS))
    if missing:
        raise DecodeError(
            source.display_name,
            f"missing required column(s) {', '.join(missing)}; {EXPECTED}",
            f"{prefix}schema" if prefix else "schema",
        )
    table = _times_as_ns(table, prefix, source)
    return [
        RunRecord(f"{prefix}row {index}", _run(row))
        for index, row in enumerate(table.to_pylist(), start=1)
    ]


def _run(row: dict) -> dict:
    run = {key: value for key, value in row.items() if value is not None}
    for key in JSON_COLUMNS:
        if key in run:
            run[key] = parse_json_text(run[key])
    return run


def _times_as_ns(table: pa.Table, prefix: str, source: Source) -> pa.Table:
    """Timestamp columns as epoch ns integers; a time without a zone is UTC."""
    for index, field in enumerate(table.schema):
        if not pa.types.is_timestamp(field.type):
            continue
        try:
            as_ns = table.column(index).cast(pa.timestamp("ns", tz=field.type.tz)).cast(pa.int64())
        except (pa.ArrowException, UnicodeDecodeError) as exc:
            raise DecodeError(
                source.display_name,
                f"column {field.name!r} cannot be read as times ({exc}); expected times "
                "within 1677-2262 and a valid time zone name",
                f"{prefix}schema" if prefix else "schema",
            ) from exc
        table = table.set_column(index, field.name, as_ns)
    return table


def _is_parquet(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) == PARQUET_MAGIC


def _zip_parquet_members(path: Path) -> list[zipfile.ZipInfo]:
    try:
        with zipfile.ZipFile(path) as archive:
            return [
                info
                for info in archive.infolist()
                if not info.is_dir() and info.filename.lower().endswith(".parquet")
            ]
    except (zipfile.BadZipFile, OSError):
        return []


@contextmanager
def _extracted(source: Source) -> Iterator[tuple[Path, list[str]]]:
    """The zip's Parquet members in a temporary folder, removed afterwards."""
    members = _zip_parquet_members(source.path)
    declared = sum(info.file_size for info in members)
    if declared > source.max_bytes:
        raise LimitExceeded(
            source.display_name,
            f"zip holds {declared:,} bytes of Parquet; the limit is {source.max_bytes:,} "
            "(set AGENTTIME_MAX_INGEST_BYTES to raise it)",
        )
    with (
        tempfile.TemporaryDirectory(prefix="agenttime-zip-") as tmp,
        zipfile.ZipFile(source.path) as archive,
    ):
        folder, budget = Path(tmp), source.max_bytes
        for info in members:
            budget -= _extract_member(archive, info, folder, budget, source)
        names = {info.filename for info in members}
        ignored = [
            i.filename for i in archive.infolist() if not i.is_dir() and i.filename not in names
        ]
        yield folder, ignored


def _extract_member(archive, info: zipfile.ZipInfo, folder: Path, budget: int, source) -> int:
    """Copy one member under `folder`, refusing path escapes and content past the budget."""
    target = folder / _safe_relative(info.filename, source)
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    try:
        with archive.open(info) as member, target.open("wb") as out:
            while chunk := member.read(1 << 20):
                written += len(chunk)
                if written > budget:
                    raise LimitExceeded(
                        source.display_name,
                        f"zip content exceeds the limit of {source.max_bytes:,} bytes "
                        "(set AGENTTIME_MAX_INGEST_BYTES to raise it)",
                        f"zip member {info.filename!r}",
                    )
                out.write(chunk)
    except (zipfile.BadZipFile, zlib.error, RuntimeError, OSError) as exc:
        raise DecodeError(
            source.display_name,
            f"cannot extract ({exc}); expected a readable zip",
            f"zip member {info.filename!r}",
        ) from exc
    return written


def _safe_relative(name: str, source: Source) -> Path:
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if not parts or name.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
        raise DecodeError(
            source.display_name,
            "member path leaves the archive's folder; expected relative paths inside the zip",
            f"zip member {name!r}",
        )
    return Path(*parts)
