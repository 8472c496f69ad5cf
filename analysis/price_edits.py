"""Editing model prices and tiers: checked first, then written and recomputed as one unit.

Every cost, waste dollar, tier, escalation flag and verdict is derived from the `models`
table, so an edit replaces the whole table and rebuilds every rollup (`refresh_all`, about
a minute per million spans on 2 cores) in the same transaction, under the process-wide
write lock: readers see the old figures or the new ones, never a mix, and a refused or
failed edit changes nothing. (Recomputing in chunks to report finer progress measured
3x slower: each chunk rescans the rollup tables it rebuilds.)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import polars as pl

from analysis.rollup import refresh_all
from analysis.sqlread import read_frame
from store.db import WRITE_LOCK, transaction
from store.prices import DEFAULT_PRICES, INSERT_PRICE_SQL, PRICE_COLUMNS

TIERS = ("small", "medium", "large")
NUMBER_COLUMNS = (
    "input_per_mtok",
    "cached_input_per_mtok",
    "cache_write_per_mtok",
    "output_per_mtok",
    "gpu_usd_per_hour",
    "vram_gb",
)
TEXT_COLUMNS = ("source", "as_of")
EDITED_SOURCE, ADDED_SOURCE = "edited in AgentTime", "added in AgentTime"
PRICED_COLUMNS = ("tier", *NUMBER_COLUMNS)  # an edit of one of these re-sources its row
PRICE_ROWS_SQL = f"SELECT {', '.join(PRICE_COLUMNS)} FROM models ORDER BY pattern"
DELETE_PRICES_SQL = "DELETE FROM models"
TRAJECTORY_COUNT_SQL = "SELECT count(*) FROM trajectories"

Step = Callable[[str, float], None]  # (what is happening, share done 0..1)


class PriceEditError(ValueError):
    """An edit that was refused; `problems` names each row and column at fault."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class PriceEditResult:
    price_rows: int
    trajectories: int


def price_rows(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The `models` table as stored, one row per pattern, in PRICE_COLUMNS order."""
    return read_frame(con, PRICE_ROWS_SQL)


def validate(rows: Sequence[Mapping]) -> list[tuple]:
    """Rows as INSERT parameters in PRICE_COLUMNS order; raises PriceEditError listing every
    problem (row numbers count from 1, as the table shows them)."""
    problems: list[str] = []
    clean, seen = [], {}
    for number, row in enumerate(rows, start=1):
        values = {"pattern": _text(row.get("pattern")), "tier": _text(row.get("tier"))}
        problems += _check_pattern(number, values["pattern"], seen)
        if values["tier"] is not None and values["tier"] not in TIERS:
            problems.append(
                f"row {number}: tier {values['tier']!r} is not one of small, medium, large "
                "(or empty, to derive it from the listed price)"
            )
        for column in NUMBER_COLUMNS:
            values[column], problem = _price(number, column, row.get(column))
            problems += [problem] if problem else []
        for column in TEXT_COLUMNS:
            values[column] = _text(row.get(column))
        clean.append(tuple(values[c] for c in PRICE_COLUMNS))
    if not rows:
        problems.append("the price table cannot be empty: use Reset to defaults instead")
    if problems:
        raise PriceEditError(problems)
    return clean


def _text(value) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value).strip() or None


def _check_pattern(number: int, pattern: str | None, seen: dict[str, int]) -> list[str]:
    if pattern is None:
        return [f"row {number}: the model pattern is empty"]
    key = pattern.lower()  # patterns match case-insensitively, so case alone is no difference
    if key in seen:
        return [f"row {number}: pattern {pattern!r} repeats row {seen[key]}"]
    seen[key] = number
    return []


def _price(number: int, column: str, value) -> tuple[float | None, str | None]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    try:
        amount = float(value)
    except (TypeError, ValueError):
        return None, f"row {number}: {column} {value!r} is not a number"
    if math.isnan(amount):
        return None, None
    if math.isinf(amount) or amount < 0:
        return None, f"row {number}: {column} must be a number ≥ 0, not {value!r}"
    return amount, None


def save_prices(
    con: duckdb.DuckDBPyConnection, rows: Sequence[Mapping], on_step: Step | None = None
) -> PriceEditResult:
    """Replace the price table with `rows` and recompute every rollup, all or nothing."""
    return _replace(con, mark_edited(validate(rows), price_rows(con)), on_step or _quiet)


def mark_edited(rows: list[tuple], stored: pl.DataFrame) -> list[tuple]:
    """A row whose prices or tier changed while its source stayed the provider's page is
    re-sourced ("edited in AgentTime", today): an edited price must not pass for a listed
    one. A new row without a source is "added in AgentTime"; a source typed in is kept."""
    before = {row["pattern"].lower(): row for row in stored.iter_rows(named=True)}
    today = datetime.now(UTC).date().isoformat()
    marked = []
    for values in rows:
        row = dict(zip(PRICE_COLUMNS, values, strict=True))
        old = before.get(row["pattern"].lower())
        if old is None and row["source"] is None:
            row |= {"source": ADDED_SOURCE, "as_of": row["as_of"] or today}
        elif (
            old is not None
            and any(row[c] != old[c] for c in PRICED_COLUMNS)
            and all(row[c] == old[c] for c in TEXT_COLUMNS)
        ):
            row |= {"source": EDITED_SOURCE, "as_of": today}
        marked.append(tuple(row[c] for c in PRICE_COLUMNS))
    return marked


def reset_prices(con: duckdb.DuckDBPyConnection, on_step: Step | None = None) -> PriceEditResult:
    """Back to the shipped defaults (store.prices.DEFAULT_PRICES), recomputed in the same
    transaction (store.prices.reset_default_prices commits on its own, before any recompute)."""
    return _replace(con, list(DEFAULT_PRICES), on_step or _quiet)


def _quiet(message: str, done: float) -> None:
    pass


def _replace(con: duckdb.DuckDBPyConnection, rows: list[tuple], on_step: Step) -> PriceEditResult:
    with WRITE_LOCK, con.cursor() as cur, transaction(cur):
        on_step(f"Writing {len(rows)} price rows…", 0.0)
        cur.execute(DELETE_PRICES_SQL)
        cur.executemany(INSERT_PRICE_SQL, rows)
        (trajectories,) = cur.execute(TRAJECTORY_COUNT_SQL).fetchone()
        on_step(
            f"Recomputing cost, waste, tiers and verdicts of {trajectories:,} trajectories "
            "(about a minute per million spans)…",
            0.05,
        )
        refresh_all(cur)
    on_step("Done.", 1.0)
    return PriceEditResult(len(rows), trajectories)
