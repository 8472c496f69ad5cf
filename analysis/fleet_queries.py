"""Typed reads for the fleet pages (Overview, Waste, Models & cost, Bigger model?).

What `analysis.queries` and `analysis.fleet` do not already answer: figures per day,
histograms binned in SQL (so a page sends a few dozen bars, not one value per trajectory),
verdict counts, the trajectories behind one bar of a waste chart, runs that a smaller tier
could have done, tasks run on more than one tier, and each escalation split at the switch.
All of them read the rollup tables (`trajectories`, `turns`, `findings`, `verdicts`), never
`spans`, with the shared trajectory filter as bound parameters.
"""

from __future__ import annotations

import duckdb
import polars as pl

from analysis.cost import TIER_NAME_SQL, TIER_RANK_SQL
from analysis.filters import NO_FILTER, TrajectoryFilter
from analysis.fleet import WASTE_GROUPS, escalation_events
from analysis.sqlread import read_frame
from analysis.verdicts import VERDICTS

JUDGED = "('success', 'failure', 'error')"
UTC_DAY = "CAST(timezone('UTC', start_time) AS DATE)"

DAILY_SQL = f"""
SELECT {UTC_DAY} AS day,
    count(*) AS trajectories,
    count(*) FILTER (WHERE outcome IN {JUDGED}) AS judged,
    count(*) FILTER (WHERE outcome = 'success') AS successes,
    count(cost_usd) AS with_cost,
    sum(cost_usd) AS cost_usd,
    count(waste_usd) AS with_waste_usd,
    sum(waste_usd) AS waste_usd,
    CAST(sum(waste_tokens) AS DOUBLE) AS waste_tokens
FROM trajectories {{where}}
GROUP BY day ORDER BY day
"""

# measure -> (column, counted in whole units)
HISTOGRAM_MEASURES = {
    "wall_ms": ("wall_ms", False),
    "turns": ("turns", True),
    "cost_usd": ("cost_usd", False),
}
HISTOGRAM_SQL = """
WITH v AS (SELECT CAST({column} AS DOUBLE) AS x FROM trajectories {where}),
r AS (SELECT min(x) AS lo, max(x) AS hi FROM v),
w AS (SELECT lo, {width} AS width FROM r)
SELECT w.lo + b.bin * w.width AS bin_start, w.lo + (b.bin + 1) * w.width AS bin_end, b.trajectories
FROM (SELECT {bin} AS bin, count(*) AS trajectories FROM v, w WHERE x IS NOT NULL GROUP BY bin) b, w
ORDER BY bin_start
"""
CONTINUOUS_WIDTH = "CASE WHEN hi > lo THEN (hi - lo) / ? ELSE 1 END"
CONTINUOUS_BIN = "least(CAST(floor((x - w.lo) / w.width) AS BIGINT), ? - 1)"
WHOLE_WIDTH = "greatest(1, ceil((hi - lo + 1) / ?))"
WHOLE_BIN = "CAST(floor((x - w.lo) / w.width) AS BIGINT)"

ESCALATION_COUNT_SQL = """
SELECT count(*) FILTER (WHERE escalated), count(escalated) FROM trajectories {where}
"""

VERDICT_COUNTS_SQL = """
SELECT verdict, count(*) AS trajectories, count(cost_usd) AS with_cost, sum(cost_usd) AS cost_usd
FROM trajectories {where} GROUP BY verdict
"""

# The value a waste group is compared with; a day arrives as ISO text.
GROUP_PARAM = {"day": "CAST(? AS DATE)"}
WASTE_BEHIND_SQL = """
SELECT t.trace_id, t.task_key, t.agent_name, t.primary_model, t.start_time, t.outcome,
    t.verdict, t.cost_usd, count(*) AS findings,
    CASE WHEN count(f.tokens) = count(*) THEN CAST(sum(f.tokens) AS BIGINT) END
        AS group_waste_tokens,
    CASE WHEN count(f.usd) = count(*) THEN sum(f.usd) END AS group_waste_usd,
    t.waste_tokens, t.waste_usd
FROM findings f JOIN trajectories t USING (trace_id)
WHERE f.trace_id IN ({scope}) AND {group} = {param}
GROUP BY ALL
ORDER BY group_waste_usd DESC NULLS LAST, group_waste_tokens DESC NULLS LAST, t.trace_id
LIMIT ?
"""

# Non-escalated runs with a known tier and outcome: the siblings verdicts are judged against.
SIBLING_RUNS_CTE = f"""
runs AS (
    SELECT trace_id, task_key, primary_model, tier, outcome, cost_usd, wall_ms, turns,
           start_time, verdict, {TIER_RANK_SQL.format(col="tier")} AS rank
    FROM trajectories
    WHERE task_key IS NOT NULL AND escalated = false AND outcome IN {JUDGED}
      AND tier IN ('small', 'medium', 'large')
)"""
OVER_PROVISIONED_SQL = f"""
WITH {SIBLING_RUNS_CTE}, pairs AS (
    SELECT o.trace_id, o.task_key, o.primary_model AS model, o.tier, o.outcome, o.cost_usd,
        o.wall_ms, o.turns,
        count(*) AS smaller_runs,
        count(*) FILTER (WHERE s.outcome = 'success') AS smaller_successes,
        avg(s.cost_usd) FILTER (WHERE s.outcome = 'success') AS smaller_cost_usd,
        avg(s.wall_ms) FILTER (WHERE s.outcome = 'success') AS smaller_wall_ms,
        arg_min(s.primary_model, (s.outcome <> 'success', s.start_time, s.trace_id))
            AS smaller_model,
        arg_min(s.trace_id, (s.outcome <> 'success', s.start_time, s.trace_id)) AS smaller_trace_id
    FROM runs o JOIN runs s ON s.task_key = o.task_key AND s.rank < o.rank
    WHERE o.verdict = 'over_provisioned' AND o.trace_id IN ({{scope}})
    GROUP BY ALL
)
SELECT *, cost_usd - smaller_cost_usd AS extra_cost_usd FROM pairs
ORDER BY extra_cost_usd DESC NULLS LAST, trace_id
"""

TIER_PAIRS_SQL = f"""
WITH {SIBLING_RUNS_CTE},
spread AS (
    SELECT task_key, min(rank) AS lo, max(rank) AS hi FROM runs
    GROUP BY task_key HAVING min(rank) < max(rank)
)
SELECT r.task_key,
    {TIER_NAME_SQL.format(col="any_value(lo)")} AS smaller_tier,
    count(*) FILTER (WHERE rank = lo) AS smaller_runs,
    count(*) FILTER (WHERE rank = lo AND outcome = 'success') AS smaller_successes,
    avg(cost_usd) FILTER (WHERE rank = lo) AS smaller_cost_usd,
    avg(wall_ms) FILTER (WHERE rank = lo) AS smaller_wall_ms,
    arg_min(primary_model, (outcome <> 'success', start_time, trace_id)) FILTER (WHERE rank = lo)
        AS smaller_model,
    arg_min(trace_id, (outcome <> 'success', start_time, trace_id)) FILTER (WHERE rank = lo)
        AS smaller_trace_id,
    {TIER_NAME_SQL.format(col="any_value(hi)")} AS larger_tier,
    count(*) FILTER (WHERE rank = hi) AS larger_runs,
    count(*) FILTER (WHERE rank = hi AND outcome = 'success') AS larger_successes,
    avg(cost_usd) FILTER (WHERE rank = hi) AS larger_cost_usd,
    avg(wall_ms) FILTER (WHERE rank = hi) AS larger_wall_ms,
    arg_min(primary_model, (outcome <> 'success', start_time, trace_id)) FILTER (WHERE rank = hi)
        AS larger_model,
    arg_min(trace_id, (outcome <> 'success', start_time, trace_id)) FILTER (WHERE rank = hi)
        AS larger_trace_id,
    list(DISTINCT verdict ORDER BY verdict) FILTER (WHERE rank = hi) AS larger_verdicts
FROM runs r JOIN spread USING (task_key)
WHERE r.rank IN (lo, hi)
  AND r.task_key IN (SELECT task_key FROM trajectories WHERE trace_id IN ({{scope}}))
GROUP BY r.task_key
ORDER BY r.task_key
"""

# Each escalated run split at its first higher-tier call: cost, time and waste on either side.
# A side's cost or waste is unknown (NULL) when any of its turns has it unknown.
ESCALATION_PHASES_SQL = """
WITH split AS (
    SELECT v.trace_id, tu.turn AS at_turn
    FROM verdicts v JOIN trajectories t USING (trace_id)
    JOIN turns tu ON tu.trace_id = v.trace_id
        AND tu.span_id = json_extract_string(v.evidence, '$.escalation_span_id')
    WHERE t.escalated AND v.trace_id IN ({scope})
), sides AS (
    SELECT tu.trace_id, tu.turn < s.at_turn AS before, count(*) AS turns,
        CASE WHEN count(tu.cost_usd) = count(*) THEN sum(tu.cost_usd) END AS cost_usd,
        CASE WHEN count(tu.waste_tokens) = count(*) THEN CAST(sum(tu.waste_tokens) AS BIGINT) END
            AS waste_tokens,
        count(*) FILTER (WHERE tu.stalled) AS stalled_turns,
        CAST(sum(tu.tool_errors) AS BIGINT) AS tool_errors,
        max(tu.end_offset_ms) AS ends_at_ms
    FROM turns tu JOIN split s USING (trace_id) GROUP BY ALL
)
SELECT b.trace_id,
    b.cost_usd AS cost_before_usd, a.cost_usd AS cost_after_usd,
    b.ends_at_ms AS ms_before, t.wall_ms - b.ends_at_ms AS ms_after,
    b.waste_tokens AS waste_tokens_before, a.waste_tokens AS waste_tokens_after,
    b.tool_errors AS tool_errors_before, a.tool_errors AS tool_errors_after
FROM sides b JOIN sides a ON a.trace_id = b.trace_id AND NOT a.before
JOIN trajectories t ON t.trace_id = b.trace_id
WHERE b.before
"""


def _where_and(flt: TrajectoryFilter, clause: str) -> tuple[str, list]:
    where, params = flt.where()
    return (f"{where} AND {clause}" if where else f"WHERE {clause}"), params


def daily(con: duckdb.DuckDBPyConnection, flt: TrajectoryFilter = NO_FILTER) -> pl.DataFrame:
    """Per UTC day: runs, judged runs, successes, cost and waste (with how many are known)."""
    where, params = _where_and(flt, "start_time IS NOT NULL")
    return read_frame(con, DAILY_SQL.format(where=where), params)


def histogram(
    con: duckdb.DuckDBPyConnection,
    measure: str,
    flt: TrajectoryFilter = NO_FILTER,
    bins: int = 30,
) -> pl.DataFrame:
    """Trajectories per equal-width bin of `measure` (unknown values left out), non-empty bins."""
    if measure not in HISTOGRAM_MEASURES:
        raise ValueError(f"no histogram of {measure!r}; choose one of {sorted(HISTOGRAM_MEASURES)}")
    column, whole = HISTOGRAM_MEASURES[measure]
    where, params = flt.where()
    sql = HISTOGRAM_SQL.format(
        column=column,
        where=where,
        width=WHOLE_WIDTH if whole else CONTINUOUS_WIDTH,
        bin=WHOLE_BIN if whole else CONTINUOUS_BIN,
    )
    return read_frame(con, sql, [*params, bins] if whole else [*params, bins, bins])


def escalation_count(
    con: duckdb.DuckDBPyConnection, flt: TrajectoryFilter = NO_FILTER
) -> tuple[int, int]:
    """(escalated runs, runs whose escalation is known: some call has a known tier)."""
    where, params = flt.where()
    with con.cursor() as cur:
        escalated, known = cur.execute(ESCALATION_COUNT_SQL.format(where=where), params).fetchone()
    return escalated, known


def verdict_counts(
    con: duckdb.DuckDBPyConnection, flt: TrajectoryFilter = NO_FILTER
) -> pl.DataFrame:
    """Trajectories and their cost per verdict, in the order verdicts are defined."""
    where, params = flt.where()
    frame = read_frame(con, VERDICT_COUNTS_SQL.format(where=where), params)
    order = {verdict: index for index, verdict in enumerate(VERDICTS)}
    return (
        frame.with_columns(
            order=pl.col("verdict").replace_strict(order, default=len(order), return_dtype=pl.Int64)
        )
        .sort("order", "verdict", nulls_last=True)
        .drop("order")
    )


def waste_behind(
    con: duckdb.DuckDBPyConnection,
    by: str,
    key: str,
    flt: TrajectoryFilter = NO_FILTER,
    limit: int = 200,
) -> pl.DataFrame:
    """The trajectories whose findings make up one group of `analysis.fleet.waste_by`
    (`by` = category, agent, model or day), most wasteful first, with that group's share."""
    if by not in WASTE_GROUPS:
        raise ValueError(f"cannot group waste by {by!r}; choose one of {sorted(WASTE_GROUPS)}")
    scope, params = flt.scope()
    sql = WASTE_BEHIND_SQL.format(
        scope=scope, group=WASTE_GROUPS[by], param=GROUP_PARAM.get(by, "?")
    )
    return read_frame(con, sql, [*params, key, limit])


def over_provisioned(
    con: duckdb.DuckDBPyConnection, flt: TrajectoryFilter = NO_FILTER
) -> pl.DataFrame:
    """Each over-provisioned run beside the smaller-tier runs of its task: what those cost,
    the one to compare with (a success first, then the earliest), and the extra spent."""
    scope, params = flt.scope()
    return read_frame(con, OVER_PROVISIONED_SQL.format(scope=scope), params)


def tier_pairs(con: duckdb.DuckDBPyConnection, flt: TrajectoryFilter = NO_FILTER) -> pl.DataFrame:
    """Tasks whose non-escalated runs span more than one tier: the lowest and the highest
    tier side by side, each with a representative run (a success first, then the earliest)."""
    scope, params = flt.scope()
    return read_frame(con, TIER_PAIRS_SQL.format(scope=scope), params)


def escalations(con: duckdb.DuckDBPyConnection, flt: TrajectoryFilter = NO_FILTER) -> pl.DataFrame:
    """`analysis.fleet.escalation_events` with cost, time, waste and tool errors before and
    after the first higher-tier call."""
    events = escalation_events(con, flt)
    scope, params = flt.scope()
    phases = read_frame(con, ESCALATION_PHASES_SQL.format(scope=scope), params)
    return events.join(phases, on="trace_id", how="left")
