"""What tables and charts call the keys the analysis stores: waste categories, computed and
reviewers' verdicts by name, as Polars expressions over a frame's column (pure, no Streamlit)."""

from __future__ import annotations

import polars as pl

from store.reviews import VERDICT_LABELS
from ui.format import VERDICT_NAMES
from ui.text import escape_markdown

SORT_LABELS = {  # the sorts of the trajectory list (analysis.queries.SORTABLE) by name
    "start_time": "Start time",
    "wall_ms": "Wall time",
    "turns": "Turns",
    "tokens": "Tokens",
    "cost_usd": "Cost",
    "waste_usd": "Wasted USD",
    "waste_tokens": "Wasted tokens",
    "score": "Score",
}
STUCK_RULE_NAMES = {  # analysis/stuck.py's rules, as the findings table names them
    "same_action_same_result": "same action and result, 4 times",
    "same_action_error": "same action failing, 3 times",
    "same_message": "same message, 3 times",
    "alternation": "A-B-A-B alternation",
    "empty_replies": "empty replies, 3 times",
}
CATEGORY_LABELS = {
    "stagnation": "Stagnation",
    "error_retry": "Error retries",
    "repeated_tool_call": "Repeated calls",
    "uncached_context": "Uncached context",
}


def task_names() -> pl.Expr:
    """`task_key` as a table shows it: for a `msg:` key (a hash, which says nothing) the first
    user message it stands for (`task_text`), else the key ("task:<id>")."""
    key = pl.col("task_key")
    has_text = key.str.starts_with("msg:") & pl.col("task_text").is_not_null()
    return pl.when(has_text).then(pl.col("task_text")).otherwise(key).alias("task_key")


def verdict_names(column: str = "verdict") -> pl.Expr:
    """A column of computed verdict keys, as their names ("small_sufficient" -> "Small model
    sufficient"); any other text is kept."""
    return pl.col(column).replace(VERDICT_NAMES)


def review_verdict_names(column: str = "verdict") -> pl.Expr:
    """A column of reviewers' verdicts: built-in ones by name ("needs_bigger_model" -> "Needs a
    bigger model"), custom labels as typed."""
    return pl.col(column).replace(VERDICT_LABELS)


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


VERDICT_TEXT = {
    "escalation_needed": "Escalation was needed: the smaller model stalled or failed, "
    "the larger one then succeeded.",
    "escalation_premature": "Premature escalation: handed to a larger model with no failure "
    "or stall before.",
    "escalation_futile": "Futile escalation: the run still failed after escalating.",
    "large_needed": "A larger model was needed: smaller tiers failed this task elsewhere.",
    "over_provisioned": "Over-provisioned: a smaller tier solved this task in other runs.",
    "small_sufficient": "The small model was sufficient.",
    "undetermined": "Undetermined: not enough evidence either way.",
}
FAILED_RUN_NEEDED_LARGER = (
    "A larger model was needed: this run failed, and a larger tier solved this task in other runs."
)


def verdict_text(verdict) -> str:
    """The sentence for a computed verdict (`queries.Verdict`), as Markdown-safe text. A run
    judged `large_needed` for failing where larger tiers succeeded says so: the generic
    sentence blames smaller tiers, and this run may have had none."""
    outcome = (verdict.evidence or {}).get("outcome")
    if verdict.verdict == "large_needed" and outcome in ("failure", "error"):
        return FAILED_RUN_NEEDED_LARGER
    return VERDICT_TEXT.get(verdict.verdict) or escape_markdown(verdict.verdict)


def task_text(run: dict) -> str:
    """The run's task: its id, or the first user message with the key that pairs its runs."""
    if run.get("task_id"):
        return run["task_id"]
    key, text = run.get("task_key"), run.get("task_text")
    if text:
        return f"“{text}” ({key})"
    return key or "not recorded"
