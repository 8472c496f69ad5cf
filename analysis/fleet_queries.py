"""Typed reads for the fleet pages (Overview, Waste, Models & cost, Bigger model?).

What `analysis.queries` and `analysis.fleet` do not already answer: figures per day,
histograms binned in SQL (so a page sends a few dozen bars, not one value per trajectory),
verdict counts, the trajectories behind one bar of a waste chart, runs that a smaller tier
could have done, tasks run on more than one tier, and each escalation split at the switch.
All of them read the rollup tables (`trajectories`, `turns`, `findings`, `verdicts`), never
`spans`, with the shared trajectory filter as bound parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from analysis.cost import TIER_RANK_SQL
from analysis.filters import NO_FILTER, TrajectoryFilter
from analysis.fleet import (
    TURN_OF_FINDING,
    UTC_DAY_SQL,
    WASTE_GROUPS,
    escalation_events,
    trajectory_scope,
)
from analysis.sqlread import read_frame
from analysis.verdicts import VERDICTS
from store.db import registered

JUDGED = "('success', 'failure', 'error')"
UTC_DAY = UTC_DAY_SQL.format(col="start_time")

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
# Bins span the values up to the 99th percentile when the largest is over TAIL_FACTOR times
# it: two runs of 1.5 h put 5,546 of 5,548 runs in one bar of 30. The bin that takes the
# values beyond says so (`open_ended`).
TAIL_FACTOR = 3
HISTOGRAM_SQL = """
WITH v AS (SELECT CAST({column} AS DOUBLE) AS x FROM trajectories {where}),
r AS (SELECT min(x) AS lo, max(x) AS top, quantile_cont(x, 0.99) AS p99 FROM v),
c AS (SELECT lo, CASE WHEN top > ? * p99 AND p99 > lo THEN p99 ELSE top END AS hi FROM r),
w AS (SELECT lo, hi, {width} AS width FROM c)
SELECT w.lo + b.bin * w.width AS bin_start, w.lo + (b.bin + 1) * w.width AS bin_end,
    b.trajectories, b.open_ended
FROM (SELECT {bin} AS bin, count(*) AS trajectories, bool_or(x > w.hi) AS open_ended
      FROM v, w WHERE x IS NOT NULL GROUP BY bin) b, w
ORDER BY bin_start
"""
CONTINUOUS_WIDTH = "CASE WHEN hi > lo THEN (hi - lo) / ? ELSE 1 END"
CONTINUOUS_BIN = "least(CAST(floor((x - w.lo) / w.width) AS BIGINT), ? - 1)"
WHOLE_WIDTH = "greatest(1, ceil((hi - lo + 1) / ?))"
WHOLE_BIN = (
    "least(CAST(floor((x - w.lo) / w.width) AS BIGINT), "
    "CAST(floor((w.hi - w.lo) / w.width) AS BIGINT))"
)

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
SELECT t.trace_id, t.task_key, t.task_text, t.agent_name, t.models, t.start_time, t.outcome,
    t.verdict, t.cost_usd, count(*) AS findings,
    CASE WHEN count(f.tokens) = count(*) THEN CAST(sum(f.tokens) AS BIGINT) END
        AS group_waste_tokens,
    CASE WHEN count(f.usd) = count(*) THEN sum(f.usd) END AS group_waste_usd,
    t.waste_tokens, t.waste_usd
FROM findings f JOIN trajectories t USING (trace_id) {join}
WHERE {group} = {param} {scope}
GROUP BY ALL
ORDER BY group_waste_usd DESC NULLS LAST, group_waste_tokens DESC NULLS LAST, t.trace_id
LIMIT ?
"""

# The smaller tiers of an over-provisioned run's task, from `task_tiers` (per task_key and
# tier, the non-escalated runs with a known outcome); `{scope}`: "" or "AND trace_id IN (...)".
# The extra cost of every run is computed on narrow rows first, so ordering them is cheap and
# the representative smaller run is picked only for the page shown; `{page}`: "" or
# "LIMIT ? OFFSET ?".
PICK = "(s.pick_failed, s.pick_start_time, s.pick_trace_id)"
SMALLER = "s.task_key = o.task_key AND s.rank < o.rank"
OVER_EXTRA_CTE = f"""
over AS (
    SELECT trace_id, task_key, task_text, primary_model, tier, outcome, cost_usd, wall_ms, turns,
        {TIER_RANK_SQL.format(col="tier")} AS rank
    FROM trajectories
    WHERE verdict = 'over_provisioned' AND task_key IS NOT NULL AND escalated = false
      AND outcome IN {JUDGED} AND tier IN ('small', 'medium', 'large') {{scope}}
), extras AS (
    SELECT o.trace_id, any_value(o.cost_usd) AS cost_usd,
        sum(s.success_cost_usd) / nullif(sum(s.success_cost_runs), 0) AS smaller_cost_usd,
        any_value(o.cost_usd) - smaller_cost_usd AS extra_cost_usd
    FROM over o JOIN task_tiers s ON {SMALLER}
    GROUP BY o.trace_id
)"""
OVER_PROVISIONED_SQL = f"""
WITH {OVER_EXTRA_CTE}, page AS (
    SELECT trace_id FROM extras ORDER BY extra_cost_usd DESC NULLS LAST, trace_id {{page}}
), pairs AS (
    SELECT o.trace_id, any_value(o.task_key) AS task_key, any_value(o.task_text) AS task_text,
        any_value(o.primary_model) AS model,
        any_value(o.tier) AS tier, any_value(o.outcome) AS outcome,
        any_value(o.cost_usd) AS cost_usd, any_value(o.wall_ms) AS wall_ms,
        any_value(o.turns) AS turns,
        CAST(sum(s.runs) AS BIGINT) AS smaller_runs,
        CAST(sum(s.successes) AS BIGINT) AS smaller_successes,
        sum(s.success_cost_usd) / nullif(sum(s.success_cost_runs), 0) AS smaller_cost_usd,
        sum(s.success_wall_ms) / nullif(sum(s.success_wall_runs), 0) AS smaller_wall_ms,
        arg_min(s.pick_model, {PICK}) AS smaller_model,
        arg_min(s.pick_trace_id, {PICK}) AS smaller_trace_id
    FROM over o JOIN page USING (trace_id) JOIN task_tiers s ON {SMALLER}
    GROUP BY o.trace_id
)
SELECT *, cost_usd - smaller_cost_usd AS extra_cost_usd FROM pairs
ORDER BY extra_cost_usd DESC NULLS LAST, trace_id
"""
OVER_SUMMARY_SQL = f"""
WITH {OVER_EXTRA_CTE}
SELECT count(*), sum(cost_usd), count(extra_cost_usd),
    sum(smaller_cost_usd) FILTER (WHERE cost_usd IS NOT NULL), sum(extra_cost_usd)
FROM extras
"""

# Tasks whose runs span tiers, by task key; `{scope}`: "" or "AND task_key IN (...)",
# `{page}`: "" or "LIMIT ? OFFSET ?".
SPREAD_CTE = """
spread AS (
    SELECT task_key, min(rank) AS lo, max(rank) AS hi FROM task_tiers
    GROUP BY task_key HAVING min(rank) < max(rank)
)"""
TIER_SIDE = """{side}.tier AS {prefix}_tier, {side}.runs AS {prefix}_runs,
    {side}.successes AS {prefix}_successes,
    {side}.cost_usd / nullif({side}.cost_runs, 0) AS {prefix}_cost_usd,
    {side}.wall_ms / nullif({side}.wall_runs, 0) AS {prefix}_wall_ms,
    {side}.pick_model AS {prefix}_model, {side}.pick_trace_id AS {prefix}_trace_id"""
TIER_PAIRS_SQL = f"""
WITH {SPREAD_CTE}, page AS (
    SELECT * FROM spread WHERE true {{scope}} ORDER BY task_key {{page}}
), verdicts_hi AS (
    SELECT t.task_key, list(DISTINCT t.verdict ORDER BY t.verdict) AS larger_verdicts,
        min(t.task_text) AS task_text
    FROM trajectories t JOIN page p
        ON t.task_key = p.task_key AND {TIER_RANK_SQL.format(col="t.tier")} = p.hi
    WHERE t.escalated = false AND t.outcome IN {JUDGED}
    GROUP BY t.task_key
)
SELECT p.task_key, {TIER_SIDE.format(side="lo", prefix="smaller")},
    {TIER_SIDE.format(side="hi", prefix="larger")}, v.larger_verdicts, v.task_text
FROM page p
JOIN task_tiers lo ON lo.task_key = p.task_key AND lo.rank = p.lo
JOIN task_tiers hi ON hi.task_key = p.task_key AND hi.rank = p.hi
LEFT JOIN verdicts_hi v ON v.task_key = p.task_key
ORDER BY p.task_key
"""
TIER_PAIR_COUNT_SQL = f"""
WITH {SPREAD_CTE}
SELECT count(*) FROM spread WHERE true {{scope}}
"""

# Each escalated run of the page shown (`escalation_page`: trace_id, wall_ms) split at its
# first higher-tier call: cost, time and waste on either side. A side's cost or waste is unknown (NULL) when
# any of its turns has it unknown.
ESCALATION_PHASES_SQL = """
WITH page_turns AS MATERIALIZED (
    SELECT * FROM turns WHERE trace_id IN (SELECT trace_id FROM escalation_page)
), switches AS MATERIALIZED (
    SELECT trace_id, json_extract_string(evidence, '$.escalation_span_id') AS span_id
    FROM verdicts WHERE trace_id IN (SELECT trace_id FROM escalation_page)
), split AS (
    SELECT trace_id, tu.turn AS at_turn FROM switches JOIN page_turns tu USING (trace_id, span_id)
), sides AS (
    SELECT tu.trace_id, tu.turn < s.at_turn AS before, count(*) AS turns,
        CASE WHEN count(tu.cost_usd) = count(*) THEN sum(tu.cost_usd) END AS cost_usd,
        CASE WHEN count(tu.waste_tokens) = count(*) THEN CAST(sum(tu.waste_tokens) AS BIGINT) END
            AS waste_tokens,
        count(*) FILTER (WHERE tu.stalled) AS stalled_turns,
        CAST(sum(tu.tool_errors) AS BIGINT) AS tool_errors,
        max(tu.end_offset_ms) AS ends_at_ms
    FROM page_turns tu JOIN split s USING (trace_id) GROUP BY ALL
)
SELECT b.trace_id,
    b.cost_usd AS cost_before_usd, a.cost_usd AS cost_after_usd,
    b.ends_at_ms AS ms_before, t.wall_ms - b.ends_at_ms AS ms_after,
    b.waste_tokens AS waste_tokens_before, a.waste_tokens AS waste_tokens_after,
    b.tool_errors AS tool_errors_before, a.tool_errors AS tool_errors_after
FROM sides b JOIN sides a ON a.trace_id = b.trace_id AND NOT a.before
JOIN escalation_page t ON t.trace_id = b.trace_id
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
    """Trajectories per equal-width bin of `measure` (unknown values left out), non-empty bins;
    a long tail beyond the 99th percentile goes into the last bin, marked `open_ended`."""
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
    sizes = [bins] if whole else [bins, bins]
    return read_frame(con, sql, [*params, TAIL_FACTOR, *sizes])


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
    where, params = flt.where("t.")
    sql = WASTE_BEHIND_SQL.format(
        scope=where.replace("WHERE", "AND", 1),
        group=WASTE_GROUPS[by],
        param=GROUP_PARAM.get(by, "?"),
        join=TURN_OF_FINDING if by == "model" else "",
    )
    return read_frame(con, sql, [key, *params, limit])


def _page(sql: str, scope: str, params: list, limit: int | None, offset: int) -> tuple[str, list]:
    """(`sql` with its `{scope}` and `{page}` filled in, params): one page of rows, or all of
    them when `limit` is None."""
    if limit is None:
        return sql.format(scope=scope, page=""), params
    return sql.format(scope=scope, page="LIMIT ? OFFSET ?"), [*params, limit, offset]


@dataclass(frozen=True)
class OverProvisionedSummary:
    """Totals over every over-provisioned run of a filter (`over_provisioned` pages them)."""

    trajectories: int
    cost_usd: float | None
    known_extra_runs: int  # runs whose cost and smaller tier's successful cost are known
    smaller_cost_usd: float | None  # over those runs
    extra_cost_usd: float | None  # over those runs


def over_provisioned(
    con: duckdb.DuckDBPyConnection,
    flt: TrajectoryFilter = NO_FILTER,
    limit: int | None = None,
    offset: int = 0,
) -> pl.DataFrame:
    """Each over-provisioned run beside the smaller-tier runs of its task: what those cost,
    the one to compare with (a success first, then the earliest), and the extra spent;
    largest extra first, `limit` rows from `offset` (every row when `limit` is None)."""
    scope, params = trajectory_scope(flt)
    sql, params = _page(OVER_PROVISIONED_SQL, scope, params, limit, offset)
    return read_frame(con, sql, params)


def over_provisioned_summary(
    con: duckdb.DuckDBPyConnection, flt: TrajectoryFilter = NO_FILTER
) -> OverProvisionedSummary:
    scope, params = trajectory_scope(flt)
    with con.cursor() as cur:
        row = cur.execute(OVER_SUMMARY_SQL.format(scope=scope), params).fetchone()
    return OverProvisionedSummary(*row)


def tier_pairs(
    con: duckdb.DuckDBPyConnection,
    flt: TrajectoryFilter = NO_FILTER,
    limit: int | None = None,
    offset: int = 0,
) -> pl.DataFrame:
    """Tasks whose non-escalated runs span more than one tier: the lowest and the highest
    tier side by side, each with a representative run (a success first, then the earliest);
    by task key, `limit` rows from `offset` (every row when `limit` is None)."""
    scope, params = trajectory_scope(flt, "task_key", "task_key")
    sql, params = _page(TIER_PAIRS_SQL, scope, params, limit, offset)
    return read_frame(con, sql, params)


def tier_pair_count(con: duckdb.DuckDBPyConnection, flt: TrajectoryFilter = NO_FILTER) -> int:
    scope, params = trajectory_scope(flt, "task_key", "task_key")
    with con.cursor() as cur:
        return cur.execute(TIER_PAIR_COUNT_SQL.format(scope=scope), params).fetchone()[0]


def escalations(
    con: duckdb.DuckDBPyConnection,
    flt: TrajectoryFilter = NO_FILTER,
    limit: int | None = None,
    offset: int = 0,
) -> pl.DataFrame:
    """`analysis.fleet.escalation_events` (oldest first, `limit` rows from `offset`) with
    cost, time, waste and tool errors before and after the first higher-tier call."""
    events = escalation_events(con, flt, limit, offset)
    with (
        con.cursor() as cur,
        registered(cur, "escalation_page", events.select("trace_id", "wall_ms")),
    ):
        phases = cur.sql(ESCALATION_PHASES_SQL).pl()
    return events.join(phases, on="trace_id", how="left", maintain_order="left")
