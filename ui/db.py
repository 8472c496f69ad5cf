"""The page side of the store: one shared connection, and a data version for cache keys.

Query results are cached per (data version, arguments): an ingest from any source — the
Upload page, the CLI through the server, an OTLP exporter — bumps the version, so no page
shows stale figures and none recomputes while nothing changed.
"""

from __future__ import annotations

import duckdb
import streamlit as st

from store import db

DATA_VERSION_SQL = "SELECT count(*), max(created_at)::VARCHAR FROM uploads"


def connection() -> duckdb.DuckDBPyConnection:
    return _connection(db.db_path())


@st.cache_resource
def _connection(path: str) -> duckdb.DuckDBPyConnection:
    return db.connect(path)


def data_version() -> str:
    with connection().cursor() as cur:
        count, latest = cur.execute(DATA_VERSION_SQL).fetchone()
    return f"{count}:{latest}"
