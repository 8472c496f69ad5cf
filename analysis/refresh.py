"""What runs inside an ingest transaction to keep every rollup current for the touched traces."""

from __future__ import annotations

from typing import Sequence

import duckdb

from analysis.rollup import refresh_trajectories


def refresh_for_traces(cur: duckdb.DuckDBPyConnection, trace_ids: Sequence[str]) -> None:
    refresh_trajectories(cur, trace_ids)
