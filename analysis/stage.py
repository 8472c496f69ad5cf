"""The spans of the touched traces, staged once per refresh with their prices applied.

Every rollup of a refresh (trajectories, turns) reads this one temporary table instead of
scanning `spans` again: the heavy text columns (input, output, attributes) are read once
here and reduced to what the rollups need (an output hash, time to first token).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress

import duckdb

from analysis.cost import (
    CALL_COST_SOURCE_SQL,
    CALL_COST_SQL,
    COMPUTED_COST_SQL,
    REFUSED_CALL_SQL,
    TTFT_ATTRS_SQL,
    TTFT_FROM_ATTRS_SQL,
    VRAM_GB_MIN_SQL,
    model_prices_cte,
)

# The rows of the affected traces found by rowid: a filter on rowid reaches the scan, so the
# text columns are read for those rows alone. Filtered on trace_id instead, a scan read the
# output and attributes of every stored span (100k new spans into a 1M-span store: 0.6 s,
# against 0.1 s; 50 trajectories of a live OTLP batch: 0.4 s, against 0.03 s).
AFFECTED_ROWIDS_SQL = "SELECT rowid FROM spans WHERE trace_id IN (SELECT trace_id FROM affected)"
SHORT_OUTPUT_CHARS = 16384  # longer replies are compared by hash, not by their text
# A call that recorded no response model (a failed call, mostly) is named after the model its
# request model resolved to in the same trajectory ("gpt-5-mini" -> "gpt-5-mini-2025-08-07"),
# so one model is not counted as two nor its failure read as a switch. Its span keeps both.
RESOLVED_MODEL_SQL = """CASE WHEN model = request_model THEN coalesce(
    min(CASE WHEN model <> request_model THEN model END)
        OVER (PARTITION BY trace_id, request_model), model) ELSE model END"""
STAGE_TABLE = "refresh_spans"

STAGE_SQL = f"""
CREATE OR REPLACE TEMP TABLE {STAGE_TABLE} AS
WITH read AS (
    SELECT rowid AS span_rowid, trace_id, span_id, parent_id, source, upload_id, name, kind,
           start_time, end_time, duration_ms, status, model, request_model, input_tokens,
           output_tokens,
           reasoning_tokens, cache_read_tokens, cache_write_tokens, cost_usd, tool_name,
           tool_args, agent_name, session_id, task_id, seq, score,
           input IS NOT NULL AS has_input,
           CASE WHEN kind IN ('llm', 'tool') THEN md5(output) END AS output_hash,
           kind = 'llm' AND length(output) <= {SHORT_OUTPUT_CHARS} AS short_output,
           CASE WHEN kind = 'llm' THEN {TTFT_ATTRS_SQL.format(col="attributes")} END AS ttft_attrs
    FROM spans WHERE rowid IN ({AFFECTED_ROWIDS_SQL})
), scoped AS (
    SELECT * EXCLUDE (request_model) REPLACE ({RESOLVED_MODEL_SQL} AS model) FROM read
), {model_prices_cte("scoped")}
SELECT s.* EXCLUDE (ttft_attrs), p.tier, p.tier_rank,
       ({COMPUTED_COST_SQL}) AS computed_usd,
       {CALL_COST_SQL} AS call_usd,
       {CALL_COST_SOURCE_SQL} AS call_cost_source,
       {REFUSED_CALL_SQL.format(s="s.")} AS refused,
       {VRAM_GB_MIN_SQL} AS call_vram_gb_min,
       {TTFT_FROM_ATTRS_SQL.format(attrs="s.ttft_attrs")} AS call_ttft_ms,
       p.input_per_mtok, coalesce(p.cached_input_per_mtok, p.input_per_mtok) AS cached_per_mtok
FROM scoped s LEFT JOIN model_prices p USING (model)
"""
DROP_STAGE_SQL = f"DROP TABLE IF EXISTS {STAGE_TABLE}"


@contextmanager
def staged_spans(cur: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """`refresh_spans`: every span of the traces in `affected`, for the block."""
    cur.execute(STAGE_SQL)
    try:
        yield
    except BaseException:
        with suppress(duckdb.Error):  # an aborted transaction refuses even the drop
            cur.execute(DROP_STAGE_SQL)
        raise
    cur.execute(DROP_STAGE_SQL)
