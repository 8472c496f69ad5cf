"""What arrived in the store: the latest uploads (files and OTLP exports) and the totals of
the exports received at POST /v1/traces, for the Upload page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb
import polars as pl

from analysis.sqlread import read_frame
from store.writes import OTLP_ENDPOINT_WHO

RECENT_UPLOADS_SQL = """
SELECT created_at, filename, format, span_count, trace_count, skipped_count,
    nullif(array_to_string(CAST(warnings AS VARCHAR[]), '; '), '') AS warnings, who, upload_id,
    coalesce(deleted_spans, 0) AS deleted_spans
FROM uploads ORDER BY created_at DESC, upload_id LIMIT ?
"""
ENDPOINT_TOTALS_SQL = """
SELECT count(*), coalesce(sum(span_count), 0), coalesce(sum(skipped_count), 0), max(created_at)
FROM uploads WHERE who = ?
"""


@dataclass(frozen=True)
class EndpointTotals:
    exports: int
    spans: int
    skipped: int
    last: datetime | None


def recent_uploads(con: duckdb.DuckDBPyConnection, limit: int = 20) -> pl.DataFrame:
    """The latest `limit` uploads, newest first."""
    return read_frame(con, RECENT_UPLOADS_SQL, [limit])


def endpoint_totals(con: duckdb.DuckDBPyConnection) -> EndpointTotals:
    """Exports received at POST /v1/traces: how many, their spans and skipped spans, the last."""
    with con.cursor() as cur:
        return EndpointTotals(*cur.execute(ENDPOINT_TOTALS_SQL, [OTLP_ENDPOINT_WHO]).fetchone())
