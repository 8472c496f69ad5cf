"""One way to run a named read query into a Polars frame (DuckDB 2.x: results via `sql`).

Polars is the pages' library: the ingest path, which imports the rollups but reads no
frame, does not pay its import (0.1 s of every `python -m ingest`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    import polars as pl


def read_frame(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence | Mapping = ()
) -> pl.DataFrame:
    """Run `sql` with bound `params` (`?` in order, or `$name` from a mapping) on a fresh
    cursor and return every row as a frame."""
    bound = dict(params) if isinstance(params, Mapping) else list(params)
    with con.cursor() as cur:
        return cur.sql(sql, params=bound or None).pl()  # imports polars on first use
