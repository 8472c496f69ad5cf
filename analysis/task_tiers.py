"""Keeps `task_tiers` current: per task_key and tier, the runs verdicts compare a run with,
so "over-provisioned" and "tasks run on more than one tier" read a few rows per task
instead of joining every run with every sibling on each page view.

A task's row depends on every run of that task_key, so the refresh covers the task_keys of
the touched traces before and after the ingest: the new ones are in `trajectories` (already
rebuilt), the old ones still in `verdicts` (rebuilt afterwards), the scope verdicts use.
"""

from __future__ import annotations

import duckdb

from analysis.verdicts import SCOPE_KEYS_SQL
from store.schema import TASK_TIERS_SELECT

TOUCHED_TASKS = f"AND task_key IN ({SCOPE_KEYS_SQL})"
DELETE_TASK_TIERS_SQL = f"DELETE FROM task_tiers WHERE task_key IN ({SCOPE_KEYS_SQL})"
INSERT_TASK_TIERS_SQL = "INSERT INTO task_tiers " + TASK_TIERS_SELECT.format(scope=TOUCHED_TASKS)


def refresh_task_tiers(cur: duckdb.DuckDBPyConnection) -> None:
    """Rebuild the rows of the touched task_keys; run after the trajectory rows of the traces
    in `affected` are rebuilt and before their verdicts are."""
    cur.execute(DELETE_TASK_TIERS_SQL)
    cur.execute(INSERT_TASK_TIERS_SQL)
