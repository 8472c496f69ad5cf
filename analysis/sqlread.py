"""One way to run a named read query into a Polars frame (DuckDB 2.x: results via `sql`)."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import polars as pl


def read_frame(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence = ()) -> pl.DataFrame:
    """Run `sql` with bound `params` on a fresh cursor and return every row as a frame."""
    with con.cursor() as cur:
        return cur.sql(sql, params=list(params) or None).pl()
