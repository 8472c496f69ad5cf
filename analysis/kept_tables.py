"""Tables kept current at ingest so the fleet pages read a few rows instead of recomputing:

- `routing_stops`: where each run would hand over under "escalate after K stalled turns",
  so the routing simulation (analysis.routing) is one aggregate query; from `turns`.
- `trace_waste`: each trajectory's findings summed per waste category, what the fleet waste
  breakdowns (analysis.fleet.waste_by) add up; from `findings`.
- `task_tiers`: per task_key and tier, the runs verdicts compare a run with, so
  "over-provisioned" and "tasks run on more than one tier" read a few rows per task. A
  task's row depends on every run of that task_key, so its refresh covers the task_keys of
  the touched traces before and after the ingest: the new ones are in `trajectories`
  (already rebuilt), the old ones still in `verdicts` (rebuilt afterwards).

Each is rebuilt for the rows an ingest or price edit touches (analysis.refresh, with
`affected` registered): its SELECT lives in store.schema, which also creates the table
from existing data on first use.
"""

from __future__ import annotations

import duckdb

from analysis.verdicts import SCOPE_KEYS_SQL
from store.schema import ROUTING_STOPS_SELECT, TASK_TIERS_SELECT, TRACE_WASTE_SELECT

TOUCHED_TRACES = "WHERE trace_id IN (SELECT trace_id FROM affected)"
TOUCHED_TASKS = f"task_key IN ({SCOPE_KEYS_SQL})"
REBUILDS = {
    "routing_stops": (TOUCHED_TRACES, ROUTING_STOPS_SELECT.format(where=TOUCHED_TRACES)),
    "trace_waste": (TOUCHED_TRACES, TRACE_WASTE_SELECT.format(where=TOUCHED_TRACES)),
    "task_tiers": (
        f"WHERE {TOUCHED_TASKS}",
        TASK_TIERS_SELECT.format(scope=f"AND {TOUCHED_TASKS}"),
    ),
}


def refresh_kept_tables(cur: duckdb.DuckDBPyConnection) -> None:
    """Rebuild the touched rows of every kept table; run after the turn rollup (turns and
    findings) and the trajectory rows are rebuilt, before the verdicts are."""
    for table, (touched, select) in REBUILDS.items():
        cur.execute(f"DELETE FROM {table} {touched}")
        cur.execute(f"INSERT INTO {table} {select}")
