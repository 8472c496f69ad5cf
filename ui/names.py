"""What tables and charts call the keys the analysis stores: waste categories and computed
verdicts by name, as Polars expressions over a frame's column (pure, no Streamlit)."""

from __future__ import annotations

import polars as pl

from ui.format import VERDICT_NAMES

CATEGORY_LABELS = {
    "stagnation": "Stagnation",
    "error_retry": "Error retries",
    "repeated_tool_call": "Repeated calls",
    "uncached_context": "Uncached context",
}


def verdict_names(column: str = "verdict") -> pl.Expr:
    """A column of computed verdict keys, as their names ("small_sufficient" -> "Small model
    sufficient"); any other text is kept."""
    return pl.col(column).replace(VERDICT_NAMES)


def models_in_order(column: str = "models") -> pl.Expr:
    """A run's list of models in call order as one text ("gpt-4.1-mini → gpt-4.1"): a run
    that escalated is not shown under the one model it called most."""
    return pl.col(column).list.join(" → ").alias(column)


def category_names(column: str) -> pl.Expr:
    """A column of comma-separated waste category keys, as their names in lower case
    ("repeated_tool_call, uncached_context" -> "repeated calls, uncached context")."""
    names = {key: label.lower() for key, label in CATEGORY_LABELS.items()}
    return (
        pl.col(column)
        .str.split(", ")
        .list.eval(pl.element().replace(names))
        .list.join(", ")
        .alias(column)
    )
