"""Re-import an AgentTime export (`python -m ingest --export DIR`), or any Parquet in the
canonical span layout, so data that left the store can come back unchanged.

An export folder is recognised by its manifest; the manifest lists every span file with
its row count, so a missing, truncated or foreign file is refused instead of quietly
shrinking the store. Parquet without a manifest is taken when its columns are the canonical
span columns. LangSmith bulk exports are Parquet too, but have no `span_id` column, so
they are never claimed here even though this adapter is asked first.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ingest import registry
from ingest.canonical import SPAN_COLUMNS, SPAN_SCHEMA
from ingest.errors import DecodeError, LimitExceeded
from ingest.source import Source, content_files

NAME = "agenttime_export"
PRIORITY = 10  # before langsmith (45), which takes every Parquet file it is offered
PARQUET_MAGIC = b"PAR1"
# The export layout written by store/export.py (tests/test_export.py checks they agree).
EXPORT_FORMAT, EXPORT_VERSION, MANIFEST, SPANS_DIR = "agenttime-export", 1, "manifest.json", "spans"
EXTENSION_COLUMNS = ("seq", "score")  # filled with NULL when another writer left them out
REQUIRED_COLUMNS = frozenset(SPAN_COLUMNS) - frozenset(EXTENSION_COLUMNS)
NOT_NULL = ("trace_id", "span_id", "source", "name", "kind", "status")
SIDE_TABLES = ("uploads", "reviews", "models")


def sniff(head: bytes, source: Source) -> bool:
    if source.is_dir:
        return _manifest(source) is not None or bool(_canonical_files(source.path))
    if not head.startswith(PARQUET_MAGIC):
        return False
    target = pa.BufferReader(source.read()) if source.compressed else source.path
    return _is_canonical(target)


def decode(source: Source) -> registry.Decoded:
    if not source.is_dir:
        table = _read(
            pa.BufferReader(source.read()) if source.compressed else source.path, "", source
        )
        return registry.Decoded(NAME, table)
    manifest = _manifest(source)
    files = _listed_files(source, manifest) if manifest else _canonical_files(source.path)
    _check_size(files, source)
    tables = [_read(part, part.relative_to(source.path).as_posix(), source) for part in files]
    if manifest:
        _check_rows(tables, manifest, source)
    spans = pa.concat_tables(tables) if tables else SPAN_SCHEMA.empty_table()
    return registry.Decoded(NAME, spans, warnings=_warnings(source, manifest, files))


def _manifest(source: Source) -> dict | None:
    """The export manifest when the folder has one in AgentTime's format, else None."""
    path = source.path / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError):
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != EXPORT_FORMAT:
        return None
    return manifest


def _listed_files(source: Source, manifest: dict) -> list[Path]:
    if manifest.get("version") != EXPORT_VERSION:
        raise DecodeError(
            source.display_name,
            f"export version {manifest.get('version')!r}; this AgentTime reads version "
            f"{EXPORT_VERSION}",
            MANIFEST,
        )
    listed = _manifest_files(manifest, source)  # a name outside the folder is never on disk
    on_disk = {
        part.relative_to(source.path).as_posix()
        for part in (source.path / SPANS_DIR).rglob("*.parquet")
    }
    if missing := sorted(set(listed) - on_disk):
        raise DecodeError(
            source.display_name,
            f"{len(missing)} span file(s) listed in the manifest are missing, first {missing[0]}; "
            "the export is incomplete",
            MANIFEST,
        )
    if extra := sorted(on_disk - set(listed)):
        raise DecodeError(
            source.display_name,
            f"{extra[0]} is not listed in the manifest; expected only the files the export "
            "wrote (delete manifest.json to import every canonical Parquet file)",
            MANIFEST,
        )
    return [source.path / name for name in sorted(listed)]


def _manifest_files(manifest: dict, source: Source) -> dict[str, int]:
    try:
        files = manifest["tables"]["spans"]["files"]
        return {str(name): int(rows) for name, rows in files.items()}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DecodeError(
            source.display_name,
            "manifest has no readable tables.spans.files; expected the manifest the export wrote",
            MANIFEST,
        ) from exc


def _canonical_files(folder: Path) -> list[Path]:
    return [part for part in content_files(folder) if _is_parquet(part) and _is_canonical(part)]


def _is_parquet(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) == PARQUET_MAGIC


def _is_canonical(target) -> bool:
    try:
        names = set(pq.read_schema(target).names)
    except (pa.ArrowException, OSError, UnicodeDecodeError):
        return False
    return names >= REQUIRED_COLUMNS


def _check_size(files: list[Path], source: Source) -> None:
    total = sum(part.stat().st_size for part in files)
    if total > source.max_bytes:
        raise LimitExceeded(
            source.display_name,
            f"span files total {total:,} bytes; the limit is {source.max_bytes:,} "
            "(set AGENTTIME_MAX_INGEST_BYTES to raise it)",
        )


def _read(target, where: str, source: Source) -> pa.Table:
    """One Parquet file as the canonical span table, refusing what the store cannot hold."""
    try:
        table = pq.read_table(target, partitioning=None)
        table.validate(full=True)  # Parquet readers do not check that text is valid UTF-8
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        raise DecodeError(
            source.display_name, f"unreadable Parquet ({exc})", where or "byte 0"
        ) from exc
    for name in EXTENSION_COLUMNS:
        if name not in table.column_names:
            table = table.append_column(
                name, pa.nulls(table.num_rows, SPAN_SCHEMA.field(name).type)
            )
    try:
        table = table.select(SPAN_COLUMNS).cast(SPAN_SCHEMA)
    except (pa.ArrowException, KeyError) as exc:
        raise DecodeError(
            source.display_name,
            f"columns do not match the canonical span schema ({exc})",
            where or "schema",
        ) from exc
    _check_not_null(table, where, source)
    return table


def _check_not_null(table: pa.Table, where: str, source: Source) -> None:
    for name in NOT_NULL:
        nulls = pc.is_null(table.column(name))
        if pc.any(nulls).as_py():
            row = pc.index(nulls, True).as_py() + 1
            position = f"{where}, row {row}" if where else f"row {row}"
            raise DecodeError(
                source.display_name, f"{name} is empty; expected a value in every span", position
            )


def _check_rows(tables: list[pa.Table], manifest: dict, source: Source) -> None:
    listed = _manifest_files(manifest, source)
    for (name, rows), table in zip(sorted(listed.items()), tables, strict=True):
        if table.num_rows != rows:
            raise DecodeError(
                source.display_name,
                f"holds {table.num_rows:,} spans where the manifest lists {rows:,}; "
                "the export was changed or cut short",
                name,
            )


def _warnings(source: Source, manifest: dict | None, files: list[Path]) -> list[str]:
    if manifest is None:
        ignored = [p for p in content_files(source.path) if p not in files]
        if not ignored:
            return []
        return [f"ignored {len(ignored)} file(s) without canonical span columns"]
    kept = [
        f"{table} ({manifest['tables'][table]['rows']:,} rows)"
        for table in SIDE_TABLES
        if manifest.get("tables", {}).get(table, {}).get("rows")
    ]
    if not kept:
        return []
    return [
        f"spans re-imported as one new upload; the export's {', '.join(kept)} "
        "stay in its Parquet files (ingest adds spans only)"
    ]


registry.register(NAME, PRIORITY, sniff, decode)
