"""Writes the per-turn rollups at ingest: the `turns` table, the waste `findings`, and the
waste and indicator columns of `trajectories`.

Pages read these rows instead of re-running the detectors, which is what keeps a
trajectory's detail view and the waste charts fast on a million spans. Rows of the touched
traces are deleted and rebuilt, so re-ingesting or late OTLP batches never double count.

The rules are those of the per-trace reference (analysis.turns, stuck, waste), run as SQL
over the staged spans (analysis.turn_sql): only the two facts SQL cannot compute, canonical
tool arguments and reply fingerprints, pass through Python, once per value and as columns.
"""

from __future__ import annotations

import duckdb

from analysis.turn_facts import canonical_args_table, message_facts_table
from analysis.turn_sql import (
    CALLS_SQL,
    DROP_SQL,
    FACTS_SQL,
    INSERT_FINDINGS_SQL,
    INSERT_TURNS_SQL,
    REPLIES_SQL,
    TOOL_ARGS_SQL,
    TURN_SPANS_SQL,
    UPDATE_TRAJECTORIES_SQL,
    WASTE_SQL,
    WINDOWS_SQL,
)
from store.db import registered

DELETE_TURNS_SQL = "DELETE FROM turns WHERE trace_id IN (SELECT trace_id FROM affected)"
DELETE_FINDINGS_SQL = "DELETE FROM findings WHERE trace_id IN (SELECT trace_id FROM affected)"
ZERO_COLUMNS = (
    "waste_tokens", "waste_usd", "waste_turns", "waste_stagnation_tokens",
    "waste_error_retry_tokens", "waste_repeated_tokens", "waste_uncached_tokens",
)  # fmt: skip

# A trajectory without LLM calls has no tokens to waste: known zero, not unknown.
NO_TURNS_SQL = f"""
UPDATE trajectories SET {", ".join(f"{c} = 0" for c in ZERO_COLUMNS)}
WHERE trace_id IN (SELECT trace_id FROM affected) AND llm_calls = 0
"""


def refresh_turns(cur: duckdb.DuckDBPyConnection) -> None:
    """Rebuild turns, findings and trajectory waste for the traces in `affected`, from
    `refresh_spans` (analysis.stage, already staged)."""
    cur.execute(DELETE_TURNS_SQL)
    cur.execute(DELETE_FINDINGS_SQL)
    try:
        cur.execute(TURN_SPANS_SQL)
        tool_canon = canonical_args_table(cur.sql(TOOL_ARGS_SQL).to_arrow_table().column(0))
        with cur.sql(REPLIES_SQL).to_arrow_reader() as replies:  # closed even on an error,
            message_facts = message_facts_table(replies)  # or the rollback finds it open
        with registered(cur, "tool_canon", tool_canon):
            cur.execute(CALLS_SQL)
        with registered(cur, "message_facts", message_facts):
            cur.execute(FACTS_SQL)
        for sql in (WINDOWS_SQL, WASTE_SQL, INSERT_TURNS_SQL, INSERT_FINDINGS_SQL):
            cur.execute(sql)
        cur.execute(UPDATE_TRAJECTORIES_SQL)
    except BaseException:
        _drop(cur, quiet=True)
        raise
    _drop(cur)
    cur.execute(NO_TURNS_SQL)


def _drop(cur: duckdb.DuckDBPyConnection, quiet: bool = False) -> None:
    for sql in DROP_SQL:
        try:
            cur.execute(sql)
        except duckdb.Error:
            if not quiet:  # an aborted transaction refuses even the drop
                raise
