"""What runs inside an ingest transaction to keep every rollup current for the touched traces.

Order matters: the trajectory rows (tiers, outcome, task_key) feed the turn rollup (waste,
stalled turns) and the per-task tier table (built before the verdicts drop the touched
traces' old task_keys); the turns feed the routing stops, the findings the waste per
category; trajectories and turns feed the verdicts, which also reach the sibling
trajectories of the touched task_keys.
Everything is rebuilt from all stored spans of those traces, so a trace that arrives in
several OTLP batches is recomputed, never added to.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from analysis.kept_tables import refresh_kept_tables
from analysis.rollup import affected, rebuild_trajectories
from analysis.span_fills import fill_across_uploads
from analysis.stage import staged_spans
from analysis.turn_rollup import refresh_turns
from analysis.verdicts import refresh_verdicts


def refresh_for_traces(cur: duckdb.DuckDBPyConnection, trace_ids: Sequence[str]) -> None:
    with affected(cur, sorted(set(trace_ids))):
        fill_across_uploads(cur)  # first: the rollups read the filled tool arguments
        with staged_spans(cur):
            rebuild_trajectories(cur)
            refresh_turns(cur)
        refresh_kept_tables(cur)
        refresh_verdicts(cur)
