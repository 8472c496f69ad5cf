"""Deleting an upload leaves the store as if the trajectories it touched had never come in:
every rollup equal to a store built without them (the runs of the same tasks re-judged),
the upload's record gone so the file can come back, reviews kept for when it does.
"""

from __future__ import annotations

from analysis.pipeline import delete_upload, ingest_path
from store import db
from store.deletes import UploadImpact, upload_impact
from store.reviews import ReviewInput, add_review
from tests.analysis_builders import T, ingest_spans, trajectory, use_acme_prices, write_jsonl
from tests.test_analysis_refresh import scenario, snapshot


def fresh_store(tmp_path, name: str, spans: list[dict]):
    con = db.connect(tmp_path / f"{name}.duckdb")
    use_acme_prices(con)
    if spans:
        ingest_spans(con, tmp_path, f"{name}.jsonl", spans)
    return con


def by_trace(spans: list[dict], *traces: str) -> list[dict]:
    return [span for span in spans if span["trace_id"] in traces]


def counts(con) -> tuple:
    with con.cursor() as cur:
        return cur.execute(
            "SELECT (SELECT count(*) FROM spans), (SELECT count(*) FROM uploads), "
            "(SELECT count(*) FROM trajectories), (SELECT count(*) FROM reviews)"
        ).fetchone()


def test_deleting_an_upload_equals_never_having_ingested_it(con, tmp_path):
    """`loop` (small model, failed) is a sibling of `big` and `small` on task A: deleting it
    must re-judge them too, not only drop its own rows."""
    use_acme_prices(con)
    spans = scenario()
    first = ingest_spans(con, tmp_path, "loop.jsonl", by_trace(spans, "loop"))
    ingest_spans(con, tmp_path, "rest.jsonl", by_trace(spans, "esc", "big", "small"))
    with con.cursor() as cur:
        loop_spans = cur.execute("SELECT count(*) FROM spans WHERE trace_id = 'loop'").fetchone()
    expected_impact = UploadImpact(first.upload_id, "loop.jsonl", 1, loop_spans[0], 0)
    assert upload_impact(con, first.upload_id) == expected_impact
    assert delete_upload(con, first.upload_id) == expected_impact
    without = fresh_store(tmp_path, "without", by_trace(spans, "esc", "big", "small"))
    assert snapshot(con) == snapshot(without)
    db.close(tmp_path / "without.duckdb")
    # the record is gone: the same file is new again, and lands as it did the first time
    again = ingest_path(con, tmp_path / "loop.jsonl")
    assert (again.ok, again.already_ingested, again.upload_id) == (True, False, first.upload_id)
    everything = fresh_store(tmp_path, "everything", [])
    ingest_spans(everything, tmp_path, "loop.jsonl", by_trace(spans, "loop"))
    ingest_spans(everything, tmp_path, "rest.jsonl", by_trace(spans, "esc", "big", "small"))
    assert snapshot(con) == snapshot(everything)


def test_a_trajectory_split_across_uploads_goes_whole_and_reviews_stay(con, tmp_path):
    """An OTel exporter sends a trace in several batches (uploads): deleting one batch takes
    the whole trajectory, whose other spans carry values filled in from the deleted ones."""
    use_acme_prices(con)
    split = trajectory("split", [T(message="a"), T(message="b")])
    other = trajectory("other", [T(message="c")])
    first = ingest_path(con, write_jsonl(tmp_path / "batch1.jsonl", split[:2] + other))
    ingest_path(con, write_jsonl(tmp_path / "batch2.jsonl", split[2:]))
    add_review(con, ReviewInput("split", "ana", "wasteful"))
    before = counts(con)
    impact = delete_upload(con, first.upload_id)
    assert (impact.trajectories, impact.spans, impact.other_uploads_spans) == (
        2, len(split) + len(other), len(split) - 2,
    )  # fmt: skip
    # both trajectories and all their spans are gone, the second batch's record stays
    assert counts(con) == (0, before[1] - 1, 0, 1)
    with con.cursor() as cur:
        assert cur.execute("SELECT filename FROM uploads").fetchall() == [("batch2.jsonl",)]
    without = fresh_store(tmp_path, "empty", [])
    assert snapshot(con) == snapshot(without)


def test_an_unknown_upload_deletes_nothing(con, tmp_path):
    ingest_spans(con, tmp_path, "one.jsonl", trajectory("one", [T(message="a")]))
    before = counts(con)
    assert upload_impact(con, "up_nosuchupload") is None
    assert delete_upload(con, "up_nosuchupload") is None
    assert counts(con) == before


def test_files_whose_spans_went_with_another_upload_can_bring_them_back(con, tmp_path):
    """QA: part2 held half of a trajectory part1 also held; deleting part1 took part2's half
    too, and part2 was then refused as "already ingested", so the run came back incomplete."""
    use_acme_prices(con)
    split = trajectory("split", [T(message="a"), T(message="b")])
    part1 = write_jsonl(tmp_path / "part1.jsonl", split[:2] + trajectory("solo", [T(message="s")]))
    part2 = write_jsonl(tmp_path / "part2.jsonl", split[2:] + trajectory("keep", [T(message="k")]))
    first = ingest_path(con, part1)
    second = ingest_path(con, part2)
    delete_upload(con, first.upload_id)
    with con.cursor() as cur:
        lost = cur.execute("SELECT deleted_spans FROM uploads WHERE filename = 'part2.jsonl'")
        assert lost.fetchone() == (len(split) - 2,)
    assert ingest_path(con, part1).ok
    again = ingest_path(con, part2)
    assert (again.ok, again.already_ingested, again.upload_id) == (True, False, second.upload_id)
    assert (len(split), again.spans, again.warnings) == (
        3,  # the root and two calls: one call in part2
        1,
        [
            "2 spans were already stored (same trace_id, span_id)",  # the run part2 kept
            "1 span restored of the 1 deleted with another upload (as part2.jsonl)",
        ],
    )
    whole = fresh_store(tmp_path, "whole", [])
    ingest_path(whole, part1)
    ingest_path(whole, part2)
    assert snapshot(con) == snapshot(whole)
    uploads_sql = "SELECT filename, span_count, deleted_spans FROM uploads ORDER BY filename"
    with con.cursor() as cur, whole.cursor() as other:
        assert cur.execute(uploads_sql).fetchall() == other.execute(uploads_sql).fetchall()
    # and once whole again, the file is already ingested, as any other
    assert ingest_path(con, part2).already_ingested
