"""Typed reads for pages: KPIs, the trajectory list and one trajectory's detail.

Every function reads the rollup tables (`trajectories`, `turns`, `findings`, `verdicts`)
maintained at ingest, never re-aggregates `spans` (except a single trace's own spans), so
they stay fast at a million spans. Each takes the process connection and opens its own
cursor; SQL lives in the named constants below.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import duckdb
import polars as pl

from analysis.filters import NO_FILTER, TrajectoryFilter
from analysis.sqlread import read_frame
from store.writes import OTLP_ENDPOINT_WHO

# A run's waste is known in tokens when every turn recorded its token and cache counts
# (`waste_tokens` is NULL otherwise); `{t}` is the trajectories table's alias and a dot, or "".
WASTE_MEASURED = (
    "{t}waste_tokens IS NOT NULL AND {t}input_tokens IS NOT NULL AND {t}output_tokens IS NOT NULL"
)
KPI_SQL = f"""
SELECT
    count(*) AS trajectories,
    count(*) FILTER (WHERE outcome IN ('success', 'failure', 'error')) AS judged,
    count(*) FILTER (WHERE outcome = 'success') AS successes,
    count(*) FILTER (WHERE outcome = 'success' AND outcome_inferred) AS inferred_successes,
    count(score) AS scored,
    avg(score) AS mean_score,
    count(wall_ms) AS with_wall,
    median(wall_ms) AS median_wall_ms,
    median(turns) AS median_turns,
    count(*) FILTER (WHERE input_tokens IS NOT NULL AND output_tokens IS NOT NULL) AS with_tokens,
    sum(input_tokens + output_tokens) AS total_tokens,
    count(cost_usd) AS with_cost,
    sum(cost_usd) AS cost_usd,
    count(*) FILTER (WHERE {WASTE_MEASURED.format(t="")}) AS with_waste,
    sum(waste_tokens) FILTER (WHERE {WASTE_MEASURED.format(t="")}) AS waste_tokens,
    sum(input_tokens + output_tokens) FILTER (WHERE {WASTE_MEASURED.format(t="")})
        AS waste_base_tokens,
    sum(waste_usd) AS waste_usd,
    count(*) FILTER (WHERE escalated) AS escalated,
    count(*) FILTER (WHERE waste_turns > 0) AS with_waste_turns,
    count(waste_usd) AS with_waste_usd,
    sum(cost_usd) FILTER (WHERE waste_usd IS NOT NULL) AS waste_base_usd
FROM trajectories {{where}}
"""

LIST_COLUMNS = """trace_id, start_time, agent_name, primary_model, models, tier, task_key,
    session_id, source, wall_ms, model_ms, tool_ms, idle_ms, ttft_ms, turns, llm_calls,
    tool_calls, tool_errors, input_tokens, output_tokens, reasoning_tokens, cache_read_tokens,
    cache_write_tokens, cost_usd, cost_source, outcome, outcome_inferred, score, escalated,
    verdict, waste_tokens, waste_usd, waste_turns, waste_stagnation_tokens,
    waste_error_retry_tokens, waste_repeated_tokens, waste_uncached_tokens, cache_hit_rate,
    reasoning_share, context_growth, io_ratio, task_text"""
TRAJECTORY_LIST_SQL = f"""
SELECT {LIST_COLUMNS} FROM trajectories {{where}}
ORDER BY {{order}} NULLS LAST, trace_id LIMIT ? OFFSET ?
"""
SORTABLE = {
    "start_time": "start_time",
    "wall_ms": "wall_ms",
    "turns": "turns",
    "cost_usd": "cost_usd",
    "tokens": "input_tokens + output_tokens",
    "waste_tokens": "waste_tokens",
    "waste_usd": "waste_usd",
    "score": "score",
    "trace_id": "trace_id",
}
COUNT_SQL = "SELECT count(*) FROM trajectories {where}"
CHOICES_SQL = f"""
SELECT
    list(DISTINCT agent_name ORDER BY agent_name) FILTER (WHERE agent_name IS NOT NULL),
    (SELECT list(DISTINCT m ORDER BY m) FROM (SELECT unnest(models) AS m FROM trajectories)),
    list(DISTINCT outcome ORDER BY outcome) FILTER (WHERE outcome IS NOT NULL),
    list(DISTINCT verdict ORDER BY verdict) FILTER (WHERE verdict IS NOT NULL),
    list(DISTINCT source ORDER BY source) FILTER (WHERE source IS NOT NULL),
    -- files only: an OTel exporter's batches, one upload each, would be thousands a day
    (SELECT list(filename || ' · ' || upload_id ORDER BY created_at DESC) FROM uploads
     WHERE who IS DISTINCT FROM '{OTLP_ENDPOINT_WHO}')
FROM trajectories
"""
TRAJECTORY_SQL = "SELECT * FROM trajectories WHERE trace_id = ?"
SPANS_SQL = """
SELECT * EXCLUDE (attributes), attributes::VARCHAR AS attributes FROM spans WHERE trace_id = ?
ORDER BY start_time NULLS LAST, seq NULLS LAST, CASE kind WHEN 'llm' THEN 0 ELSE 1 END, span_id
"""
TURNS_SQL = "SELECT * FROM turns WHERE trace_id = ? ORDER BY turn"
FINDINGS_SQL = """
SELECT turn, span_id, category, tokens, usd, evidence::VARCHAR AS evidence FROM findings
WHERE trace_id = ? ORDER BY turn, category
"""
VERDICT_SQL = "SELECT verdict, task_key, tier, evidence::VARCHAR FROM verdicts WHERE trace_id = ?"


@dataclass(frozen=True)
class Kpis:
    trajectories: int
    judged: int
    successes: int
    inferred_successes: int
    scored: int
    mean_score: float | None
    with_wall: int
    median_wall_ms: float | None
    median_turns: float | None
    with_tokens: int
    total_tokens: int | None
    with_cost: int
    cost_usd: float | None
    with_waste: int
    waste_tokens: int | None
    waste_base_tokens: int | None
    waste_usd: float | None
    escalated: int
    with_waste_turns: int
    with_waste_usd: int
    waste_base_usd: float | None  # cost of the runs whose waste is known in dollars

    @property
    def success_rate(self) -> float | None:
        return self.successes / self.judged if self.judged else None

    @property
    def waste_share(self) -> float | None:
        """Waste tokens / tokens over trajectories where both are known; None if none are."""
        if not self.with_waste or not self.waste_base_tokens:
            return None
        return (self.waste_tokens or 0) / self.waste_base_tokens

    @property
    def waste_cost_share(self) -> float | None:
        """Waste USD / cost over trajectories where both are known; None if none are."""
        if not self.with_waste_usd or not self.waste_base_usd:
            return None
        return (self.waste_usd or 0) / self.waste_base_usd


@dataclass(frozen=True)
class FilterChoices:
    """The values present in the store for each sidebar filter."""

    agents: list[str]
    models: list[str]
    outcomes: list[str]
    verdicts: list[str]
    sources: list[str]
    uploads: list[str]  # "filename · upload_id"


@dataclass(frozen=True)
class Verdict:
    verdict: str
    task_key: str | None
    tier: str | None
    evidence: dict[str, Any]


def kpis(con: duckdb.DuckDBPyConnection, flt: TrajectoryFilter = NO_FILTER) -> Kpis:
    where, params = flt.where()
    with con.cursor() as cur:
        row = cur.execute(KPI_SQL.format(where=where), params).fetchone()
    return Kpis(*row)


def trajectory_list(
    con: duckdb.DuckDBPyConnection,
    flt: TrajectoryFilter = NO_FILTER,
    sort: str = "start_time",
    descending: bool = True,
    limit: int = 500,
    offset: int = 0,
) -> pl.DataFrame:
    if sort not in SORTABLE:
        raise ValueError(f"cannot sort by {sort!r}; choose one of {sorted(SORTABLE)}")
    where, params = flt.where()
    order = f"{SORTABLE[sort]} {'DESC' if descending else 'ASC'}"
    sql = TRAJECTORY_LIST_SQL.format(where=where, order=order)
    return read_frame(con, sql, [*params, limit, offset])


def filter_choices(con: duckdb.DuckDBPyConnection) -> FilterChoices:
    with con.cursor() as cur:
        row = cur.execute(CHOICES_SQL).fetchone()
    return FilterChoices(*(list(values or []) for values in row))


def trajectory_count(con: duckdb.DuckDBPyConnection, flt: TrajectoryFilter = NO_FILTER) -> int:
    where, params = flt.where()
    with con.cursor() as cur:
        return cur.execute(COUNT_SQL.format(where=where), params).fetchone()[0]


def trajectory(con: duckdb.DuckDBPyConnection, trace_id: str) -> dict[str, Any] | None:
    """The rollup row of one trajectory as a dict, or None when it does not exist."""
    frame = read_frame(con, TRAJECTORY_SQL, [trace_id])
    return frame.row(0, named=True) if frame.height else None


def _by_trace(con: duckdb.DuckDBPyConnection, sql: str, trace_id: str) -> pl.DataFrame:
    return read_frame(con, sql, [trace_id])


def spans(con: duckdb.DuckDBPyConnection, trace_id: str) -> pl.DataFrame:
    return _by_trace(con, SPANS_SQL, trace_id)


def turn_table(con: duckdb.DuckDBPyConnection, trace_id: str) -> pl.DataFrame:
    """One row per LLM call: times, tokens, cost and its source, waste, stalled flag."""
    return _by_trace(con, TURNS_SQL, trace_id)


def findings(con: duckdb.DuckDBPyConnection, trace_id: str) -> pl.DataFrame:
    return _by_trace(con, FINDINGS_SQL, trace_id)


def verdict(con: duckdb.DuckDBPyConnection, trace_id: str) -> Verdict | None:
    with con.cursor() as cur:
        row = cur.execute(VERDICT_SQL, [trace_id]).fetchone()
    if row is None:
        return None
    return Verdict(row[0], row[1], row[2], json.loads(row[3]) if row[3] else {})
