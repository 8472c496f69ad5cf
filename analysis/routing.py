"""Routing simulation: what "small first, escalate after K stalled turns" would have done.

Replayed on the task_keys that have non-escalated runs of both the small and the large tier
with a known outcome. Estimation model (an estimate from recorded runs, not a re-run):
- all-small / all-large: the mean success, cost and wall time of that tier's runs.
- small-first with threshold K: each recorded small run is replayed turn by turn. A turn is
  stalled when it is a stagnation turn, an error retry, or it errored (the stalled flag in
  `turns`). If the run reaches K stalled turns (counted cumulatively) at turn j, the policy
  stops it there and hands the task to the large model, which restarts from scratch: cost =
  the small run's cost up to turn j + the large tier's mean cost on that task; wall time =
  the small run's elapsed time at the end of turn j + the large tier's mean wall time;
  success = the large tier's success rate on that task. A run that never reaches K stalled
  turns keeps its own outcome, cost and wall time.
Per task the small runs are averaged; then every task counts equally. A cost or time that
is unknown for a task leaves that task out of that column (the `*_tasks` columns count the
tasks behind each figure) rather than counting it as zero.

Where each run reaches its K-th stalled turn is kept at ingest in `routing_stops`
(analysis.kept_tables), so the whole simulation is one aggregate query.
"""

from __future__ import annotations

import duckdb
import polars as pl

from analysis.sqlread import read_frame
from store.schema import ROUTING_MAX_K

THRESHOLDS = tuple(range(1, ROUTING_MAX_K + 1))
ALL_LARGE = ROUTING_MAX_K + 1  # policy positions: 0 all small, K, then all large

# Per task, K-policy figures are the small runs' totals with the runs that reach K stalled
# turns swapped for their replay (prefix + the large tier's mean), so no per-run rows are
# multiplied by K. Each tier's totals per task come from `task_tiers` (the same runs:
# non-escalated, known outcome). Parameters: small tier, large tier, small tier.
ROUTING_SQL = f"""
WITH tiers AS (
    SELECT task_key, tier, runs AS n, CAST(successes AS DOUBLE) AS successes,
        coalesce(cost_usd, 0) AS cost, runs - cost_runs AS unknown_cost,
        coalesce(wall_ms, 0) AS wall, runs - wall_runs AS unknown_wall
    FROM task_tiers
), pairs AS (
    SELECT s.*, l.successes / l.n AS large_success,
        CASE WHEN l.unknown_cost = 0 THEN l.cost / l.n END AS large_cost,
        CASE WHEN l.unknown_wall = 0 THEN l.wall / l.n END AS large_wall
    FROM tiers s JOIN tiers l ON l.task_key = s.task_key AND s.tier = ? AND l.tier = ?
), runs AS (
    SELECT trace_id, task_key, CAST(outcome = 'success' AS DOUBLE) AS success, cost_usd, wall_ms
    FROM trajectories
    WHERE task_key IS NOT NULL AND escalated = false AND tier = ?
      AND outcome IN ('success', 'failure', 'error')
      AND trace_id IN (SELECT trace_id FROM routing_stops)
), stopped AS (
    SELECT r.task_key, st.k, count(*) AS n, sum(r.success) AS successes,
        coalesce(sum(r.cost_usd), 0) AS cost, count(*) - count(r.cost_usd) AS unknown_cost,
        coalesce(sum(r.wall_ms), 0) AS wall, count(*) - count(r.wall_ms) AS unknown_wall,
        coalesce(sum(st.cost_usd), 0) AS prefix_cost,
        count(*) - count(st.cost_usd) AS unknown_prefix_cost,
        coalesce(sum(st.end_offset_ms), 0) AS prefix_ms,
        count(*) - count(st.end_offset_ms) AS unknown_prefix_ms
    FROM runs r JOIN routing_stops st USING (trace_id)
    WHERE r.task_key IN (SELECT task_key FROM pairs)
    GROUP BY r.task_key, st.k
), replayed AS (
    SELECT p.*, k.k, coalesce(s.n, 0) AS m, coalesce(s.successes, 0) AS stopped_successes,
        coalesce(s.cost, 0) AS stopped_cost, coalesce(s.unknown_cost, 0) AS stopped_unknown_cost,
        coalesce(s.wall, 0) AS stopped_wall, coalesce(s.unknown_wall, 0) AS stopped_unknown_wall,
        coalesce(s.prefix_cost, 0) AS prefix_cost, coalesce(s.unknown_prefix_cost, 0) AS unknown_prefix_cost,
        coalesce(s.prefix_ms, 0) AS prefix_ms, coalesce(s.unknown_prefix_ms, 0) AS unknown_prefix_ms
    FROM pairs p CROSS JOIN range(1, {ROUTING_MAX_K + 1}) k(k)
    LEFT JOIN stopped s ON s.task_key = p.task_key AND s.k = k.k
), per_task AS (
    SELECT 0 AS position, successes / n AS success,
        CASE WHEN unknown_cost = 0 THEN cost / n END AS cost,
        CASE WHEN unknown_wall = 0 THEN wall / n END AS wall, 0.0 AS escalated
    FROM pairs
    UNION ALL
    SELECT k, (successes - stopped_successes + m * large_success) / n,
        CASE WHEN unknown_cost = stopped_unknown_cost
                  AND (m = 0 OR (unknown_prefix_cost = 0 AND large_cost IS NOT NULL))
             THEN (cost - stopped_cost + prefix_cost + m * coalesce(large_cost, 0)) / n END,
        CASE WHEN unknown_wall = stopped_unknown_wall
                  AND (m = 0 OR (unknown_prefix_ms = 0 AND large_wall IS NOT NULL))
             THEN (wall - stopped_wall + prefix_ms + m * coalesce(large_wall, 0)) / n END,
        m / n
    FROM replayed
    UNION ALL
    SELECT {ALL_LARGE}, large_success, large_cost, large_wall, 0.0 FROM pairs
)
SELECT CASE position WHEN 0 THEN 'all_small' WHEN {ALL_LARGE} THEN 'all_large'
           ELSE 'small_then_large_k' || position END AS policy,
    CASE WHEN position BETWEEN 1 AND {ROUTING_MAX_K} THEN position END AS k,
    count(*) AS tasks, avg(success) AS success_rate,
    avg(cost) AS cost_per_task, count(cost) AS cost_tasks,
    avg(wall) AS wall_ms_per_task, count(wall) AS wall_tasks,
    avg(escalated) AS escalation_rate
FROM per_task GROUP BY position ORDER BY position
"""


def routing_table(
    con: duckdb.DuckDBPyConnection, small_tier: str = "small", large_tier: str = "large"
) -> pl.DataFrame:
    """One row per policy: all_small, small_then_large_k1..k5, all_large."""
    frame = read_frame(con, ROUTING_SQL, [small_tier, large_tier, small_tier])
    return frame.cast(_SCHEMA)


_SCHEMA = {
    "policy": pl.String,
    "k": pl.Int64,
    "tasks": pl.Int64,
    "success_rate": pl.Float64,
    "cost_per_task": pl.Float64,
    "cost_tasks": pl.Int64,
    "wall_ms_per_task": pl.Float64,
    "wall_tasks": pl.Int64,
    "escalation_rate": pl.Float64,
}
