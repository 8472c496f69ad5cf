"""The cache key of every page changes on an ingest, a review and a price edit — and only then."""

from __future__ import annotations

import json

from analysis.pipeline import ingest_path
from store.reviews import ReviewInput, add_review


def version(db_path, monkeypatch) -> str:
    monkeypatch.setenv("AGENTTIME_DB", str(db_path))
    from ui.db import data_version

    return data_version()


def test_version_follows_ingests_reviews_and_prices(con, db_path, tmp_path, monkeypatch):
    empty = version(db_path, monkeypatch)
    assert version(db_path, monkeypatch) == empty
    path = tmp_path / "s.jsonl"
    path.write_text(
        json.dumps({"trace_id": "t", "span_id": "s", "name": "n", "start_time": 1, "end_time": 2})
        + "\n"
    )
    ingest_path(con, path)
    ingested = version(db_path, monkeypatch)
    add_review(con, ReviewInput("t", "ana", "good"))
    reviewed = version(db_path, monkeypatch)
    with con.cursor() as cur:
        cur.execute("UPDATE models SET output_per_mtok = 99 WHERE pattern = 'gpt-4.1%'")
    repriced = version(db_path, monkeypatch)
    assert len({empty, ingested, reviewed, repriced}) == 4
