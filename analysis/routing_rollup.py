"""Keeps `routing_stops` current: where each run would hand over under "escalate after K
stalled turns", so the routing simulation (analysis.routing) is one aggregate query over
stored rows instead of a replay of every small run's turns on each page view.

It reads only `turns`, so it runs right after the turn rollup for the same touched traces
(analysis.refresh), at ingest and on a price edit.
"""

from __future__ import annotations

import duckdb

from store.schema import ROUTING_STOPS_SELECT

TOUCHED = "WHERE trace_id IN (SELECT trace_id FROM affected)"
DELETE_STOPS_SQL = f"DELETE FROM routing_stops {TOUCHED}"
INSERT_STOPS_SQL = (
    "INSERT INTO routing_stops (trace_id, k, turn, cost_usd, end_offset_ms) "
    + ROUTING_STOPS_SELECT.format(where=TOUCHED)
)


def refresh_routing_stops(cur: duckdb.DuckDBPyConnection) -> None:
    """Rebuild the rows of the traces in `affected` (registered by analysis.refresh)."""
    cur.execute(DELETE_STOPS_SQL)
    cur.execute(INSERT_STOPS_SQL)
