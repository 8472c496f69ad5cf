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

# The union of a trace's intervals, per class, in one ordered pass: in start order, each
# interval adds only the part of it that ends past every interval before it.
INTERVAL_UNION_CTES = """
timed AS (
    SELECT trace_id, 'model' AS cls, start_time, end_time FROM scoped
    WHERE kind = 'llm' AND start_time IS NOT NULL AND end_time IS NOT NULL
    UNION ALL
    SELECT trace_id, 'busy' AS cls, start_time, end_time FROM scoped
    WHERE kind IN ('llm', 'tool') AND start_time IS NOT NULL AND end_time IS NOT NULL
), reached AS (
    SELECT trace_id, cls, epoch_us(start_time) AS a, epoch_us(end_time) AS b,
        max(epoch_us(end_time)) OVER (
            PARTITION BY trace_id, cls ORDER BY start_time, end_time
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reach
    FROM timed
), unions AS (
    SELECT trace_id,
        coalesce(sum(greatest(b - greatest(a, coalesce(reach, a)), 0)) FILTER (WHERE cls = 'model'), 0) / 1000.0 AS model_union_ms,
        coalesce(sum(greatest(b - greatest(a, coalesce(reach, a)), 0)) FILTER (WHERE cls = 'busy'), 0) / 1000.0 AS busy_union_ms
    FROM reached GROUP BY trace_id
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

NO_NUMBER = 9223372036854775807  # sorts after every real time and seq

REFRESH_SQL = f"""
INSERT INTO trajectories ({ROLLUP_COLUMNS})
WITH scoped AS NOT MATERIALIZED (FROM refresh_spans),
ordered AS (
    -- A span's place in its trace (start time, then seq, then span id; unknowns last) as a
    -- sortable key: min/arg_min over it need no window, whose sort would carry every column.
    SELECT s.*,
           {{'at': coalesce(epoch_ns(s.start_time), {NO_NUMBER}), 'seq': coalesce(s.seq, {NO_NUMBER}),
             'span_id': s.span_id}} AS ord
    FROM scoped s
), llm AS (
    FROM ordered WHERE kind = 'llm'
), escalations AS (
    SELECT trace_id, tier_rank, tier_rank > min(tier_rank) OVER (PARTITION BY trace_id
            ORDER BY ord ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS escalation
    FROM (SELECT trace_id, tier_rank, ord FROM llm)
), escalated AS (  -- unknown when no call has a known tier
    SELECT trace_id,
        CASE WHEN count(tier_rank) > 0 THEN coalesce(bool_or(escalation), false) END AS escalated
    FROM escalations GROUP BY trace_id
), model_order AS (
    SELECT trace_id, list(model ORDER BY first_ord) AS models,
           arg_min(model, {{'fewer_calls': -calls, 'first': first_ord}}) AS primary_model
    FROM (SELECT trace_id, model, min(ord) AS first_ord, count(*) AS calls
          FROM llm WHERE model IS NOT NULL GROUP BY trace_id, model)
    GROUP BY trace_id
), llm_totals AS (
    SELECT trace_id,
        count(*) AS llm_calls,
        max(tier_rank) AS top_rank,
        sum(input_tokens) AS input_tokens,
        sum(output_tokens) AS output_tokens,
        sum(reasoning_tokens) AS reasoning_tokens,
        sum(cache_read_tokens) AS cache_read_tokens,
        sum(cache_write_tokens) AS cache_write_tokens,
        count(*) FILTER (WHERE input_tokens IS NOT NULL AND output_tokens IS NOT NULL) AS token_calls,
        sum(call_usd) AS cost_usd,
        CASE
            -- a refused call ($0, analysis.cost) sides with either
            WHEN count(*) FILTER (WHERE computed_usd IS NOT NULL OR refused) = count(*)
                THEN 'computed'
            WHEN count(computed_usd) = 0
                 AND count(*) FILTER (WHERE cost_usd IS NOT NULL OR refused) = count(*)
                THEN 'reported'
            WHEN count(call_usd) > 0 THEN 'partial'
        END AS cost_source,
        sum(call_vram_gb_min) AS vram_gb_min,
        sum(call_ttft_ms) AS ttft_ms,
        count(call_ttft_ms) AS ttft_calls,
        arg_max(status, ord) = 'error' AS final_call_failed
    FROM llm GROUP BY trace_id
), roots AS (
    SELECT trace_id, arg_min(status, ord) AS root_status, arg_min(name, ord) AS root_name
    FROM ordered WHERE parent_id IS NULL OR parent_id = '' GROUP BY trace_id
), span_totals AS (
    SELECT trace_id,
        arg_min(session_id, ord) FILTER (WHERE session_id IS NOT NULL) AS session_id,
        arg_min(task_id, ord) FILTER (WHERE task_id IS NOT NULL) AS task_id,
        arg_min(agent_name, ord) FILTER (WHERE agent_name IS NOT NULL) AS agent_name,
        -- an agent span failed and no LLM call started after it: the run did not recover
        coalesce(max(end_time) FILTER (WHERE kind = 'agent' AND status = 'error')
                 > coalesce(max(start_time) FILTER (WHERE kind = 'llm'), '-infinity'::TIMESTAMP),
                 false) AS agent_failed,
        arg_min(source, ord) AS source,
        arg_min(upload_id, ord) AS upload_id,
        list_sort(list_distinct(list(upload_id) FILTER (WHERE upload_id IS NOT NULL))) AS upload_ids,
        arg_min(name, ord) AS first_name,
        min(start_time) AS start_time,
        max(end_time) AS end_time,
        count(*) AS span_count,
        count(*) FILTER (WHERE kind = 'tool') AS tool_calls,
        count(*) FILTER (WHERE kind = 'tool' AND status = 'error') AS tool_errors,
        max(score) AS score
    FROM ordered GROUP BY trace_id
), {INTERVAL_UNION_CTES}, {TIME_PARTS_CTE}
SELECT
    o.trace_id, o.session_id, o.task_id, o.agent_name, o.source, o.upload_id, o.upload_ids,
    coalesce(r.root_name, o.first_name),
    o.start_time, o.end_time, t.wall_ms, o.span_count,
    coalesce(l.llm_calls, 0), o.tool_calls, o.tool_errors, coalesce(l.llm_calls, 0),
    mo.models, mo.primary_model,
    {TIER_NAME_SQL.format(col="l.top_rank")},
    e.escalated,
    l.input_tokens, l.output_tokens, l.reasoning_tokens, l.cache_read_tokens,
    l.cache_write_tokens, coalesce(l.token_calls, 0), l.cost_usd, l.cost_source, l.vram_gb_min,
    l.ttft_ms, coalesce(l.ttft_calls, 0), t.model_ms, t.tool_ms, t.idle_ms,
    CASE
        WHEN o.score IS NOT NULL THEN CASE WHEN o.score >= 0.5 THEN 'success' ELSE 'failure' END
        WHEN r.root_status = 'error' OR l.final_call_failed OR o.agent_failed THEN 'error'
        WHEN coalesce(l.llm_calls, 0) > 0 THEN 'success'
        ELSE 'unknown'
    END,
    o.score IS NULL AND coalesce(l.llm_calls, 0) > 0
        AND NOT coalesce(r.root_status = 'error' OR l.final_call_failed OR o.agent_failed, false),
    o.score
FROM span_totals o
LEFT JOIN llm_totals l USING (trace_id)
LEFT JOIN model_order mo USING (trace_id)
LEFT JOIN escalated e USING (trace_id)
LEFT JOIN roots r USING (trace_id)
LEFT JOIN times t USING (trace_id)
-- Stored in trace order: the UPDATEs that follow in the same transaction (waste, verdicts)
-- then touch rows in runs instead of all over the table (572k spans: 0.2 s against 2 s).
ORDER BY o.trace_id
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
