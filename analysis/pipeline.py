"""Ingest end to end: decode a file, write it atomically, refresh the rollups.

The CLI, the Upload page and the HTTP endpoints all call `ingest_path`, so a file gives
the same result and the same report whichever way it arrives.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from analysis.refresh import refresh_for_traces
from ingest.errors import IngestError
from ingest.registry import Skipped, decode_file
from ingest.source import content_files
from store import deletes
from store.deletes import UploadImpact
from store.writes import UploadMeta, write_spans

SKIPPED_KEPT = 5  # skipped records named in the stored upload record (`uploads.warnings`)


@dataclass
class IngestReport:
    filename: str
    ok: bool
    format: str | None = None
    spans: int = 0
    trajectories: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    already_ingested: bool = False
    earlier_filename: str | None = None
    error: str | None = None
    upload_id: str | None = None

    def as_dict(self) -> dict:
        return {
            "file": self.filename,
            "ok": self.ok,
            "format": self.format,
            "spans": self.spans,
            "trajectories": self.trajectories,
            "skipped": [{"position": s.position, "reason": s.reason} for s in self.skipped],
            "warnings": self.warnings,
            "already_ingested": self.already_ingested,
            "earlier_file": self.earlier_filename,
            "error": self.error,
            "upload_id": self.upload_id,
        }


def file_sha256(path: Path) -> str:
    """Content hash of a file, or of a folder's files together with their relative paths."""
    digest = hashlib.sha256()
    for part in content_files(path):
        if part != path:
            digest.update(part.relative_to(path).as_posix().encode() + b"\0")
        with part.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def ingest_path(
    con: duckdb.DuckDBPyConnection,
    path: str | Path,
    display_name: str | None = None,
    who: str | None = None,
) -> IngestReport:
    """Decode and store one file; failures are reported, never half-written."""
    path = Path(path)
    name = display_name or path.name
    try:
        decoded = decode_file(path, name)
        meta = UploadMeta(
            filename=name,
            sha256=file_sha256(path),
            format=decoded.format,
            nbytes=sum(part.stat().st_size for part in content_files(path)),
            skipped_count=len(decoded.skipped),
            skipped=[f"{s.position}: {s.reason}" for s in decoded.skipped[:SKIPPED_KEPT]],
            warnings=decoded.warnings,
            who=who,
        )
        result = write_spans(
            con, decoded.spans, meta, refresh=refresh_for_traces, release=decoded.release_pages
        )
    except IngestError as exc:
        return IngestReport(name, ok=False, error=str(exc))
    except duckdb.Error as exc:
        return IngestReport(name, ok=False, error=f"{name}: the store refused the write: {exc}")
    return IngestReport(
        filename=name,
        ok=True,
        format=decoded.format,
        spans=result.spans_inserted,
        trajectories=len(result.trace_ids) if not result.already_ingested else 0,
        skipped=decoded.skipped,
        warnings=result.warnings,
        already_ingested=result.already_ingested,
        earlier_filename=result.earlier_filename,
        upload_id=result.upload_id,
    )


def delete_upload(con: duckdb.DuckDBPyConnection, upload_id: str) -> UploadImpact | None:
    """Remove an upload and every trajectory it touched, whole, with the rollups refreshed
    (store.deletes); None when there is no such upload."""
    return deletes.delete_upload(con, upload_id, refresh=refresh_for_traces)
