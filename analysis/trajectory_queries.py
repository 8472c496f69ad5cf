"""Typed reads for the per-trajectory pages: one run's turns, findings, spans and siblings.

`analysis.queries` holds the shared reads; these are the extra shapes the Trajectory and
Compare pages lay out: turns with their waste tags, findings with the earlier span each one
repeats, a light span list for the Gantt (no message text: a 2,000-span trace must not ship
its prompts to draw bars), one span in full for the inspector, and the other runs of the
same task. All read the rollup tables of one trace, or one trace's own spans.
"""

from __future__ import annotations

from typing import Any

import duckdb
import polars as pl

from analysis.sqlread import read_frame
from analysis.waste import CATEGORIES
from ingest.otlp.messages import tool_calls_and_results

SPAN_ORDER = (
    "start_time NULLS LAST, seq NULLS LAST, CASE kind WHEN 'llm' THEN 0 ELSE 1 END, span_id"
)
TIMELINE_SPANS_SQL = f"""
SELECT span_id, parent_id, name, kind, status, error_type, start_time, end_time, duration_ms,
       seq, model, input_tokens, output_tokens, tool_name, cost_usd
FROM spans WHERE trace_id = ? ORDER BY {SPAN_ORDER}
"""
LLM_OUTPUTS_SQL = """
SELECT output FROM spans WHERE trace_id = ? AND kind = 'llm' AND output IS NOT NULL
"""
SPAN_SQL = """
SELECT * EXCLUDE (attributes), attributes::VARCHAR AS attributes
FROM spans WHERE trace_id = ? AND span_id = ?
"""
TURN_ROWS_SQL = """
WITH tags AS (
    SELECT turn, string_agg(DISTINCT category, ', ' ORDER BY category) AS waste_tags
    FROM findings WHERE trace_id = ? GROUP BY turn
)
SELECT t.turn, t.span_id, t.model, t.tier, t.status, t.start_time, t.duration_ms, t.ttft_ms,
       t.input_tokens, t.cache_read_tokens, t.cache_write_tokens, t.output_tokens,
       t.reasoning_tokens, t.cost_usd, t.cost_source, t.tool_calls, t.tool_errors,
       t.context_growth, t.uncached_tokens, t.waste_tokens, t.waste_usd, t.stalled,
       coalesce(tags.waste_tags, '') AS waste_tags
FROM turns t LEFT JOIN tags USING (turn)
WHERE t.trace_id = ? ORDER BY t.turn
"""
# The span a finding repeats, per category (see docs/metrics.md, "Waste").
FINDING_ROWS_SQL = """
SELECT turn, span_id, category, tokens, usd,
       CASE category
           WHEN 'stagnation' THEN evidence->>'$.first_span_id'
           WHEN 'error_retry' THEN evidence->>'$.calls[0].failed_span_id'
           WHEN 'repeated_tool_call' THEN evidence->>'$.calls[0].earlier_span_id'
           WHEN 'uncached_context' THEN evidence->>'$.previous_span_id'
       END AS repeats_span_id,
       CASE category
           WHEN 'stagnation' THEN evidence->>'$.rule'
           WHEN 'error_retry' THEN evidence->>'$.calls[0].tool_name'
           WHEN 'repeated_tool_call' THEN evidence->>'$.calls[0].tool_name'
       END AS detail,
       CASE WHEN category IN ('error_retry', 'repeated_tool_call')
           THEN json_array_length(evidence->'$.calls') END AS calls,
       evidence::VARCHAR AS evidence
FROM findings WHERE trace_id = ? ORDER BY turn, category
"""
SIBLINGS_SQL = """
SELECT s.trace_id, s.task_key, s.task_text, s.start_time, s.primary_model, s.models, s.tier, s.outcome, s.score,
       s.turns, s.wall_ms, s.cost_usd, s.waste_usd, s.verdict
FROM trajectories t JOIN trajectories s ON s.task_key = t.task_key AND s.trace_id <> t.trace_id
WHERE t.trace_id = ?
ORDER BY s.start_time NULLS LAST, s.trace_id
LIMIT ?
"""
MAX_SIBLINGS = 50
CATEGORY_ORDER = {category: rank for rank, category in enumerate(CATEGORIES)}


def timeline_spans(con: duckdb.DuckDBPyConnection, trace_id: str) -> pl.DataFrame:
    """The columns the Gantt and the span picker need, in the trajectory's order."""
    return read_frame(con, TIMELINE_SPANS_SQL, [trace_id])


def requested_tool_calls(con: duckdb.DuckDBPyConnection, trace_id: str) -> int:
    """Tool calls the model asked for in its replies. A run traced by an LLM-client
    instrumentation alone (the OpenAI client's, say) has no tool spans: its tools ran, untraced,
    and this is the only count of them there is."""
    with con.cursor() as cur:
        outputs = cur.execute(LLM_OUTPUTS_SQL, [trace_id]).fetchall()
    return sum(len(tool_calls_and_results(output)[0]) for (output,) in outputs)


def reported_cost(spans: pl.DataFrame) -> tuple[float | None, int]:
    """(the sum of the costs the source reported on a run's LLM calls, how many reported one),
    from its spans (`timeline_spans` or `queries.spans`): Langfuse, LangSmith or a harness
    price calls their own way."""
    reported = spans.filter((pl.col("kind") == "llm") & pl.col("cost_usd").is_not_null())
    return (reported["cost_usd"].sum() if reported.height else None), reported.height


def span(con: duckdb.DuckDBPyConnection, trace_id: str, span_id: str) -> dict[str, Any] | None:
    """One span with every canonical column (attributes as JSON text), or None."""
    frame = read_frame(con, SPAN_SQL, [trace_id, span_id])
    return frame.row(0, named=True) if frame.height else None


def turn_rows(con: duckdb.DuckDBPyConnection, trace_id: str) -> pl.DataFrame:
    """One row per LLM call with its waste categories as `waste_tags` ("" when none: a turn
    without findings is known clean, where NULL would read as not recorded)."""
    return read_frame(con, TURN_ROWS_SQL, [trace_id, trace_id])


def finding_rows(con: duckdb.DuckDBPyConnection, trace_id: str) -> pl.DataFrame:
    """Findings with `repeats_span_id`: the earlier span each one repeats or re-sends."""
    return read_frame(con, FINDING_ROWS_SQL, [trace_id])


def waste_summary(findings: pl.DataFrame) -> pl.DataFrame:
    """Per waste category of a run's `finding_rows`: turns claimed, tokens and USD, with how
    many findings lack them (a sum of none is unknown, not zero)."""
    known = pl.col("tokens").count() > 0, pl.col("usd").count() > 0
    return (
        findings.group_by("category")
        .agg(
            turns=pl.col("turn").n_unique().cast(pl.Int64),
            tokens=pl.when(known[0]).then(pl.col("tokens").sum()).cast(pl.Int64),
            unknown_tokens=pl.col("tokens").null_count().cast(pl.Int64),
            usd=pl.when(known[1]).then(pl.col("usd").sum()),
            unknown_usd=pl.col("usd").null_count().cast(pl.Int64),
        )
        .sort(pl.col("category").replace_strict(CATEGORY_ORDER, default=len(CATEGORY_ORDER)))
    )


def models_in_order(turns: pl.DataFrame) -> pl.DataFrame:
    """The models a run called (its `turn_rows`), in the order it first called them, with
    tier, calls and their cost (unknown when no call's cost is)."""
    return (
        turns.group_by("model", "tier")
        .agg(
            calls=pl.len().cast(pl.Int64),
            first_turn=pl.col("turn").min(),
            cost_usd=pl.when(pl.col("cost_usd").count() > 0).then(pl.col("cost_usd").sum()),
        )
        .sort("first_turn")
    )


def context_growth(turns: pl.DataFrame) -> pl.DataFrame:
    """Per turn of a run's `turn_rows`: its context and the input sent so far (unknown until
    a turn's input is known; unknown turns add nothing)."""
    sent = pl.col("input_tokens")
    return turns.sort("turn").select(
        "turn", "span_id", "model", "input_tokens", "output_tokens", "cache_read_tokens",
        "context_growth", "uncached_tokens",
        cumulative_input_tokens=pl.when(sent.is_not_null().cum_sum() > 0).then(
            sent.fill_null(0).cum_sum()
        ),
    )  # fmt: skip


def siblings(
    con: duckdb.DuckDBPyConnection, trace_id: str, limit: int = MAX_SIBLINGS
) -> pl.DataFrame:
    """Other runs of the same task_key, oldest first."""
    return read_frame(con, SIBLINGS_SQL, [trace_id, limit])


ALIGNED_COLUMNS = (
    "model",
    "input_tokens",
    "cache_read_tokens",
    "output_tokens",
    "cost_usd",
    "tool_calls",
    "waste_tags",
)


def aligned_turns(a: pl.DataFrame, b: pl.DataFrame) -> pl.DataFrame:
    """Two runs' turn rows side by side on turn number (`a_*`, `b_*`; missing turns NULL)."""
    sides = [
        frame.select("turn", *(pl.col(c).alias(f"{side}_{c}") for c in ALIGNED_COLUMNS))
        for side, frame in (("a", a), ("b", b))
    ]
    return sides[0].join(sides[1], on="turn", how="full", coalesce=True).sort("turn")
