"""Writes the per-turn rollups at ingest: the `turns` table, the waste `findings`, and the
waste and indicator columns of `trajectories`.

Pages read these rows instead of re-running the detectors, which is what keeps a
trajectory's detail view and the waste charts fast on a million spans. Rows of the touched
traces are deleted and rebuilt, so re-ingesting or late OTLP batches never double count.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from itertools import pairwise

import duckdb
import pyarrow as pa

from analysis.turns import TraceTurns, Turn, drop_turn_spans, load_batch, stage_turn_spans
from analysis.waste import CATEGORIES, TRAJECTORY_COLUMNS, TraceWaste, analyse
from store.db import registered

# Computed here; the span's own columns (model, times, status, tokens) are joined in SQL so
# they never make a slow round trip through Python objects.
TURN_COLUMNS = (
    "trace_id", "span_id", "turn", "tier", "ttft_ms", "end_offset_ms", "cost_usd", "cost_source",
    "vram_gb_min", "tool_calls", "tool_errors", "context_growth", "uncached_tokens",
    "waste_tokens", "waste_usd", "stalled",
)  # fmt: skip
SPAN_COLUMNS = (
    "model", "start_time", "end_time", "duration_ms", "status", "input_tokens", "output_tokens",
    "reasoning_tokens", "cache_read_tokens", "cache_write_tokens",
)  # fmt: skip
FINDING_COLUMNS = ("trace_id", "span_id", "category", "turn", "tokens", "usd", "evidence")
TRAJECTORY_UPDATE_COLUMNS = (
    "trace_id", "waste_tokens", "waste_usd", "waste_turns", *TRAJECTORY_COLUMNS.values(),
    "cache_hit_rate", "reasoning_share", "context_growth", "io_ratio",
)  # fmt: skip

DELETE_TURNS_SQL = "DELETE FROM turns WHERE trace_id IN (SELECT trace_id FROM affected)"
DELETE_FINDINGS_SQL = "DELETE FROM findings WHERE trace_id IN (SELECT trace_id FROM affected)"
INSERT_TURNS_SQL = f"""
INSERT INTO turns ({", ".join(TURN_COLUMNS + SPAN_COLUMNS)})
SELECT {", ".join("n." + c for c in TURN_COLUMNS)}, {", ".join("s." + c for c in SPAN_COLUMNS)}
FROM new_turns n JOIN (SELECT * FROM turn_spans WHERE batch_no = ?) s USING (trace_id, span_id)
"""
INSERT_FINDINGS_SQL = f"""
INSERT INTO findings ({", ".join(FINDING_COLUMNS)})
SELECT trace_id, span_id, category, turn, tokens, usd, evidence::JSON FROM new_findings
"""
UPDATE_TRAJECTORIES_SQL = f"""
UPDATE trajectories SET {", ".join(f"{c} = w.{c}" for c in TRAJECTORY_UPDATE_COLUMNS[1:])}
FROM new_waste w WHERE trajectories.trace_id = w.trace_id
"""

# A trajectory without LLM calls has no tokens to waste: known zero, not unknown.
NO_TURNS_SQL = f"""
UPDATE trajectories SET {", ".join(f"{c} = 0" for c in TRAJECTORY_UPDATE_COLUMNS[1:8])}
WHERE trace_id IN (SELECT trace_id FROM affected) AND llm_calls = 0
"""


def refresh_turns(cur: duckdb.DuckDBPyConnection) -> None:
    """Rebuild turns, findings and trajectory waste for the traces in `affected`."""
    cur.execute(DELETE_TURNS_SQL)
    cur.execute(DELETE_FINDINGS_SQL)
    try:
        for batch_no in range(stage_turn_spans(cur)):
            _refresh_batch(cur, batch_no)
    finally:
        drop_turn_spans(cur)
    cur.execute(NO_TURNS_SQL)


def _refresh_batch(cur: duckdb.DuckDBPyConnection, batch_no: int) -> None:
    turn_rows, finding_rows, trajectory_rows = [], [], []
    for trace in load_batch(cur, batch_no):
        waste = analyse(trace)
        turn_rows += turn_records(trace, waste)
        finding_rows += [_finding_record(f) for f in waste.findings]
        trajectory_rows.append(trajectory_record(trace, waste))
    _insert(cur, "new_turns", TURN_COLUMNS, turn_rows, INSERT_TURNS_SQL, [batch_no])
    _insert(cur, "new_findings", FINDING_COLUMNS, finding_rows, INSERT_FINDINGS_SQL)
    _insert(cur, "new_waste", TRAJECTORY_UPDATE_COLUMNS, trajectory_rows, UPDATE_TRAJECTORIES_SQL)


def _insert(cur, name: str, columns: tuple, rows: list[dict], sql: str, params=None) -> None:
    if not rows:
        return
    table = pa.table({column: [r[column] for r in rows] for column in columns})
    with registered(cur, name, table):
        cur.execute(sql, params or [])


COMPUTED_IN_SQL = ("tier", "ttft_ms", "cost_usd", "cost_source", "vram_gb_min")


def turn_records(trace: TraceTurns, waste: TraceWaste) -> list[dict]:
    records, previous = [], None
    for tw in waste.turns:
        turn = tw.turn
        claims, usd = list(tw.claims.values()), list(tw.usd.values())
        record = {"trace_id": trace.trace_id, "span_id": turn.span_id, "turn": turn.index}
        record.update({name: turn.row[name] for name in COMPUTED_IN_SQL})
        record.update(
            end_offset_ms=_offset_ms(trace, turn),
            tool_calls=len(turn.tools),
            tool_errors=sum(1 for tool in turn.tools if tool.failed),
            context_growth=_growth(turn, previous),
            uncached_tokens=tw.uncached,
            waste_tokens=None if None in claims else sum(claims),
            waste_usd=None if None in usd else sum(usd),
            stalled=tw.stalled,
        )
        records.append(record)
        previous = turn
    return records


def _offset_ms(trace: TraceTurns, turn: Turn) -> float | None:
    end = turn.end_us()
    if end is None or trace.start_us is None:
        return None
    return (end - trace.start_us) / 1000.0


def _growth(turn: Turn, previous: Turn | None) -> int | None:
    if previous is None:
        return None
    now, before = turn.get("input_tokens"), previous.get("input_tokens")
    return None if now is None or before is None else now - before


def _finding_record(finding) -> dict:
    return {
        "trace_id": finding.trace_id,
        "span_id": finding.span_id,
        "category": finding.category,
        "turn": finding.turn,
        "tokens": finding.tokens,
        "usd": finding.usd,
        "evidence": json.dumps(finding.evidence, sort_keys=True),
    }


def trajectory_record(trace: TraceTurns, waste: TraceWaste) -> dict:
    totals = waste.category_totals()
    record = {
        "trace_id": trace.trace_id,
        "waste_tokens": None if None in totals.values() else sum(totals.values()),
        "waste_usd": waste.waste_usd(),
        "waste_turns": waste.waste_turns(),
    }
    for category in CATEGORIES:
        record[TRAJECTORY_COLUMNS[category]] = totals[category]
    record.update(indicators(trace.turns))
    return record


def indicators(turns: Iterable[Turn]) -> dict[str, float | None]:
    """Not waste, shown beside it: cache hit rate, reasoning share, context growth, in:out."""
    turns = list(turns)
    growth = [g for p, t in pairwise(turns) if (g := _growth(t, p)) is not None]
    return {
        "cache_hit_rate": _ratio(turns, "cache_read_tokens", "input_tokens"),
        "reasoning_share": _ratio(turns, "reasoning_tokens", "output_tokens"),
        "context_growth": sum(growth) / len(growth) if growth else None,
        "io_ratio": _ratio(turns, "input_tokens", "output_tokens"),
    }


def _ratio(turns: list[Turn], top: str, bottom: str) -> float | None:
    """Σtop / Σbottom over the calls where both are recorded."""
    pairs = [(t.get(top), t.get(bottom)) for t in turns]
    known = [(a, b) for a, b in pairs if a is not None and b is not None]
    total = sum(b for _, b in known)
    return sum(a for a, _ in known) / total if total else None
