"""The review queue: which runs a team should look at next, and how humans judged the rest.

Reviews are append-only (store/reviews.py); "current" means the versions nothing
supersedes. Agreement compares a reviewer's verdict with the computed one where both
speak about the same question — did the run need the big model, or not.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from analysis.filters import NO_FILTER, TrajectoryFilter
from analysis.sqlread import read_frame
from store.reviews import CURRENT_REVIEWS_CTE, FIRSTS_CTE

CURRENT_REVIEWS = CURRENT_REVIEWS_CTE.format(scope="")

# Priority label -> ORDER BY fragment (fixed text; the label comes from an allow-list).
PRIORITIES = {
    "Most wasted tokens": "t.waste_tokens DESC NULLS LAST",
    "Most wasted USD": "t.waste_usd DESC NULLS LAST",
    "Highest cost": "t.cost_usd DESC NULLS LAST",
    "Verdict to check first": """CASE t.verdict
        WHEN 'escalation_premature' THEN 0 WHEN 'over_provisioned' THEN 1
        WHEN 'escalation_futile' THEN 2 WHEN 'large_needed' THEN 3
        WHEN 'escalation_needed' THEN 4 ELSE 5 END""",
    "Newest": "t.start_time DESC NULLS LAST",
}

QUEUE_SQL = f"""
WITH {CURRENT_REVIEWS}
SELECT t.trace_id, t.agent_name, t.primary_model, t.task_key, t.start_time, t.outcome,
       t.verdict AS computed_verdict, t.waste_tokens, t.waste_usd, t.cost_usd, t.turns,
       t.task_text
FROM trajectories t
{{where}} {{joiner}} NOT EXISTS (
    SELECT 1 FROM current_reviews r WHERE r.trace_id = t.trace_id {{by_reviewer}}
)
ORDER BY {{order}}, t.trace_id
LIMIT ?
"""

# Each current review with the time its first version was written and its count of versions.
REVIEWED_SQL = f"""
WITH RECURSIVE {CURRENT_REVIEWS}, {FIRSTS_CTE}
SELECT t.trace_id, r.author, r.verdict AS human_verdict, t.verdict AS computed_verdict,
       r.comment, r.span_id, r.created_at, f.first_created_at, f.versions, r.review_id,
       t.agent_name, t.primary_model, t.task_key, t.outcome, t.cost_usd, t.waste_tokens,
       t.task_text
FROM current_reviews r JOIN trajectories t USING (trace_id) JOIN firsts f USING (review_id)
{{where}}
ORDER BY r.created_at DESC, r.review_id
"""

# Which computed verdicts say the same thing as a reviewer's verdict.
AGREEING_VERDICTS = {
    "needs_bigger_model": {"large_needed", "escalation_needed"},
    "over_provisioned": {"over_provisioned", "escalation_premature"},
    "good": {"small_sufficient", "escalation_needed"},
}


@dataclass(frozen=True)
class Agreement:
    comparable: int
    agreeing: int

    @property
    def rate(self) -> float | None:
        return self.agreeing / self.comparable if self.comparable else None


def review_queue(
    con: duckdb.DuckDBPyConnection,
    priority: str = "Most wasted tokens",
    flt: TrajectoryFilter = NO_FILTER,
    limit: int = 200,
    reviewer: str | None = None,
) -> pl.DataFrame:
    """Trajectories nobody has reviewed yet (or, given a `reviewer`, that one has not, for a
    team that reviews runs twice), most deserving first."""
    if priority not in PRIORITIES:
        raise ValueError(f"unknown priority {priority!r}; choose one of {list(PRIORITIES)}")
    where, params = flt.where("t.")
    sql = QUEUE_SQL.format(
        where=where,
        joiner="AND" if where else "WHERE",
        order=PRIORITIES[priority],
        by_reviewer="AND r.author = ?" if reviewer else "",
    )
    return read_frame(con, sql, [*params, *([reviewer] if reviewer else []), limit])


def reviewed(con: duckdb.DuckDBPyConnection, flt: TrajectoryFilter = NO_FILTER) -> pl.DataFrame:
    """Every current review with the computed verdict beside it, newest first."""
    where, params = flt.where("t.")
    return read_frame(con, REVIEWED_SQL.format(where=where), params)


def agreement(reviews: pl.DataFrame) -> Agreement:
    """How often the computed verdict agrees with reviewers who judged the same question."""
    comparable = agreeing = 0
    for human, computed in reviews.select("human_verdict", "computed_verdict").iter_rows():
        if human in AGREEING_VERDICTS and computed not in (None, "undetermined"):
            comparable += 1
            agreeing += computed in AGREEING_VERDICTS[human]
    return Agreement(comparable, agreeing)


def disagreements(reviews: pl.DataFrame) -> pl.DataFrame:
    """Runs where two reviewers gave different verdicts on the same thing: the run, or the
    same span of it. A bug pinned to a span beside verdicts on the run is no dispute, whoever
    pinned it. One row per run and verdict, with who gave it (trace_id, task_key, task_text,
    human_verdict, reviewers)."""
    judged = reviews.filter(pl.col("human_verdict").is_not_null())
    pairs = judged.select(
        "trace_id", pl.col("span_id").fill_null("").alias("about"), "author", "human_verdict"
    )
    disputed = (
        pairs.join(pairs, on=["trace_id", "about"], suffix="_other")
        .filter(
            (pl.col("author") != pl.col("author_other"))
            & (pl.col("human_verdict") != pl.col("human_verdict_other"))
        )["trace_id"]
        .unique()
        .implode()
    )
    return (
        judged.filter(pl.col("trace_id").is_in(disputed))
        .group_by("trace_id", "task_key", "task_text", "human_verdict")
        .agg(pl.col("author").unique().sort().str.join(", ").alias("reviewers"))
        .sort("trace_id", "human_verdict")
    )


def confusion(reviews: pl.DataFrame) -> pl.DataFrame:
    """Counts of (reviewer verdict, computed verdict) pairs."""
    return (
        reviews.group_by("human_verdict", "computed_verdict")
        .len("reviews")
        .sort(
            "reviews",
            "human_verdict",
            "computed_verdict",
            descending=[True, False, False],
            nulls_last=True,
        )
    )


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CSV_HELP = (
    "UTF-8, opens in Excel. A text that starts with = + - or @ (a Markdown bullet too) gets a "
    "' in front, so that a spreadsheet shows it rather than running it as a formula."
)


def reviews_csv(reviews: pl.DataFrame) -> bytes:
    """CSV of the reviews, UTF-8 with a byte-order mark (Excel reads it as UTF-8 only then);
    text that a spreadsheet would run as a formula (=, +, -, @, tab, CR first) is prefixed
    with ', which `CSV_HELP` says."""
    text_columns = [name for name, dtype in reviews.schema.items() if dtype == pl.String]
    defused = reviews.with_columns(
        pl.when(_starts_with_any(name))
        .then(pl.lit("'") + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name in text_columns
    )
    times = [name for name in ("created_at", "first_created_at") if name in reviews.columns]
    return defused.with_columns(pl.col(times).cast(pl.String)).write_csv().encode("utf-8-sig")


def _starts_with_any(name: str) -> pl.Expr:
    expr = pl.lit(False)
    for prefix in FORMULA_START:
        expr = expr | pl.col(name).str.starts_with(prefix)
    return expr
