"""Two runs side by side: their key facts with the difference, and their turns aligned.

The facts table is plain text cells (model names come from traces), each number formatted
with its unit; a difference is B − A, and unknown on either side gives an unknown delta.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl
import streamlit as st

from ui import format as fmt
from ui.names import category_names, task_text
from ui.text import one_line

NUMERIC_FACTS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("Wall time", "wall_ms", fmt.duration),
    ("Model time", "model_ms", fmt.duration),
    ("Tool time", "tool_ms", fmt.duration),
    ("Idle time", "idle_ms", fmt.duration),
    ("Turns", "turns", fmt.count),
    ("Tool calls", "tool_calls", fmt.count),
    ("Tool errors", "tool_errors", fmt.count),
    ("Input tokens", "input_tokens", fmt.tokens),
    ("Cached input tokens", "cache_read_tokens", fmt.tokens),
    ("Output tokens", "output_tokens", fmt.tokens),
    ("Reasoning tokens", "reasoning_tokens", fmt.tokens),
    ("Cost", "cost_usd", fmt.fine_usd),
    ("Wasted tokens", "waste_tokens", fmt.tokens),
    ("Wasted USD", "waste_usd", fmt.fine_usd),
    ("Score", "score", lambda v: fmt.NOT_RECORDED if v is None else f"{v:.2f}"),
)
TEXT_FACTS = (
    ("Agent", "agent_name"),
    ("Tier (highest)", "tier"),
    ("Outcome", "outcome"),
    ("Verdict", "verdict"),
)
NAMED = {"verdict": fmt.VERDICT_NAMES}  # facts whose stored keys have a readable name


def signed(delta: float | None, formatter: Callable[[Any], str]) -> str:
    """`+12.3 s` / `−$0.03`: the formatter's text for |delta| with its sign."""
    if delta is None:
        return fmt.NOT_RECORDED
    if delta == 0:
        return "same"
    return ("+" if delta > 0 else "−") + formatter(abs(delta))


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or a == 0:
        return ""
    return f"{b / a:.2f}×"


def fact_rows(a: dict[str, Any], b: dict[str, Any]) -> pl.DataFrame:
    """(Fact, A, B, B − A, B / A) as text."""
    rows = [
        ("Models", _models(a), _models(b), "", ""),
        ("Task", one_line(task_text(a), 200), one_line(task_text(b), 200), "", ""),
        *((label, _fact(a, k), _fact(b, k), "", "") for label, k in TEXT_FACTS),
    ]
    for label, key, formatter in NUMERIC_FACTS:
        va, vb = a.get(key), b.get(key)
        delta = None if va is None or vb is None else vb - va
        rows.append((label, formatter(va), formatter(vb), signed(delta, formatter), ratio(va, vb)))
    return pl.DataFrame(rows, schema=["Fact", "A", "B", "B − A", "B / A"], orient="row")


def _models(run: dict[str, Any]) -> str:
    return one_line(" → ".join(run.get("models") or []) or fmt.NOT_RECORDED, 200)


def _fact(run: dict[str, Any], key: str) -> str:
    value = run.get(key)
    return (
        fmt.NOT_RECORDED if value is None else one_line(NAMED.get(key, {}).get(value, value), 200)
    )


ALIGNED_LABELS = {
    "model": "model",
    "cost_usd": "cost (USD)",
    "waste_tags": "waste",
    "input_tokens": "input",
    "cache_read_tokens": "cached",
    "output_tokens": "output",
    "tool_calls": "tools",
}


def aligned_columns() -> dict[str, Any]:
    config: dict[str, Any] = {"turn": st.column_config.NumberColumn("Turn", format="%d")}
    for column, label in ALIGNED_LABELS.items():
        for side in ("a", "b"):
            name, title = f"{side}_{column}", f"{side.upper()} · {label}"
            if column == "cost_usd":
                config[name] = st.column_config.NumberColumn(title, format="$%.5f")
            elif column in ("model", "waste_tags"):
                config[name] = st.column_config.TextColumn(title)
            else:
                config[name] = st.column_config.NumberColumn(title, format="%,d")
    return config


def show_facts(a: dict[str, Any], b: dict[str, Any]) -> None:
    st.dataframe(fact_rows(a, b), hide_index=True, width="stretch", height="content")


def show_aligned(aligned: pl.DataFrame) -> None:
    columns = aligned_columns()
    st.dataframe(
        aligned.select(list(columns)).with_columns(
            category_names("a_waste_tags"), category_names("b_waste_tags")
        ),
        hide_index=True,
        width="stretch",
        height="content" if aligned.height <= 30 else "auto",
        column_config=columns,
        placeholder=fmt.MISSING_CELL,
    )
    st.caption(
        f"Turn n of A beside turn n of B. {fmt.MISSING_CELL}: that run had no such turn, or "
        "the value was not recorded."
    )
