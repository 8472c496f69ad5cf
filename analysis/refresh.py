"""What runs inside an ingest transaction to keep every rollup current for the touched traces.

Order matters: the trajectory rows (tiers, outcome, task_key) feed the turn rollup (waste,
stalled turns), and both feed the verdicts, which also reach the sibling trajectories of
the touched task_keys. Everything is rebuilt from all stored spans of those traces, so a
trace that arrives in several OTLP batches is recomputed, never added to.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from analysis.rollup import affected, rebuild_trajectories
from analysis.turn_rollup import refresh_turns
from analysis.verdicts import refresh_verdicts


def refresh_for_traces(cur: duckdb.DuckDBPyConnection, trace_ids: Sequence[str]) -> None:
    with affected(cur, sorted(set(trace_ids))):
        rebuild_trajectories(cur)
        refresh_turns(cur)
        refresh_verdicts(cur)
