"""Sentences about one run, from its rollup row and its turns: its score, tokens, cost and
waste, as the Trajectory page's header and the HTML report state them. Pure: text in, text out.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from ui import format as fmt
from ui.text import escape_markdown

COST_SOURCE_TEXT = {
    "computed": "computed from the model price table",
    "reported": "as reported by the source",
    "partial": "partly computed, partly reported",
}


def score_text(run: dict[str, Any]) -> str:
    if run.get("score") is not None:
        return f"score {run['score']:.2f}"
    return "inferred, no score" if run.get("outcome_inferred") else "no score"


def waste_tokens_text(run: dict[str, Any]) -> str:
    wasted, total = run.get("waste_tokens"), _total_tokens(run)
    if wasted is None:  # some turn's token or cache counts are missing (the headline says which)
        return "not measurable"
    share = f", {wasted / total:.0%} of all" if total else ""
    return f"{fmt.tokens(wasted)}{share}"


def waste_share_text(run: dict[str, Any]) -> str:
    """The Wasted tile's badge, short enough for a sixth of a 1280-px page ("61% of tokens";
    "5,764 tokens, 61% of all" was cut to "5,764 tokens, 61…"); the tile's help has both."""
    wasted, total = run.get("waste_tokens"), _total_tokens(run)
    if wasted is None:
        return "not measurable"
    return f"{wasted / total:.0%} of tokens" if total else fmt.tokens(wasted)


def _total_tokens(run: dict[str, Any]) -> int | None:
    if run.get("input_tokens") is None or run.get("output_tokens") is None:
        return None
    return run["input_tokens"] + run["output_tokens"]


def models_text(models: pl.DataFrame) -> str:
    """`model (tier, n calls) → …` in call order, escaped for Markdown."""
    if models.is_empty():
        return "no model calls"
    parts = [
        f"{escape_markdown(m['model'] or 'model not recorded')} "
        f"({m['tier'] or 'tier unknown'}, {fmt.counted(m['calls'], 'call')})"
        for m in models.iter_rows(named=True)
    ]
    return " → ".join(parts)


TOKEN_PARTS = {
    "input_tokens": "input",
    "cache_read_tokens": "cached",
    "cache_write_tokens": "cache write",
    "output_tokens": "output",
    "reasoning_tokens": "reasoning",
}


def tokens_text(run: dict[str, Any], turns: pl.DataFrame) -> str:
    """The run's token totals; a total that some calls did not record is marked "≥" (it sums
    the calls that did) and those calls are counted, never read as 0. A refused call (failed,
    no usage, no reported cost: `analysis.cost.REFUSED_CALL_SQL`) processed nothing, so it is
    not missing anything; a failed call the provider billed did, and its tokens are missing."""
    refused = (
        (pl.col("status") == "error")
        & pl.col("input_tokens").is_null()
        & pl.col("output_tokens").is_null()
        & (pl.col("cost_source").fill_null("") != "reported")
    )
    answered = turns.filter(~refused)
    missing = {
        column: answered[column].null_count()
        for column in TOKEN_PARTS
        if run.get(column) is not None and answered[column].null_count()
    }

    def total(column: str) -> str:
        text = fmt.tokens(run.get(column))
        return f"≥ {text}" if column in missing else text

    text = (
        f"input {total('input_tokens')} (cached {total('cache_read_tokens')}, "
        f"cache write {total('cache_write_tokens')}) · output {total('output_tokens')} "
        f"(reasoning {total('reasoning_tokens')})"
    )
    if missing:
        unrecorded = "; ".join(
            f"{TOKEN_PARTS[column]} missing on {count:,} of {answered.height:,} calls"
            for column, count in missing.items()
        )
        text += f" · ≥: a sum over the calls that recorded it ({unrecorded})"
    return text


def reported_cost_text(turns: pl.DataFrame, reported: tuple[float | None, int]) -> str:
    """The source's own figure, when the price table's was used instead (docs/metrics.md: a
    price wins) and the two differ: a team comparing with its tracing tool sees both."""
    total, calls = reported
    if total is None or set(turns["cost_source"].drop_nulls().to_list()) != {"computed"}:
        return ""
    computed = turns["cost_usd"].sum()
    if abs(total - computed) <= 0.01 * computed:  # the same figure, to the cent's cent
        return ""
    word = "call" if calls == 1 else "calls"
    return f"; the source itself reported {fmt.fine_usd(total)} for {calls} {word}"


def cost_source_text(turns: pl.DataFrame) -> str:
    """Where the run's cost comes from, and the calls it leaves out: the cost is the sum over
    the calls that have one, so a call without one makes it a lower bound. A refused call
    (failed, no usage) costs $0 and is neither left out nor an estimate."""
    priced = turns.filter(pl.col("cost_usd").is_not_null())
    if priced.is_empty():
        return "cost not recorded"
    sources = priced["cost_source"].unique().to_list()
    text = COST_SOURCE_TEXT[sources[0] if len(sources) == 1 else "partial"]
    unpriced = turns.filter(pl.col("cost_usd").is_null())
    if not unpriced.is_empty():
        counted = unpriced.filter(
            pl.col("input_tokens").is_not_null() & pl.col("output_tokens").is_not_null()
        )
        reasons = []
        if not counted.is_empty():
            models = ", ".join(sorted(set(counted["model"].drop_nulls().to_list()))) or "its model"
            reasons.append(f"{counted.height} with token counts but no price for {models}")
        if (blank := unpriced.height - counted.height) > 0:
            reasons.append(f"{blank} with no token counts or reported cost")
        verb = "has" if unpriced.height == 1 else "have"
        text += (
            f"; {unpriced.height} of {turns.height} calls {verb} no cost "
            f"({'; '.join(reasons)}), so the cost covers the other {priced.height} "
            "(a lower bound)"
        )
    uncounted = priced.filter(
        (pl.col("cost_source") == "computed")
        & pl.col("cache_read_tokens").is_null()
        & pl.col("input_tokens").is_not_null()
    ).height
    if uncounted:
        if uncounted == turns.height:
            calls = "all its calls record"
        else:
            calls = f"{uncounted} of its calls {'records' if uncounted == 1 else 'record'}"
        text += f"; {calls} no cached input, priced as if none was cached (an upper bound)"
    return text
