"""Named read queries over the rollup tables, each behind a typed function.

Pages never hold SQL: they call these. Sort columns come from an allow-list because
identifiers cannot be bound as parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

KPI_SQL = """
SELECT
    count(*) AS trajectories,
    count(*) FILTER (WHERE outcome IN ('success', 'failure', 'error')) AS judged,
    count(*) FILTER (WHERE outcome = 'success') AS successes,
    median(wall_ms) AS median_wall_ms,
    median(turns) AS median_turns,
    sum(coalesce(input_tokens, 0) + coalesce(output_tokens, 0)) AS total_tokens,
    count(*) FILTER (WHERE input_tokens IS NOT NULL OR output_tokens IS NOT NULL) AS with_tokens,
    sum(cost_usd) AS cost_usd,
    count(cost_usd) AS with_cost
FROM trajectories
"""

TRAJECTORY_LIST_SQL = """
SELECT trace_id, agent_name, primary_model, task_id, session_id, start_time, wall_ms, turns,
       tool_calls, input_tokens, output_tokens, cost_usd, outcome, score, verdict, source
FROM trajectories
ORDER BY {order} NULLS LAST, trace_id
LIMIT ? OFFSET ?
"""

SORTABLE = {
    "start_time": "start_time",
    "wall_ms": "wall_ms",
    "turns": "turns",
    "cost_usd": "cost_usd",
    "tokens": "coalesce(input_tokens, 0) + coalesce(output_tokens, 0)",
}

UPLOADS_SQL = """
SELECT upload_id, filename, format, bytes, span_count, trace_count, skipped_count, created_at
FROM uploads ORDER BY created_at DESC LIMIT ?
"""


@dataclass(frozen=True)
class Kpis:
    trajectories: int
    judged: int
    successes: int
    median_wall_ms: float | None
    median_turns: float | None
    total_tokens: int
    with_tokens: int
    cost_usd: float | None
    with_cost: int

    @property
    def success_rate(self) -> float | None:
        return self.successes / self.judged if self.judged else None


def kpis(con: duckdb.DuckDBPyConnection) -> Kpis:
    with con.cursor() as cur:
        row = cur.execute(KPI_SQL).fetchone()
    return Kpis(*row)


def trajectory_list(
    con: duckdb.DuckDBPyConnection,
    sort: str = "start_time",
    descending: bool = True,
    limit: int = 500,
    offset: int = 0,
) -> pl.DataFrame:
    if sort not in SORTABLE:
        raise ValueError(f"cannot sort by {sort!r}; choose one of {sorted(SORTABLE)}")
    order = f"{SORTABLE[sort]} {'DESC' if descending else 'ASC'}"
    with con.cursor() as cur:
        return cur.sql(TRAJECTORY_LIST_SQL.format(order=order), params=[limit, offset]).pl()


def recent_uploads(con: duckdb.DuckDBPyConnection, limit: int = 20) -> pl.DataFrame:
    with con.cursor() as cur:
        return cur.sql(UPLOADS_SQL, params=[limit]).pl()
