"""Typed reads across many trajectories: waste breakdowns, per-model statistics,
escalation events and the tasks that ran on both small and large tiers.

Like `analysis.queries`, these read only the rollup tables kept current at ingest, with
the shared trajectory filter applied as bound parameters.
"""

from __future__ import annotations

import duckdb
import polars as pl

from analysis.cost import model_prices_cte
from analysis.filters import NO_FILTER, TrajectoryFilter
from analysis.sqlread import read_frame

# Grouping expressions for waste breakdowns: an allow-list, never user text.
WASTE_GROUPS = {
    "category": "f.category",
    "agent": "t.agent_name",
    "model": "t.primary_model",
    "day": "CAST(date_trunc('day', t.start_time) AS DATE)",
}
WASTE_BY_SQL = """
SELECT {group} AS key, f.category, count(*) AS findings, count(DISTINCT f.trace_id) AS trajectories,
       sum(f.tokens) AS tokens, count(f.tokens) AS findings_with_tokens,
       sum(f.usd) AS usd, count(f.usd) AS findings_with_usd
FROM findings f JOIN trajectories t USING (trace_id)
WHERE f.trace_id IN ({scope})
GROUP BY ALL ORDER BY key NULLS LAST, f.category
"""

MODEL_CALLS_SQL = """
SELECT model, count(*) AS calls,
    sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
    sum(reasoning_tokens) AS reasoning_tokens, sum(cache_read_tokens) AS cache_read_tokens,
    sum(cache_write_tokens) AS cache_write_tokens,
    sum(cache_read_tokens) FILTER (WHERE input_tokens IS NOT NULL)
        / nullif(sum(input_tokens) FILTER (WHERE cache_read_tokens IS NOT NULL), 0) AS cache_hit_rate,
    sum(reasoning_tokens) FILTER (WHERE output_tokens IS NOT NULL)
        / nullif(sum(output_tokens) FILTER (WHERE reasoning_tokens IS NOT NULL), 0) AS reasoning_share,
    sum(cost_usd) AS cost_usd,
    count(*) FILTER (WHERE cost_source = 'computed') AS computed_calls,
    count(*) FILTER (WHERE cost_source = 'reported') AS reported_calls,
    1e6 * sum(cost_usd) FILTER (WHERE cost_source = 'computed')
        / nullif(sum(input_tokens + output_tokens) FILTER (WHERE cost_source = 'computed'), 0)
        AS effective_usd_per_mtok,
    sum(duration_ms) AS call_ms, sum(vram_gb_min) AS vram_gb_min
FROM turns WHERE trace_id IN ({scope}) AND model IS NOT NULL GROUP BY model
"""
MODEL_TRAJECTORIES_SQL = """
SELECT primary_model AS model, count(*) AS trajectories,
    count(*) FILTER (WHERE outcome = 'success') AS successes,
    count(*) FILTER (WHERE outcome IN ('success', 'failure', 'error')) AS judged,
    avg(cost_usd) AS cost_per_trajectory,
    sum(cost_usd) FILTER (WHERE outcome IN ('success', 'failure', 'error'))
        / nullif(count(*) FILTER (WHERE outcome = 'success' AND cost_usd IS NOT NULL), 0)
        AS cost_per_success,
    100 * avg(score) FILTER (WHERE input_tokens IS NOT NULL AND output_tokens IS NOT NULL)
        / nullif(avg(input_tokens + output_tokens) FILTER (WHERE score IS NOT NULL), 0) * 1000
        AS score_per_1k_tokens,
    avg(wall_ms) AS mean_wall_ms, avg(turns) AS mean_turns
FROM trajectories {where} GROUP BY primary_model
"""
MODEL_STATS_SQL = f"""
WITH calls AS ({MODEL_CALLS_SQL}), runs AS ({MODEL_TRAJECTORIES_SQL}),
names AS (SELECT model FROM calls UNION SELECT model FROM runs),
{model_prices_cte("names")}
SELECT n.model, p.tier, p.pattern AS price_pattern, p.listed_per_mtok,
       p.input_per_mtok AS listed_input_per_mtok, p.output_per_mtok AS listed_output_per_mtok,
       c.* EXCLUDE (model), r.* EXCLUDE (model)
FROM names n LEFT JOIN calls c USING (model) LEFT JOIN runs r USING (model)
LEFT JOIN model_prices p USING (model)
WHERE n.model IS NOT NULL
ORDER BY c.calls DESC NULLS LAST, n.model
"""

ESCALATIONS_SQL = """
SELECT t.trace_id, t.task_key, t.start_time, t.models, t.outcome, v.verdict,
       json_extract_string(v.evidence, '$.escalation_span_id') AS escalation_span_id,
       json_extract_string(v.evidence, '$.from_model') AS from_model,
       json_extract_string(v.evidence, '$.to_model') AS to_model,
       json_extract_string(v.evidence, '$.from_tier') AS from_tier,
       json_extract_string(v.evidence, '$.to_tier') AS to_tier,
       json_array_length(v.evidence, '$.signal_span_ids') AS signal_turns,
       json_array_length(v.evidence, '$.before_span_ids') AS turns_before,
       json_array_length(v.evidence, '$.after_span_ids') AS turns_after,
       t.cost_usd, t.wall_ms
FROM trajectories t JOIN verdicts v USING (trace_id)
WHERE t.escalated AND t.trace_id IN ({scope})
ORDER BY t.start_time NULLS LAST, t.trace_id
"""

BOTH_TIERS_SQL = """
WITH runs AS (
    SELECT task_key, tier, outcome, cost_usd, wall_ms FROM trajectories
    WHERE task_key IS NOT NULL AND escalated = false AND tier IN (?, ?)
      AND trace_id IN ({scope})
)
SELECT task_key,
    count(*) FILTER (WHERE tier = ?) AS small_runs,
    count(*) FILTER (WHERE tier = ? AND outcome = 'success') AS small_successes,
    avg(cost_usd) FILTER (WHERE tier = ?) AS small_mean_cost_usd,
    avg(wall_ms) FILTER (WHERE tier = ?) AS small_mean_wall_ms,
    count(*) FILTER (WHERE tier = ?) AS large_runs,
    count(*) FILTER (WHERE tier = ? AND outcome = 'success') AS large_successes,
    avg(cost_usd) FILTER (WHERE tier = ?) AS large_mean_cost_usd,
    avg(wall_ms) FILTER (WHERE tier = ?) AS large_mean_wall_ms
FROM runs GROUP BY task_key
HAVING small_runs > 0 AND large_runs > 0
ORDER BY task_key
"""


def waste_by(
    con: duckdb.DuckDBPyConnection, by: str = "category", flt: TrajectoryFilter = NO_FILTER
) -> pl.DataFrame:
    """Findings summed per `by` (category, agent, model or day) and category."""
    if by not in WASTE_GROUPS:
        raise ValueError(f"cannot group waste by {by!r}; choose one of {sorted(WASTE_GROUPS)}")
    scope, params = flt.scope()
    sql = WASTE_BY_SQL.format(group=WASTE_GROUPS[by], scope=scope)
    return read_frame(con, sql, params)


def model_stats(con: duckdb.DuckDBPyConnection, flt: TrajectoryFilter = NO_FILTER) -> pl.DataFrame:
    """Per model: calls, tokens by kind, cache hit rate, reasoning share, cost per trajectory
    and per success, score per 1k tokens, listed and effective $/Mtok."""
    scope, scope_params = flt.scope()
    where, where_params = flt.where()
    sql = MODEL_STATS_SQL.format(scope=scope, where=where)
    return read_frame(con, sql, [*scope_params, *where_params])


def escalation_events(
    con: duckdb.DuckDBPyConnection, flt: TrajectoryFilter = NO_FILTER
) -> pl.DataFrame:
    scope, params = flt.scope()
    return read_frame(con, ESCALATIONS_SQL.format(scope=scope), params)


def tasks_on_both_tiers(
    con: duckdb.DuckDBPyConnection,
    small_tier: str = "small",
    large_tier: str = "large",
    flt: TrajectoryFilter = NO_FILTER,
) -> pl.DataFrame:
    """task_keys run without escalation on both tiers, with each tier's success and cost."""
    scope, params = flt.scope()
    tiers = [small_tier] * 4 + [large_tier] * 4
    sql = BOTH_TIERS_SQL.format(scope=scope)
    return read_frame(con, sql, [small_tier, large_tier, *params, *tiers])
