"""A bigger store made of copies of a measured one, for query timings at 5M spans.

Ingesting 5M spans and rebuilding every rollup would take most of the benchmark's time
budget without measuring anything new (ingest is measured per format already). Instead
each table of the 1M store is copied `factor` times into a fresh store, with trace,
session and task ids suffixed per copy: the same data shape, `factor` times the traces,
tasks and rows. Rollup rows are copied, not recomputed. The copies leave the span content
columns (input, output, tool_args, attributes) empty: re-compressing them is most of the
copy's time and no page reads content beyond one trajectory's spans, which the page
timings take from the first copy.
"""

from __future__ import annotations

from pathlib import Path

from store import db

TABLES = (
    "spans", "trajectories", "turns", "findings", "verdicts", "routing_stops", "task_tiers",
    "trace_waste",
)  # fmt: skip
SUFFIXED = ("trace_id", "session_id", "task_id", "task_key", "pick_trace_id")
CONTENT = ("input", "output", "tool_args", "attributes")
COLUMNS_SQL = (
    "SELECT column_name FROM duckdb_columns() WHERE database_name = 'src' AND table_name = ?"
)


def replicate(source: Path, target: Path, factor: int) -> dict[str, int]:
    """Write `target` as `factor` suffixed copies of `source`; returns rows per table."""
    for stale in (target, target.with_name(target.name + ".wal")):
        stale.unlink(missing_ok=True)
    con = db.connect(target)
    try:
        with con.cursor() as cur:
            cur.execute("ATTACH ? AS src (READ_ONLY)", [str(source)])
            for table in TABLES:
                _copy_table(cur, table, factor)
            cur.execute("INSERT INTO uploads SELECT * FROM src.uploads")
            counts = {t: cur.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
            cur.execute("DETACH src")
            cur.execute("CHECKPOINT")
    finally:
        db.close(target)
    return counts


def _copy_table(cur, table: str, factor: int) -> None:
    columns = [row[0] for row in cur.execute(COLUMNS_SQL, [table]).fetchall()]
    suffixed = [c for c in SUFFIXED if c in columns]
    cur.execute("BEGIN TRANSACTION")
    for copy in range(factor):
        if copy == 0:
            cur.execute(f"INSERT INTO {table} SELECT * FROM src.{table}")
            continue
        replaced = ", ".join(
            [f"{c} || '~{copy}' AS {c}" for c in suffixed]
            + [f"NULL AS {c}" for c in CONTENT if c in columns and table == "spans"]
        )
        cur.execute(f"INSERT INTO {table} SELECT * REPLACE ({replaced}) FROM src.{table}")
    cur.execute("COMMIT")
