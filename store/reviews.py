"""Reviews: human verdicts and comments on trajectories, append-only so edits keep history.

An edit is a new row that `supersedes` the old one; the current state of a review is the
row nothing supersedes. Two reviewers writing at once each add their own row — nobody
overwrites anybody.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import duckdb
import polars as pl

from store.db import WRITE_LOCK, transaction

VERDICT_LABELS = {
    "good": "Good",
    "wasteful": "Wasteful",
    "needs_bigger_model": "Needs a bigger model",
    "over_provisioned": "Over-provisioned",
    "bug": "Bug",
}
MAX_COMMENT = 5000  # characters
MAX_LABEL = 60  # of a custom verdict label
MAX_AUTHOR = 80  # of a reviewer's name

INSERT_REVIEW_SQL = """
INSERT INTO reviews (review_id, trace_id, span_id, author, verdict, comment, supersedes)
VALUES (?, ?, ?, ?, ?, ?, ?)
"""
# The versions nothing supersedes; `{scope}`: "" or more conditions on `r`.
CURRENT_REVIEWS_CTE = """
current_reviews AS (
    SELECT r.* FROM reviews r
    WHERE NOT EXISTS (SELECT 1 FROM reviews newer WHERE newer.supersedes = r.review_id) {scope}
)"""
# After CURRENT_REVIEWS_CTE, in a WITH RECURSIVE: `firsts`, for each current review, when its
# first version was written and how many versions it has (an edit is a new row).
FIRSTS_CTE = """
versions AS (
    SELECT review_id AS current_id, supersedes, created_at FROM current_reviews
    UNION ALL
    SELECT v.current_id, r.supersedes, r.created_at
    FROM reviews r JOIN versions v ON r.review_id = v.supersedes
),
firsts AS (
    SELECT current_id AS review_id, min(created_at) AS first_created_at, count(*) AS versions
    FROM versions GROUP BY current_id
)"""
# Current versions in the order their reviews were first written (an edit keeps its place).
CURRENT_REVIEWS_SQL = f"""
WITH RECURSIVE {CURRENT_REVIEWS_CTE.format(scope="AND r.trace_id = ?")}, {FIRSTS_CTE}
SELECT c.review_id, c.trace_id, c.span_id, c.author, c.verdict, c.comment, c.created_at,
       c.supersedes IS NOT NULL AS edited, f.first_created_at
FROM current_reviews c JOIN firsts f USING (review_id)
ORDER BY f.first_created_at, c.review_id
"""
HISTORY_SQL = """
WITH RECURSIVE chain AS (
    SELECT review_id, supersedes, author, verdict, comment, created_at, 0 AS depth
    FROM reviews WHERE review_id = ?
    UNION ALL
    SELECT r.review_id, r.supersedes, r.author, r.verdict, r.comment, r.created_at, chain.depth + 1
    FROM reviews r JOIN chain ON r.review_id = chain.supersedes
)
SELECT review_id, author, verdict, comment, created_at FROM chain ORDER BY depth
"""
FIND_SQL = "SELECT trace_id, span_id FROM reviews WHERE review_id = ?"
SUPERSEDED_SQL = "SELECT EXISTS (SELECT 1 FROM reviews WHERE supersedes = ?)"
LATEST_SQL = """
WITH RECURSIVE chain AS (
    SELECT review_id, 0 AS depth FROM reviews WHERE review_id = ?
    UNION ALL
    SELECT r.review_id, chain.depth + 1 FROM reviews r JOIN chain ON r.supersedes = chain.review_id
)
SELECT review_id FROM chain ORDER BY depth DESC LIMIT 1
"""


@dataclass(frozen=True)
class ReviewInput:
    trace_id: str
    author: str
    verdict: str | None = None
    comment: str | None = None
    span_id: str | None = None


class ReviewError(ValueError):
    """A review that cannot be stored as asked (empty, unknown target, stale edit)."""


class StaleEdit(ReviewError):
    """An edit of a version someone replaced meanwhile; `latest_id` is the current one."""

    def __init__(self, latest_id: str):
        super().__init__("this review was edited meanwhile")
        self.latest_id = latest_id


def add_review(con: duckdb.DuckDBPyConnection, review: ReviewInput) -> str:
    _check(review)
    review_id = uuid.uuid4().hex
    with WRITE_LOCK, con.cursor() as cur, transaction(cur):
        cur.execute(
            INSERT_REVIEW_SQL,
            [
                review_id,
                review.trace_id,
                review.span_id,
                review.author.strip(),
                review.verdict,
                _clean(review.comment),
                None,
            ],
        )
    return review_id


def edit_review(
    con: duckdb.DuckDBPyConnection,
    review_id: str,
    author: str,
    verdict: str | None,
    comment: str | None,
) -> str:
    """Replace a review's verdict/comment; the old version stays in the history."""
    new_id = uuid.uuid4().hex
    with WRITE_LOCK, con.cursor() as cur, transaction(cur):
        found = cur.execute(FIND_SQL, [review_id]).fetchone()
        if found is None:
            raise ReviewError(f"no review {review_id!r}")
        if cur.execute(SUPERSEDED_SQL, [review_id]).fetchone()[0]:
            raise StaleEdit(cur.execute(LATEST_SQL, [review_id]).fetchone()[0])
        trace_id, span_id = found
        _check(ReviewInput(trace_id, author, verdict, comment, span_id))
        cur.execute(
            INSERT_REVIEW_SQL,
            [new_id, trace_id, span_id, author.strip(), verdict, _clean(comment), review_id],
        )
    return new_id


def current_reviews(con: duckdb.DuckDBPyConnection, trace_id: str) -> pl.DataFrame:
    with con.cursor() as cur:
        return cur.sql(CURRENT_REVIEWS_SQL, params=[trace_id]).pl()


def review_history(con: duckdb.DuckDBPyConnection, review_id: str) -> pl.DataFrame:
    """The review and every version it replaced, newest first."""
    with con.cursor() as cur:
        return cur.sql(HISTORY_SQL, params=[review_id]).pl()


def _check(review: ReviewInput) -> None:
    if not review.author or not review.author.strip():
        raise ReviewError("a review needs an author name")
    check_length("a name", review.author, MAX_AUTHOR)
    if not review.verdict and not _clean(review.comment):
        raise ReviewError("a review needs a verdict or a comment")
    if review.verdict is not None and not review.verdict.strip():
        raise ReviewError("an empty custom verdict label")
    check_length("a custom label", review.verdict, MAX_LABEL)
    check_length("a comment", review.comment, MAX_COMMENT)


def check_length(what: str, text: str | None, most: int) -> None:
    """Refused with a message rather than cut or dropped: a browser's own limit drops a paste
    that would pass it without a word."""
    if text and len(text) > most:
        raise ReviewError(f"{what} of {len(text):,} characters: at most {most:,} fit")


def _clean(comment: str | None) -> str | None:
    return comment.strip() if comment and comment.strip() else None
