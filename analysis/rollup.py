"""The `trajectories` rollup: one row per trace, recomputed whenever its spans change.

Kept as a table maintained at ingest (and after a price edit) so list and KPI pages scan
one row per trajectory instead of re-aggregating every span on every view. Time parts
come from interval unions so parallel tool calls are never counted twice.
"""

from __future__ import annotations

from typing import Sequence

import duckdb
import pyarrow as pa

from analysis.task_key import refresh_task_keys

TIER_RANK_SQL = "CASE tier WHEN 'small' THEN 1 WHEN 'medium' THEN 2 WHEN 'large' THEN 3 END"

# Prices matched once per distinct model name (longest LIKE pattern wins), then joined.
MODEL_PRICES_CTE = f"""
model_prices AS (
    SELECT d.model, m.pattern, m.tier, {TIER_RANK_SQL} AS tier_rank,
           m.input_per_mtok, m.cached_input_per_mtok, m.cache_write_per_mtok,
           m.output_per_mtok, m.gpu_usd_per_hour, m.vram_gb
    FROM (SELECT DISTINCT model FROM scoped WHERE model IS NOT NULL) d
    JOIN models m ON lower(d.model) LIKE lower(m.pattern)
    QUALIFY row_number() OVER (PARTITION BY d.model ORDER BY length(m.pattern) DESC) = 1
)"""

# Cost of one LLM call: uncached input, cache reads and writes, and output (which
# includes reasoning) each at its own price; self-hosted models cost GPU time.
SPAN_COST_SQL = """
CASE
    WHEN p.input_per_mtok IS NOT NULL AND s.input_tokens IS NOT NULL
         AND s.output_tokens IS NOT NULL THEN (
        (s.input_tokens - coalesce(s.cache_read_tokens, 0) - coalesce(s.cache_write_tokens, 0))
            * p.input_per_mtok
        + coalesce(s.cache_read_tokens, 0) * coalesce(p.cached_input_per_mtok, p.input_per_mtok)
        + coalesce(s.cache_write_tokens, 0) * coalesce(p.cache_write_per_mtok, p.input_per_mtok)
        + s.output_tokens * p.output_per_mtok
    ) / 1e6
    WHEN p.gpu_usd_per_hour IS NOT NULL AND s.duration_ms IS NOT NULL
        THEN p.gpu_usd_per_hour * s.duration_ms / 3.6e6
END"""

SPAN_COSTS_SQL = f"""
WITH scoped AS (SELECT * FROM spans WHERE trace_id IN (SELECT trace_id FROM affected)),
{MODEL_PRICES_CTE}
SELECT s.trace_id, s.span_id, {SPAN_COST_SQL} AS computed_usd, s.cost_usd AS reported_usd,
       p.tier, p.tier_rank
FROM scoped s LEFT JOIN model_prices p USING (model)
WHERE s.kind = 'llm'
"""

INTERVAL_UNION_CTES = """
timed AS (
    SELECT trace_id, 'model' AS cls, start_time, end_time FROM scoped
    WHERE kind = 'llm' AND start_time IS NOT NULL AND end_time IS NOT NULL
    UNION ALL
    SELECT trace_id, 'busy' AS cls, start_time, end_time FROM scoped
    WHERE kind IN ('llm', 'tool') AND start_time IS NOT NULL AND end_time IS NOT NULL
), marked AS (
    SELECT *, max(end_time) OVER (
        PARTITION BY trace_id, cls ORDER BY start_time, end_time
        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reach
    FROM timed
), islands AS (
    SELECT *, sum(CASE WHEN reach IS NULL OR start_time > reach THEN 1 ELSE 0 END) OVER (
        PARTITION BY trace_id, cls ORDER BY start_time, end_time ROWS UNBOUNDED PRECEDING) AS island
    FROM marked
), merged AS (
    SELECT trace_id, cls, min(start_time) AS a, max(end_time) AS b
    FROM islands GROUP BY trace_id, cls, island
), times AS (
    SELECT trace_id,
        coalesce(sum(epoch_us(b) - epoch_us(a)) FILTER (WHERE cls = 'model'), 0) / 1000.0 AS model_ms,
        sum(epoch_us(b) - epoch_us(a)) FILTER (WHERE cls = 'busy') / 1000.0 AS busy_ms
    FROM merged GROUP BY trace_id
)"""

REFRESH_SQL = f"""
INSERT INTO trajectories
WITH scoped AS (SELECT * FROM spans WHERE trace_id IN (SELECT trace_id FROM affected)),
{MODEL_PRICES_CTE},
ordered AS (
    SELECT s.*, p.tier_rank,
           row_number() OVER (PARTITION BY s.trace_id
               ORDER BY s.start_time NULLS LAST, s.seq NULLS LAST, s.span_id) AS ord,
           {SPAN_COST_SQL} AS computed_usd
    FROM scoped s LEFT JOIN model_prices p USING (model)
), llm AS (
    SELECT *,
        min(tier_rank) OVER (PARTITION BY trace_id ORDER BY ord
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS lowest_before,
        row_number() OVER (PARTITION BY trace_id ORDER BY ord DESC) AS from_end
    FROM ordered WHERE kind = 'llm'
), model_order AS (
    SELECT trace_id, list(model ORDER BY first_ord) AS models,
           arg_max(model, calls * 1000000 - first_ord) AS primary_model
    FROM (SELECT trace_id, model, min(ord) AS first_ord, count(*) AS calls
          FROM llm WHERE model IS NOT NULL GROUP BY trace_id, model)
    GROUP BY trace_id
), llm_totals AS (
    SELECT trace_id,
        count(*) AS llm_calls,
        bool_or(tier_rank > lowest_before) AS escalated,
        sum(input_tokens) AS input_tokens,
        sum(output_tokens) AS output_tokens,
        sum(reasoning_tokens) AS reasoning_tokens,
        sum(cache_read_tokens) AS cache_read_tokens,
        sum(cache_write_tokens) AS cache_write_tokens,
        sum(coalesce(computed_usd, cost_usd)) AS cost_usd,
        CASE
            WHEN count(computed_usd) = count(*) THEN 'computed'
            WHEN count(computed_usd) = 0 AND count(cost_usd) = count(*) THEN 'reported'
            WHEN count(computed_usd) + count(cost_usd) > 0 THEN 'partial'
        END AS cost_source,
        bool_or(status = 'error' AND from_end = 1) AS final_call_failed
    FROM llm GROUP BY trace_id
), roots AS (
    SELECT trace_id, arg_min(status, ord) AS root_status, arg_min(name, ord) AS root_name
    FROM ordered WHERE parent_id IS NULL OR parent_id = '' GROUP BY trace_id
), {INTERVAL_UNION_CTES}
SELECT
    o.trace_id,
    arg_min(o.session_id, o.ord) FILTER (WHERE o.session_id IS NOT NULL),
    arg_min(o.task_id, o.ord) FILTER (WHERE o.task_id IS NOT NULL),
    NULL,
    arg_min(o.agent_name, o.ord) FILTER (WHERE o.agent_name IS NOT NULL),
    arg_min(o.source, o.ord),
    arg_min(o.upload_id, o.ord),
    coalesce(any_value(r.root_name), arg_min(o.name, o.ord)),
    min(o.start_time),
    max(o.end_time),
    (epoch_us(max(o.end_time)) - epoch_us(min(o.start_time))) / 1000.0,
    count(*),
    coalesce(any_value(l.llm_calls), 0),
    count(*) FILTER (WHERE o.kind = 'tool'),
    count(*) FILTER (WHERE o.kind = 'tool' AND o.status = 'error'),
    coalesce(any_value(l.llm_calls), 0),
    any_value(mo.models),
    any_value(mo.primary_model),
    coalesce(any_value(l.escalated), false),
    any_value(l.input_tokens),
    any_value(l.output_tokens),
    any_value(l.reasoning_tokens),
    any_value(l.cache_read_tokens),
    any_value(l.cache_write_tokens),
    any_value(l.cost_usd),
    any_value(l.cost_source),
    any_value(t.model_ms),
    any_value(t.busy_ms) - any_value(t.model_ms),
    (epoch_us(max(o.end_time)) - epoch_us(min(o.start_time))) / 1000.0 - any_value(t.busy_ms),
    CASE
        WHEN max(o.score) IS NOT NULL THEN CASE WHEN max(o.score) >= 0.5 THEN 'success' ELSE 'failure' END
        WHEN any_value(r.root_status) = 'error' OR any_value(l.final_call_failed) THEN 'error'
        WHEN coalesce(any_value(l.llm_calls), 0) > 0 THEN 'success'
        ELSE 'unknown'
    END,
    max(o.score) IS NULL AND coalesce(any_value(l.llm_calls), 0) > 0,
    max(o.score),
    NULL, NULL, NULL
FROM ordered o
LEFT JOIN llm_totals l USING (trace_id)
LEFT JOIN model_order mo USING (trace_id)
LEFT JOIN roots r USING (trace_id)
LEFT JOIN times t USING (trace_id)
GROUP BY o.trace_id
"""

DELETE_SQL = "DELETE FROM trajectories WHERE trace_id IN (SELECT trace_id FROM affected)"


def refresh_trajectories(cur: duckdb.DuckDBPyConnection, trace_ids: Sequence[str]) -> None:
    """Recompute the rollup rows of `trace_ids` (call inside the write transaction)."""
    cur.register("affected", pa.table({"trace_id": pa.array(list(trace_ids), pa.string())}))
    try:
        cur.execute(DELETE_SQL)
        cur.execute(REFRESH_SQL)
        refresh_task_keys(cur)
    finally:
        cur.unregister("affected")


def refresh_all(cur: duckdb.DuckDBPyConnection) -> None:
    """Recompute every trajectory, e.g. after prices or tiers were edited."""
    trace_ids = [row[0] for row in cur.execute("SELECT DISTINCT trace_id FROM spans").fetchall()]
    refresh_trajectories(cur, trace_ids)
