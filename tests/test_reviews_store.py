"""Reviews are append-only: edits keep history, concurrent reviewers never overwrite."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from store.reviews import (
    MAX_COMMENT,
    ReviewError,
    ReviewInput,
    StaleEdit,
    add_review,
    current_reviews,
    edit_review,
    review_history,
)


def test_add_and_list_current_reviews(con):
    add_review(con, ReviewInput("t1", "ana", "wasteful", "loops on read_file"))
    add_review(con, ReviewInput("t1", "bo", None, "agree", span_id="s7"))
    add_review(con, ReviewInput("t2", "ana", "good"))
    rows = current_reviews(con, "t1").select("author", "verdict", "comment", "span_id").rows()
    assert rows == [("ana", "wasteful", "loops on read_file", None), ("bo", None, "agree", "s7")]


def test_edit_keeps_the_history(con):
    first = add_review(con, ReviewInput("t1", "ana", "good"))
    second = edit_review(con, first, "ana", "needs_bigger_model", "small model stalled at turn 6")
    current = current_reviews(con, "t1")
    assert current.select("review_id", "verdict", "edited").rows() == [
        (second, "needs_bigger_model", True)
    ]
    history = review_history(con, second).select("verdict", "comment").rows()
    assert history == [("needs_bigger_model", "small model stalled at turn 6"), ("good", None)]


def test_an_edited_review_keeps_its_place_and_its_first_time(con):
    first = add_review(con, ReviewInput("t1", "ana", "good"))
    add_review(con, ReviewInput("t1", "bo", "bug"))
    edited = edit_review(con, first, "ana", "wasteful", "on second look")
    current = current_reviews(con, "t1")
    assert current["author"].to_list() == ["ana", "bo"]  # not moved after bo's
    history = review_history(con, edited)["created_at"].to_list()
    assert current["first_created_at"][0] == history[-1]
    assert current["created_at"][0] == history[0]


def test_editing_a_stale_version_is_refused_naming_the_latest(con):
    first = add_review(con, ReviewInput("t1", "ana", "good"))
    second = edit_review(con, first, "ana", "bug", None)
    third = edit_review(con, second, "ana", "wasteful", None)
    for stale in (first, second):
        with pytest.raises(StaleEdit, match="edited meanwhile") as refused:
            edit_review(con, stale, "ana", "good", "from an old tab")
        assert refused.value.latest_id == third
    assert current_reviews(con, "t1")["review_id"].to_list() == [third]


def test_a_comment_longer_than_the_limit_is_refused_when_added_or_edited(con):
    long = "x" * (MAX_COMMENT + 1)
    with pytest.raises(ReviewError, match="a comment of 5,001 characters: at most 5,000 fit"):
        add_review(con, ReviewInput("t1", "ana", None, long))
    first = add_review(con, ReviewInput("t1", "ana", None, "x" * MAX_COMMENT))
    with pytest.raises(ReviewError, match="at most 5,000 fit"):
        edit_review(con, first, "ana", None, long)


@pytest.mark.parametrize(
    ("review", "message"),
    [
        (ReviewInput("t1", "a" * 81, "good"), "a name of 81 characters: at most 80 fit"),
        (ReviewInput("t1", "ana", "L" * 61), "a custom label of 61 characters: at most 60 fit"),
    ],
)
def test_a_name_or_label_over_its_limit_is_refused_with_its_length(con, review, message):
    with pytest.raises(ReviewError, match=message):
        add_review(con, review)
    assert current_reviews(con, "t1").is_empty()


@pytest.mark.parametrize(
    "review, message",
    [
        (ReviewInput("t1", "  ", "good"), "needs an author"),
        (ReviewInput("t1", "ana", None, "   "), "verdict or a comment"),
    ],
)
def test_invalid_reviews_are_refused(con, review, message):
    with pytest.raises(ReviewError, match=message):
        add_review(con, review)
    with con.cursor() as cur:
        assert cur.execute("SELECT count(*) FROM reviews").fetchone()[0] == 0


def test_concurrent_reviewers_all_persist(con):
    reviews = [ReviewInput("t1", f"reviewer-{i}", "wasteful", f"note {i}") for i in range(16)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = list(pool.map(lambda r: add_review(con, r), reviews))
    assert len(set(ids)) == 16
    authors = sorted(current_reviews(con, "t1")["author"].to_list())
    assert authors == sorted(f"reviewer-{i}" for i in range(16))
