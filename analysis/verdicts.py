"""Was a bigger model needed? One verdict per trajectory, with its evidence.

Escalated trajectories are judged on their own turns: was there a no-progress signal in
the small-model segment (a stalled turn: stagnation, an error retry, or an error), and did
the run succeed after switching? Every other trajectory is judged against its siblings —
non-escalated runs of the same task_key on other tiers — so a new run of a task changes
its siblings' verdicts too, and the refresh recomputes the whole task_key group.

Rules (the first that applies wins):
- escalated: failed -> escalation_futile; no prior signal -> escalation_premature;
  signal and success -> escalation_needed; otherwise undetermined.
- not escalated, tier X, siblings split into smaller and larger tiers (known outcome only):
  smaller tiers solved the task in >= half their runs -> over_provisioned;
  this run succeeded and smaller tiers solved it in < half -> large_needed;
  this run failed and larger tiers solved it in >= half, and more often than tier X
  -> large_needed;
  this run is `small` and succeeded -> small_sufficient; otherwise undetermined.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from analysis.cost import TIER_NAMES, TIER_RANKS
from store.db import registered

SOLVED_SHARE = 0.5
EVIDENCE_IDS = 20
VERDICTS = (
    "escalation_needed",
    "escalation_premature",
    "escalation_futile",
    "large_needed",
    "over_provisioned",
    "small_sufficient",
    "undetermined",
)

SCOPE_KEYS_SQL = """
SELECT task_key FROM trajectories WHERE trace_id IN (SELECT trace_id FROM affected)
    AND task_key IS NOT NULL
UNION SELECT task_key FROM verdicts WHERE trace_id IN (SELECT trace_id FROM affected)
    AND task_key IS NOT NULL
"""
SCOPE_RUNS_SQL = f"""
SELECT trace_id, task_key, tier, escalated, outcome FROM trajectories
WHERE task_key IN ({SCOPE_KEYS_SQL}) OR trace_id IN (SELECT trace_id FROM affected)
ORDER BY trace_id
"""
ESCALATED_TURNS_SQL = """
SELECT trace_id, turn, span_id, model, tier, stalled FROM turns
WHERE trace_id IN (SELECT trace_id FROM verdict_scope WHERE escalated)
ORDER BY trace_id, turn
"""
# `affected` too: a touched trace whose spans were deleted has no run left to judge
DELETE_VERDICTS_SQL = """
DELETE FROM verdicts
WHERE trace_id IN (SELECT trace_id FROM verdict_scope) OR trace_id IN (SELECT trace_id FROM affected)
"""
INSERT_VERDICTS_SQL = """
INSERT INTO verdicts (trace_id, task_key, tier, verdict, evidence)
SELECT trace_id, task_key, tier, verdict, evidence::JSON FROM new_verdicts
"""
UPDATE_TRAJECTORIES_SQL = """
UPDATE trajectories SET verdict = v.verdict FROM new_verdicts v
WHERE trajectories.trace_id = v.trace_id
"""


@dataclass(frozen=True)
class Run:
    trace_id: str
    task_key: str | None
    tier: str | None
    escalated: bool | None
    outcome: str

    @property
    def rank(self) -> int | None:
        return TIER_RANKS.get(self.tier) if self.tier else None

    @property
    def judged(self) -> bool:
        return self.outcome in ("success", "failure", "error")

    @property
    def succeeded(self) -> bool:
        return self.outcome == "success"


@dataclass(frozen=True)
class TurnTier:
    span_id: str
    model: str | None
    tier: str | None
    stalled: bool


def escalation_verdict(run: Run, turns: Sequence[TurnTier]) -> tuple[str, dict[str, Any]]:
    split = _escalation_point(turns)
    if split is None:
        return "undetermined", {"reason": "no escalation point among turns with a known tier"}
    before, after = turns[:split], turns[split:]
    signals = [t.span_id for t in before if t.stalled]
    source = _last_lowest(before)
    evidence = {
        "escalation_span_id": after[0].span_id,
        "from_model": source.model,
        "from_tier": source.tier,
        "to_model": after[0].model,
        "to_tier": after[0].tier,
        "signal_span_ids": signals,
        "before_span_ids": [t.span_id for t in before],
        "after_span_ids": [t.span_id for t in after],
        "outcome": run.outcome,
    }
    if run.judged and not run.succeeded:
        return "escalation_futile", evidence
    if not signals:
        return "escalation_premature", evidence
    return ("escalation_needed" if run.succeeded else "undetermined"), evidence


def _last_lowest(turns: Sequence[TurnTier]) -> TurnTier:
    """The last turn on the lowest tier seen before the escalation: where it escalated from."""
    ranked = [t for t in turns if t.tier in TIER_RANKS]
    lowest = min(TIER_RANKS[t.tier] for t in ranked)
    return [t for t in ranked if TIER_RANKS[t.tier] == lowest][-1]


def _escalation_point(turns: Sequence[TurnTier]) -> int | None:
    lowest = None
    for index, turn in enumerate(turns):
        rank = TIER_RANKS.get(turn.tier) if turn.tier else None
        if rank is None:
            continue
        if lowest is not None and rank > lowest:
            return index
        lowest = rank if lowest is None else min(lowest, rank)
    return None


@dataclass
class TierRuns:
    """The judged, non-escalated runs of one tier on one task_key."""

    runs: int = 0
    successes: int = 0
    trace_ids: list[str] = field(default_factory=list)

    def add(self, run: Run) -> None:
        self.runs += 1
        self.successes += run.succeeded
        if len(self.trace_ids) < EVIDENCE_IDS:
            self.trace_ids.append(run.trace_id)


def task_groups(runs: Sequence[Run]) -> dict[str, dict[int, TierRuns]]:
    """task_key -> tier rank -> its runs, built once so a big group is judged in linear time."""
    groups: dict[str, dict[int, TierRuns]] = {}
    for run in runs:
        if run.task_key is not None and run.rank and run.judged and run.escalated is False:
            groups.setdefault(run.task_key, {}).setdefault(run.rank, TierRuns()).add(run)
    return groups


def task_verdict(run: Run, tiers: dict[int, TierRuns]) -> tuple[str, dict[str, Any]]:
    if run.rank is None:
        return "undetermined", {"reason": "the model tier is unknown", "outcome": run.outcome}
    smaller = _merge(tiers, [r for r in tiers if r < run.rank])
    same = _merge(tiers, [run.rank] if run.rank in tiers else [])
    larger = _merge(tiers, [r for r in tiers if r > run.rank])
    evidence = {
        "tier": run.tier,
        "outcome": run.outcome,
        "smaller": smaller,
        "same_tier": same,
        "larger": larger,
    }
    return _task_rule(run, smaller, same, larger), evidence


def _merge(tiers: dict[int, TierRuns], ranks: list[int]) -> dict[str, Any]:
    groups = [tiers[r] for r in sorted(ranks)]
    ids = [trace_id for g in groups for trace_id in g.trace_ids][:EVIDENCE_IDS]
    return {
        "runs": sum(g.runs for g in groups),
        "successes": sum(g.successes for g in groups),
        "trace_ids": ids,
        "tiers": [TIER_NAMES[r] for r in sorted(ranks)],
    }


def _task_rule(run: Run, smaller: dict, same: dict, larger: dict) -> str:
    if smaller["runs"] and _solved(smaller) >= SOLVED_SHARE:
        return "over_provisioned"
    if run.succeeded and smaller["runs"]:
        return "large_needed"
    failed = run.judged and not run.succeeded
    if (
        failed
        and larger["runs"]
        and _solved(larger) >= SOLVED_SHARE
        and _solved(larger) > _solved(same)
    ):
        return "large_needed"
    if run.succeeded and run.tier == "small":
        return "small_sufficient"
    return "undetermined"


def _solved(group: dict[str, Any]) -> float:
    return group["successes"] / group["runs"] if group["runs"] else 0.0


def judge(runs: Sequence[Run], turns_by_trace: dict[str, list[TurnTier]]) -> list[dict]:
    """Verdict rows for `runs`, each judged against the runs of its task_key."""
    groups = task_groups(runs)
    rows = []
    for run in runs:
        if run.escalated:
            verdict, evidence = escalation_verdict(run, turns_by_trace.get(run.trace_id, []))
        else:
            verdict, evidence = task_verdict(run, groups.get(run.task_key, {}))
        rows.append(
            {
                "trace_id": run.trace_id,
                "task_key": run.task_key,
                "tier": run.tier,
                "verdict": verdict,
                "evidence": orjson.dumps(evidence, option=orjson.OPT_SORT_KEYS).decode(),
            }
        )
    return rows


def refresh_verdicts(cur: duckdb.DuckDBPyConnection) -> None:
    """Recompute verdicts of the traces in `affected` and of every sibling of their task_keys."""
    runs = [Run(*row) for row in cur.execute(SCOPE_RUNS_SQL).fetchall()]
    scope = pa.table(
        {
            "trace_id": pa.array([r.trace_id for r in runs], pa.string()),
            "escalated": pa.array([bool(r.escalated) for r in runs], pa.bool_()),
        }
    )
    with registered(cur, "verdict_scope", scope):
        turns: dict[str, list[TurnTier]] = {}
        for trace_id, _, span_id, model, tier, stalled in cur.execute(
            ESCALATED_TURNS_SQL
        ).fetchall():
            turns.setdefault(trace_id, []).append(TurnTier(span_id, model, tier, bool(stalled)))
        cur.execute(DELETE_VERDICTS_SQL)
        rows = judge(runs, turns)
        if rows:
            with registered(cur, "new_verdicts", pa.Table.from_pylist(rows)):
                cur.execute(INSERT_VERDICTS_SQL)
                cur.execute(UPDATE_TRAJECTORIES_SQL)
