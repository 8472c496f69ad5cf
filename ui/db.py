"""The page side of the store: one shared connection, and a data version for cache keys.

Query results are cached per (data version, arguments): an ingest from any source — the
Upload page, the CLI through the server, an OTLP exporter — or a price edit changes the
version, so no page shows stale figures and none recomputes while nothing changed. Reviews
have their own version: only the review queue reads them through a cache, and a reviewer's
verdict should not make every other page recompute for everyone.
"""

from __future__ import annotations

import duckdb

from store import db

# The spans' count too: deleting the newest upload brings the uploads back to an earlier
# state, while the spans (its trajectories' spans from other uploads) are not.
DATA_VERSION_SQL = """
SELECT (SELECT count(*) || '@' || coalesce(max(created_at)::VARCHAR, '') || '@' ||
               (SELECT count(*) FROM spans) FROM uploads),
       (SELECT hash(list((pattern, tier, input_per_mtok, cached_input_per_mtok,
                          cache_write_per_mtok, output_per_mtok, gpu_usd_per_hour, vram_gb)
                         ORDER BY pattern)) FROM models)
"""


def connection() -> duckdb.DuckDBPyConnection:
    """The process-wide connection (store.db keeps one per file and reopens it if DuckDB
    invalidated it, so it is not cached again here)."""
    return db.connect()


REVIEW_VERSION_SQL = "SELECT count(*) || '@' || coalesce(max(created_at)::VARCHAR, '') FROM reviews"


def data_version() -> str:
    with connection().cursor() as cur:
        uploads, prices = cur.execute(DATA_VERSION_SQL).fetchone()
    return f"{uploads}|{prices}"


def review_version() -> str:
    """The reviews' version, for what reads them through a cache (with `data_version`)."""
    with connection().cursor() as cur:
        return cur.execute(REVIEW_VERSION_SQL).fetchone()[0]
