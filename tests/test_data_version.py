"""The pages' cache keys: the data version changes on an ingest and a price edit, the review
version on a review, and each only then (a review must not make every page recompute)."""

from __future__ import annotations

import json

from analysis.pipeline import delete_upload, ingest_path
from store.reviews import ReviewInput, add_review


def versions(db_path, monkeypatch) -> tuple[str, str]:
    monkeypatch.setenv("AGENTTIME_DB", str(db_path))
    from ui.db import data_version, review_version

    return data_version(), review_version()


def test_versions_follow_ingests_prices_and_reviews(con, db_path, tmp_path, monkeypatch):
    empty = versions(db_path, monkeypatch)
    assert versions(db_path, monkeypatch) == empty
    path = tmp_path / "s.jsonl"
    path.write_text(
        json.dumps({"trace_id": "t", "span_id": "s", "name": "n", "start_time": 1, "end_time": 2})
        + "\n"
    )
    ingest_path(con, path)
    ingested = versions(db_path, monkeypatch)
    add_review(con, ReviewInput("t", "ana", "good"))
    reviewed = versions(db_path, monkeypatch)
    with con.cursor() as cur:
        cur.execute("UPDATE models SET output_per_mtok = 99 WHERE pattern = 'gpt-4.1%'")
    repriced = versions(db_path, monkeypatch)
    data = [empty[0], ingested[0], reviewed[0], repriced[0]]
    review = [empty[1], ingested[1], reviewed[1], repriced[1]]
    assert data[1] == data[2] and len(set(data)) == 3  # a review leaves the data version
    assert review[0] == review[1] != review[2] == review[3]


def test_deleting_the_newest_upload_is_a_new_version(con, db_path, tmp_path, monkeypatch):
    """Back to the uploads of before the newest one, but not to its spans: a trajectory it
    touched loses the spans an older upload sent too, so the pages must not reuse the older
    version's cached reads."""
    older, newer = tmp_path / "older.jsonl", tmp_path / "newer.jsonl"
    older.write_text(
        json.dumps({"trace_id": "t", "span_id": "a", "name": "n", "start_time": 1, "end_time": 2})
        + "\n"
    )
    newer.write_text(
        json.dumps({"trace_id": "t", "span_id": "b", "name": "n", "start_time": 2, "end_time": 3})
        + "\n"
    )
    ingest_path(con, older)
    before_newer = versions(db_path, monkeypatch)[0]
    report = ingest_path(con, newer)
    delete_upload(con, report.upload_id)
    assert versions(db_path, monkeypatch)[0] != before_newer
