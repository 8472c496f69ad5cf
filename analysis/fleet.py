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
from analysis.queries import WASTE_MEASURED
from analysis.sqlread import read_frame

# The UTC calendar day of a TIMESTAMPTZ, whatever the session time zone, from its epoch
# microseconds (twice as fast as timezone('UTC', ...); exact until the year 2149, when the
# double division could no longer tell a microsecond before midnight from midnight).
UTC_DAY_SQL = "DATE '1970-01-01' + CAST(floor(epoch_us({col}) / 86400000000.0) AS INTEGER)"

# Grouping expressions for waste breakdowns: an allow-list, never user text. A finding's
# model is the model of the call whose turn was wasted (`u`: its row in `turns`), not the
# run's most-called model: a run that escalated wastes on both.
WASTE_GROUPS = {
    "category": "f.category",
    "agent": "t.agent_name",
    "model": "u.model",
    "day": UTC_DAY_SQL.format(col="t.start_time"),
}
TURN_OF_FINDING = "JOIN turns u USING (trace_id, turn)"
# Amounts are summed over the runs whose waste the KPIs count (tokens: every turn recorded its
# counts; dollars: every finding priced); a finding of another run counts as one without them.
IN_TOKENS = f"FILTER (WHERE {WASTE_MEASURED.format(t='t.')})"
IN_USD = "FILTER (WHERE t.waste_usd IS NOT NULL)"
WASTE_BY_SQL = f"""
SELECT {{group}} AS key, f.category, CAST(sum(f.findings) AS BIGINT) AS findings,
    count(*) AS trajectories, CAST(sum(f.tokens) {IN_TOKENS} AS HUGEINT) AS tokens,
    CAST(coalesce(sum(f.findings_with_tokens) {IN_TOKENS}, 0) AS BIGINT) AS findings_with_tokens,
    sum(f.usd) {IN_USD} AS usd,
    CAST(coalesce(sum(f.findings_with_usd) {IN_USD}, 0) AS BIGINT) AS findings_with_usd
FROM trace_waste f JOIN trajectories t USING (trace_id)
{{where}}
GROUP BY ALL ORDER BY key NULLS LAST, f.category
"""
# By model the findings are read one by one (`trace_waste` sums them per trajectory).
MODEL_WASTE_BY_SQL = f"""
SELECT {WASTE_GROUPS["model"]} AS key, f.category, count(*) AS findings,
    count(DISTINCT f.trace_id) AS trajectories, CAST(sum(f.tokens) {IN_TOKENS} AS HUGEINT) AS tokens,
    count(f.tokens) {IN_TOKENS} AS findings_with_tokens, sum(f.usd) {IN_USD} AS usd,
    count(f.usd) {IN_USD} AS findings_with_usd
FROM findings f {TURN_OF_FINDING} JOIN trajectories t USING (trace_id)
{{where}}
GROUP BY ALL ORDER BY key NULLS LAST, f.category
"""

MODEL_CALLS_SQL = """
SELECT model, count(*) AS calls,
    sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
    sum(reasoning_tokens) AS reasoning_tokens, sum(cache_read_tokens) AS cache_read_tokens,
    sum(cache_write_tokens) AS cache_write_tokens,
    -- input and output of calls that recorded no cache / no reasoning count: their split is
    -- unknown, and a chart must not draw them as uncached input or visible output
    sum(input_tokens) FILTER (WHERE cache_read_tokens IS NULL AND cache_write_tokens IS NULL)
        AS cache_unknown_input_tokens,
    sum(output_tokens) FILTER (WHERE reasoning_tokens IS NULL) AS reasoning_unknown_output_tokens,
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
FROM turns WHERE model IS NOT NULL {scope} GROUP BY model
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

# The page of escalated runs is cut before the verdict evidence is parsed, so a page costs
# the same whatever the number of escalations; `{page}`: "" or "LIMIT ? OFFSET ?".
ESCALATIONS_SQL = """
WITH page AS (
    SELECT t.trace_id, t.task_key, t.task_text, t.start_time, t.models, t.outcome, t.cost_usd,
        t.wall_ms
    FROM trajectories t
    WHERE t.escalated AND t.trace_id IN (SELECT trace_id FROM verdicts) {scope}
    ORDER BY t.start_time NULLS LAST, t.trace_id {page}
)
SELECT t.trace_id, t.task_key, t.task_text, t.start_time, t.models, t.outcome, v.verdict,
       json_extract_string(v.evidence, '$.escalation_span_id') AS escalation_span_id,
       json_extract_string(v.evidence, '$.from_model') AS from_model,
       json_extract_string(v.evidence, '$.to_model') AS to_model,
       json_extract_string(v.evidence, '$.from_tier') AS from_tier,
       json_extract_string(v.evidence, '$.to_tier') AS to_tier,
       json_array_length(v.evidence, '$.signal_span_ids') AS signal_turns,
       json_array_length(v.evidence, '$.before_span_ids') AS turns_before,
       json_array_length(v.evidence, '$.after_span_ids') AS turns_after,
       t.cost_usd, t.wall_ms
FROM page t JOIN verdicts v USING (trace_id)
ORDER BY t.start_time NULLS LAST, t.trace_id
"""
ESCALATION_EVENT_COUNT_SQL = """
SELECT count(*) FROM trajectories t JOIN verdicts v USING (trace_id) WHERE t.escalated {scope}
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
    where, params = flt.where("t.")
    if by == "model":
        return read_frame(con, MODEL_WASTE_BY_SQL.format(where=where), params)
    sql = WASTE_BY_SQL.format(group=WASTE_GROUPS[by], where=where)
    return read_frame(con, sql, params)


def model_stats(con: duckdb.DuckDBPyConnection, flt: TrajectoryFilter = NO_FILTER) -> pl.DataFrame:
    """Per model: calls, tokens by kind, cache hit rate, reasoning share, cost per trajectory
    and per success, score per 1k tokens, listed and effective $/Mtok."""
    scope, scope_params = trajectory_scope(flt)
    where, where_params = flt.where()
    sql = MODEL_STATS_SQL.format(scope=scope, where=where)
    return read_frame(con, sql, [*scope_params, *where_params])


def trajectory_scope(
    flt: TrajectoryFilter, column: str = "trace_id", key: str = "trace_id"
) -> tuple[str, list]:
    """("AND <column> IN (<`key` of the filter's trajectories>)", params), or ("", []) without
    a filter: every stored turn, finding and verdict belongs to a stored trajectory, so no
    semi-join is needed then."""
    where, params = flt.where()
    return (f"AND {column} IN (SELECT {key} FROM trajectories {where})" if where else ""), params


def escalation_events(
    con: duckdb.DuckDBPyConnection,
    flt: TrajectoryFilter = NO_FILTER,
    limit: int | None = None,
    offset: int = 0,
) -> pl.DataFrame:
    """Escalated runs with where they switched, oldest first; `limit` rows from `offset`
    (every row when `limit` is None)."""
    scope, params = trajectory_scope(flt, "t.trace_id")
    if limit is None:
        return read_frame(con, ESCALATIONS_SQL.format(scope=scope, page=""), params)
    sql = ESCALATIONS_SQL.format(scope=scope, page="LIMIT ? OFFSET ?")
    return read_frame(con, sql, [*params, limit, offset])


def escalation_event_count(
    con: duckdb.DuckDBPyConnection, flt: TrajectoryFilter = NO_FILTER
) -> int:
    scope, params = trajectory_scope(flt, "t.trace_id")
    with con.cursor() as cur:
        return cur.execute(ESCALATION_EVENT_COUNT_SQL.format(scope=scope), params).fetchone()[0]


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
