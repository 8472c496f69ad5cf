"""Deleting an upload: every trajectory it brought, whole, with its rollups, in one transaction.

A team deletes an upload because it should not be there (the wrong file, a test run, a run
with customer data). Deleting only that upload's spans would leave its trajectories half
there, and the spans other uploads hold of them carrying values filled in from the deleted
ones (`analysis.span_fills`), so a trajectory it touched goes whole: all its spans, from every
upload, then the rollups are refreshed for those traces (which removes their rows and
re-judges the runs of the same tasks). The upload's record goes too, so the same file can be
ingested again; another upload that lost spans this way counts them (`deleted_spans`), and
ingesting its file again restores them. Reviews stay: they come back with their run.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from store.db import WRITE_LOCK, registered, transaction
from store.writes import Refresh

UPLOAD_SQL = "SELECT filename FROM uploads WHERE upload_id = ?"
OTHER_FILES_SQL = """
SELECT DISTINCT u.filename FROM spans s JOIN uploads u USING (upload_id)
WHERE s.trace_id IN (SELECT trace_id FROM spans WHERE upload_id = ?) AND s.upload_id <> ?
ORDER BY u.filename LIMIT 7
"""
IMPACT_SQL = """
SELECT count(DISTINCT trace_id), count(*), count(*) FILTER (WHERE upload_id IS DISTINCT FROM ?)
FROM spans
WHERE trace_id IN (SELECT trace_id FROM spans WHERE upload_id = ?)
"""
TRACES_SQL = "SELECT DISTINCT trace_id FROM spans WHERE upload_id = ? ORDER BY trace_id"
DELETE_SPANS_SQL = "DELETE FROM spans WHERE trace_id IN (SELECT trace_id FROM doomed_traces)"
# Other uploads' spans of those trajectories: counted on their records, so that ingesting
# their files again is not refused as "already ingested" and brings the spans back.
COUNT_LOST_SQL = """
UPDATE uploads SET deleted_spans = coalesce(deleted_spans, 0) + lost.spans
FROM (
    SELECT upload_id, count(*) AS spans FROM spans
    WHERE trace_id IN (SELECT trace_id FROM doomed_traces) AND upload_id IS DISTINCT FROM ?
    GROUP BY upload_id
) lost
WHERE uploads.upload_id = lost.upload_id
"""
DELETE_UPLOAD_SQL = "DELETE FROM uploads WHERE upload_id = ?"


@dataclass(frozen=True)
class UploadImpact:
    """What deleting an upload removes: its trajectories, and all their spans (of which
    `other_uploads_spans` arrived in other uploads)."""

    upload_id: str
    filename: str
    trajectories: int
    spans: int
    other_uploads_spans: int
    other_files: tuple[str, ...] = ()  # the uploads those spans came in (7 at most)


def upload_impact(con: duckdb.DuckDBPyConnection, upload_id: str) -> UploadImpact | None:
    """What `delete_upload` would remove, or None when there is no such upload."""
    with con.cursor() as cur:
        return _impact(cur, upload_id)


def delete_upload(
    con: duckdb.DuckDBPyConnection, upload_id: str, refresh: Refresh
) -> UploadImpact | None:
    """Remove the upload and every trajectory it touched, whole; None if there is no such
    upload. Under the write lock, so no ingest runs beside it."""
    with WRITE_LOCK, con.cursor() as cur, transaction(cur):
        impact = _impact(cur, upload_id)
        if impact is None:
            return None
        traces = [row[0] for row in cur.execute(TRACES_SQL, [upload_id]).fetchall()]
        doomed = pa.table({"trace_id": pa.array(traces, pa.string())})
        with registered(cur, "doomed_traces", doomed):
            cur.execute(COUNT_LOST_SQL, [upload_id])
            cur.execute(DELETE_SPANS_SQL)
        if traces:
            refresh(cur, traces)
        cur.execute(DELETE_UPLOAD_SQL, [upload_id])
    return impact


def _impact(cur: duckdb.DuckDBPyConnection, upload_id: str) -> UploadImpact | None:
    upload = cur.execute(UPLOAD_SQL, [upload_id]).fetchone()
    if upload is None:
        return None
    trajectories, spans, others = cur.execute(IMPACT_SQL, [upload_id, upload_id]).fetchone()
    files = cur.execute(OTHER_FILES_SQL, [upload_id, upload_id]).fetchall() if others else []
    return UploadImpact(
        upload_id, upload[0], trajectories, spans, others, tuple(f for (f,) in files)
    )
