"""Keeps `trace_waste` current: each trajectory's findings summed per waste category, so the
fleet waste breakdowns (analysis.fleet.waste_by) add up one row per trajectory and category
instead of every finding. It reads only `findings`, so it runs after the turn rollup for the
same touched traces (analysis.refresh), at ingest and on a price edit.
"""

from __future__ import annotations

import duckdb

from store.schema import TRACE_WASTE_SELECT

TOUCHED = "WHERE trace_id IN (SELECT trace_id FROM affected)"
DELETE_TRACE_WASTE_SQL = f"DELETE FROM trace_waste {TOUCHED}"
INSERT_TRACE_WASTE_SQL = "INSERT INTO trace_waste " + TRACE_WASTE_SELECT.format(where=TOUCHED)


def refresh_trace_waste(cur: duckdb.DuckDBPyConnection) -> None:
    """Rebuild the rows of the traces in `affected` (registered by analysis.refresh)."""
    cur.execute(DELETE_TRACE_WASTE_SQL)
    cur.execute(INSERT_TRACE_WASTE_SQL)
