"""Routing simulation: what "small first, escalate after K stalled turns" would have done.

Replayed on the task_keys that have non-escalated runs of both the small and the large tier
with a known outcome. Estimation model (an estimate from recorded runs, not a re-run):
- all-small / all-large: the mean success, cost and wall time of that tier's runs.
- small-first with threshold K: each recorded small run is replayed turn by turn. A turn is
  stalled when it is a stagnation turn, an error retry, or it errored (the stalled flag in
  `turns`). If the run reaches K stalled turns (counted cumulatively) at turn j, the policy
  stops it there and hands the task to the large model, which restarts from scratch: cost =
  the small run's cost up to turn j + the large tier's mean cost on that task; wall time =
  the small run's elapsed time at the end of turn j + the large tier's mean wall time;
  success = the large tier's success rate on that task. A run that never reaches K stalled
  turns keeps its own outcome, cost and wall time.
Per task the small runs are averaged; then every task counts equally. A cost or time that
is unknown for a task leaves that task out of that column (the `*_tasks` columns count the
tasks behind each figure) rather than counting it as zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import mean

import duckdb
import polars as pl
import pyarrow as pa

from store.db import registered

THRESHOLDS = (1, 2, 3, 4, 5)

RUNS_SQL = """
SELECT trace_id, task_key, tier, outcome = 'success' AS success, cost_usd, wall_ms
FROM trajectories
WHERE task_key IS NOT NULL AND escalated = false AND tier IN (?, ?)
  AND outcome IN ('success', 'failure', 'error')
ORDER BY task_key, trace_id
"""
SMALL_TURNS_SQL = """
SELECT trace_id, turn, stalled, cost_usd, end_offset_ms FROM turns
WHERE trace_id IN (SELECT trace_id FROM routing_runs) ORDER BY trace_id, turn
"""


@dataclass(frozen=True)
class Outcome:
    success: float
    cost: float | None
    wall: float | None
    escalated: float = 0.0


@dataclass
class SmallRun:
    outcome: Outcome
    stalled: list[bool]
    costs: list[float | None]
    offsets: list[float | None]

    def stop_turn(self, k: int) -> int | None:
        """1-based turn at which the K-th stalled turn happens, or None."""
        seen = 0
        for index, stalled in enumerate(self.stalled, start=1):
            seen += stalled
            if seen >= k:
                return index
        return None


def _mean_or_none(values: Sequence[float | None]) -> float | None:
    return None if not values or any(v is None for v in values) else mean(values)


def tier_outcome(runs: Sequence[Outcome]) -> Outcome:
    return Outcome(
        mean(r.success for r in runs),
        _mean_or_none([r.cost for r in runs]),
        _mean_or_none([r.wall for r in runs]),
    )


def replay(run: SmallRun, k: int, large: Outcome) -> Outcome:
    stop = run.stop_turn(k)
    if stop is None:
        return run.outcome
    prefix_costs = run.costs[:stop]
    prefix = None if any(c is None for c in prefix_costs) else sum(prefix_costs)
    offset = run.offsets[stop - 1]
    return Outcome(
        large.success,
        None if prefix is None or large.cost is None else prefix + large.cost,
        None if offset is None or large.wall is None else offset + large.wall,
        1.0,
    )


def simulate_task(small: Sequence[SmallRun], large: Sequence[Outcome]) -> dict[str, Outcome]:
    """Per policy, the mean outcome over this task's small runs (or its large runs)."""
    large_mean = tier_outcome(large)
    policies = {"all_small": tier_outcome([s.outcome for s in small])}
    for k in THRESHOLDS:
        replays = [replay(s, k, large_mean) for s in small]
        policies[f"small_then_large_k{k}"] = Outcome(
            mean(r.success for r in replays),
            _mean_or_none([r.cost for r in replays]),
            _mean_or_none([r.wall for r in replays]),
            mean(r.escalated for r in replays),
        )
    policies["all_large"] = large_mean
    return policies


def summarise(per_task: list[dict[str, Outcome]]) -> pl.DataFrame:
    rows = []
    for policy in per_task[0] if per_task else []:
        outcomes = [task[policy] for task in per_task]
        costs = [o.cost for o in outcomes if o.cost is not None]
        walls = [o.wall for o in outcomes if o.wall is not None]
        rows.append(
            {
                "policy": policy,
                "k": int(policy.rsplit("k", 1)[1]) if "_k" in policy else None,
                "tasks": len(outcomes),
                "success_rate": mean(o.success for o in outcomes),
                "cost_per_task": mean(costs) if costs else None,
                "cost_tasks": len(costs),
                "wall_ms_per_task": mean(walls) if walls else None,
                "wall_tasks": len(walls),
                "escalation_rate": mean(o.escalated for o in outcomes),
            }
        )
    return pl.DataFrame(rows, schema=_SCHEMA)


def routing_table(
    con: duckdb.DuckDBPyConnection, small_tier: str = "small", large_tier: str = "large"
) -> pl.DataFrame:
    """One row per policy: all_small, small_then_large_k1..k5, all_large."""
    with con.cursor() as cur:
        runs = cur.execute(RUNS_SQL, [small_tier, large_tier]).fetchall()
        by_task: dict[str, dict[str, list]] = {}
        for trace_id, task_key, tier, success, cost, wall in runs:
            side = "small" if tier == small_tier else "large"
            by_task.setdefault(task_key, {"small": [], "large": []})[side].append(
                (trace_id, Outcome(float(success), cost, wall))
            )
        both = {k: v for k, v in by_task.items() if v["small"] and v["large"]}
        small_ids = [tid for v in both.values() for tid, _ in v["small"]]
        turns = _small_turns(cur, small_ids)
    per_task = []
    for task in both.values():
        small = [_small_run(outcome, turns.get(tid, [])) for tid, outcome in task["small"]]
        per_task.append(simulate_task(small, [outcome for _, outcome in task["large"]]))
    return summarise(per_task)


def _small_turns(cur: duckdb.DuckDBPyConnection, trace_ids: list[str]) -> dict[str, list]:
    with registered(cur, "routing_runs", pa.table({"trace_id": pa.array(trace_ids, pa.string())})):
        rows = cur.execute(SMALL_TURNS_SQL).fetchall()
    turns: dict[str, list] = {}
    for trace_id, _, stalled, cost, offset in rows:
        turns.setdefault(trace_id, []).append((bool(stalled), cost, offset))
    return turns


def _small_run(outcome: Outcome, turns: list) -> SmallRun:
    return SmallRun(outcome, [t[0] for t in turns], [t[1] for t in turns], [t[2] for t in turns])


_SCHEMA = {
    "policy": pl.String,
    "k": pl.Int64,
    "tasks": pl.Int64,
    "success_rate": pl.Float64,
    "cost_per_task": pl.Float64,
    "cost_tasks": pl.Int64,
    "wall_ms_per_task": pl.Float64,
    "wall_tasks": pl.Int64,
    "escalation_rate": pl.Float64,
}
