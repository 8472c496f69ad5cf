"""The `trajectories` rollup: one row per trace, recomputed whenever its spans change.

Kept as a table maintained at ingest (and after a price edit) so list and KPI pages scan
one row per trajectory instead of re-aggregating every span on every view. Rows of the
touched traces are deleted and rebuilt from all their spans, so spans arriving in several
OTLP batches are never counted twice. Time parts come from interval unions so parallel
tool calls are never counted twice either, and a part is NULL (unknown) as soon as one of
its spans has no recorded time.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pyarrow as pa

from analysis.cost import TIER_NAME_SQL
from analysis.stage import staged_spans
from analysis.task_key import refresh_task_keys
from store.db import registered

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
), unions AS (
    SELECT trace_id,
        coalesce(sum(epoch_us(b) - epoch_us(a)) FILTER (WHERE cls = 'model'), 0) / 1000.0 AS model_union_ms,
        coalesce(sum(epoch_us(b) - epoch_us(a)) FILTER (WHERE cls = 'busy'), 0) / 1000.0 AS busy_union_ms
    FROM merged GROUP BY trace_id
)"""

# Time parts per trace: NULL when a span of that kind has no time, or no wall time is known.
TIME_PARTS_CTE = """
time_parts AS (
    SELECT s.trace_id,
        (epoch_us(max(s.end_time)) - epoch_us(min(s.start_time))) / 1000.0 AS wall_ms,
        count(*) FILTER (WHERE s.kind = 'llm' AND (s.start_time IS NULL OR s.end_time IS NULL)) AS untimed_llm,
        count(*) FILTER (WHERE s.kind = 'tool' AND (s.start_time IS NULL OR s.end_time IS NULL)) AS untimed_tool
    FROM scoped s GROUP BY s.trace_id
), times AS (
    SELECT tp.trace_id, tp.wall_ms,
        CASE WHEN tp.wall_ms IS NOT NULL AND tp.untimed_llm = 0
             THEN coalesce(u.model_union_ms, 0) END AS model_ms,
        CASE WHEN tp.wall_ms IS NOT NULL AND tp.untimed_llm = 0 AND tp.untimed_tool = 0
             THEN coalesce(u.busy_union_ms, 0) - coalesce(u.model_union_ms, 0) END AS tool_ms,
        CASE WHEN tp.wall_ms IS NOT NULL AND tp.untimed_llm = 0 AND tp.untimed_tool = 0
             THEN tp.wall_ms - coalesce(u.busy_union_ms, 0) END AS idle_ms
    FROM time_parts tp LEFT JOIN unions u USING (trace_id)
)"""

ROLLUP_COLUMNS = (
    "trace_id, session_id, task_id, agent_name, source, upload_id, upload_ids, name, "
    "start_time, end_time, wall_ms, span_count, llm_calls, tool_calls, tool_errors, turns, "
    "models, primary_model, tier, escalated, input_tokens, output_tokens, reasoning_tokens, "
    "cache_read_tokens, cache_write_tokens, token_calls, cost_usd, cost_source, vram_gb_min, "
    "ttft_ms, ttft_calls, model_ms, tool_ms, idle_ms, outcome, outcome_inferred, score"
)

REFRESH_SQL = f"""
INSERT INTO trajectories ({ROLLUP_COLUMNS})
WITH scoped AS (FROM refresh_spans),
ordered AS (
    SELECT s.*,
           row_number() OVER (PARTITION BY s.trace_id
               ORDER BY s.start_time NULLS LAST, s.seq NULLS LAST, s.span_id) AS ord
    FROM scoped s
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
        max(tier_rank) AS top_rank,
        CASE WHEN count(tier_rank) > 0 THEN coalesce(bool_or(tier_rank > lowest_before), false) END
            AS escalated,
        sum(input_tokens) AS input_tokens,
        sum(output_tokens) AS output_tokens,
        sum(reasoning_tokens) AS reasoning_tokens,
        sum(cache_read_tokens) AS cache_read_tokens,
        sum(cache_write_tokens) AS cache_write_tokens,
        count(*) FILTER (WHERE input_tokens IS NOT NULL AND output_tokens IS NOT NULL) AS token_calls,
        sum(call_usd) AS cost_usd,
        CASE
            WHEN count(computed_usd) = count(*) THEN 'computed'
            WHEN count(computed_usd) = 0 AND count(cost_usd) = count(*) THEN 'reported'
            WHEN count(call_usd) > 0 THEN 'partial'
        END AS cost_source,
        sum(call_vram_gb_min) AS vram_gb_min,
        sum(call_ttft_ms) AS ttft_ms,
        count(call_ttft_ms) AS ttft_calls,
        bool_or(status = 'error' AND from_end = 1) AS final_call_failed
    FROM llm GROUP BY trace_id
), roots AS (
    SELECT trace_id, arg_min(status, ord) AS root_status, arg_min(name, ord) AS root_name
    FROM ordered WHERE parent_id IS NULL OR parent_id = '' GROUP BY trace_id
), {INTERVAL_UNION_CTES}, {TIME_PARTS_CTE}
SELECT
    o.trace_id,
    arg_min(o.session_id, o.ord) FILTER (WHERE o.session_id IS NOT NULL),
    arg_min(o.task_id, o.ord) FILTER (WHERE o.task_id IS NOT NULL),
    arg_min(o.agent_name, o.ord) FILTER (WHERE o.agent_name IS NOT NULL),
    arg_min(o.source, o.ord),
    arg_min(o.upload_id, o.ord),
    list_sort(list_distinct(list(o.upload_id) FILTER (WHERE o.upload_id IS NOT NULL))),
    coalesce(any_value(r.root_name), arg_min(o.name, o.ord)),
    min(o.start_time),
    max(o.end_time),
    any_value(t.wall_ms),
    count(*),
    coalesce(any_value(l.llm_calls), 0),
    count(*) FILTER (WHERE o.kind = 'tool'),
    count(*) FILTER (WHERE o.kind = 'tool' AND o.status = 'error'),
    coalesce(any_value(l.llm_calls), 0),
    any_value(mo.models),
    any_value(mo.primary_model),
    {TIER_NAME_SQL.format(col="any_value(l.top_rank)")},
    any_value(l.escalated),
    any_value(l.input_tokens),
    any_value(l.output_tokens),
    any_value(l.reasoning_tokens),
    any_value(l.cache_read_tokens),
    any_value(l.cache_write_tokens),
    coalesce(any_value(l.token_calls), 0),
    any_value(l.cost_usd),
    any_value(l.cost_source),
    any_value(l.vram_gb_min),
    any_value(l.ttft_ms),
    coalesce(any_value(l.ttft_calls), 0),
    any_value(t.model_ms),
    any_value(t.tool_ms),
    any_value(t.idle_ms),
    CASE
        WHEN max(o.score) IS NOT NULL THEN CASE WHEN max(o.score) >= 0.5 THEN 'success' ELSE 'failure' END
        WHEN any_value(r.root_status) = 'error' OR any_value(l.final_call_failed) THEN 'error'
        WHEN coalesce(any_value(l.llm_calls), 0) > 0 THEN 'success'
        ELSE 'unknown'
    END,
    max(o.score) IS NULL AND coalesce(any_value(l.llm_calls), 0) > 0
        AND NOT coalesce(any_value(r.root_status) = 'error' OR any_value(l.final_call_failed), false),
    max(o.score)
FROM ordered o
LEFT JOIN llm_totals l USING (trace_id)
LEFT JOIN model_order mo USING (trace_id)
LEFT JOIN roots r USING (trace_id)
LEFT JOIN times t USING (trace_id)
GROUP BY o.trace_id
"""

DELETE_SQL = "DELETE FROM trajectories WHERE trace_id IN (SELECT trace_id FROM affected)"
ALL_TRACE_IDS_SQL = "SELECT DISTINCT trace_id FROM spans ORDER BY trace_id"


def affected(cur: duckdb.DuckDBPyConnection, trace_ids: Sequence[str]):
    """Expose `trace_ids` to the refresh SQL as the relation `affected` (a context manager)."""
    return registered(
        cur, "affected", pa.table({"trace_id": pa.array(list(trace_ids), pa.string())})
    )


def rebuild_trajectories(cur: duckdb.DuckDBPyConnection) -> None:
    """Delete and rebuild the rows of the traces in `affected` (already registered), from
    `refresh_spans` (analysis.stage, already staged)."""
    cur.execute(DELETE_SQL)
    cur.execute(REFRESH_SQL)
    refresh_task_keys(cur)


def refresh_trajectories(cur: duckdb.DuckDBPyConnection, trace_ids: Sequence[str]) -> None:
    """Recompute only the `trajectories` rows of `trace_ids` (inside the write transaction)."""
    with affected(cur, trace_ids), staged_spans(cur):
        rebuild_trajectories(cur)


def all_trace_ids(cur: duckdb.DuckDBPyConnection) -> list[str]:
    return [row[0] for row in cur.execute(ALL_TRACE_IDS_SQL).fetchall()]


def refresh_all(cur: duckdb.DuckDBPyConnection) -> None:
    """Recompute every rollup (trajectories, turns, findings, verdicts), e.g. after a price
    or tier edit. Run it in the same transaction as the edit so readers never see a mix."""
    from analysis.refresh import refresh_for_traces

    refresh_for_traces(cur, all_trace_ids(cur))
