"""Writes that arrive together are committed together (store.writes.write_spans): the same
store as one after another, one refresh for all, and a write that fails fails alone."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pyarrow as pa
import pytest

from analysis.pipeline import ingest_path
from analysis.refresh import refresh_for_traces
from ingest.canonical import to_table
from store import db
from store.db import WRITE_LOCK
from store.writes import UploadMeta, queued_writes, write_spans
from tests.analysis_builders import use_acme_prices, write_jsonl
from tests.test_analysis_refresh import one_file, scenario, snapshot
from tests.test_store import counts, span


def at_once(calls: list) -> list:
    """Run `calls` on threads that all queue while this thread holds the write lock, so the
    first to take the lock after it commits them as one group; their results in order."""
    outcomes: list = [None] * len(calls)

    def run(index: int) -> None:
        try:
            outcomes[index] = calls[index]()
        except Exception as exc:  # handed to the test as the call's outcome
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    with WRITE_LOCK:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60  # a call that fails before it queues ends its thread
        while queued_writes() < len(calls) and all(t.is_alive() for t in threads):
            assert time.monotonic() < deadline
            time.sleep(0.005)
        assert queued_writes() == len(calls), outcomes
    for thread in threads:
        thread.join()
    return outcomes


def test_batches_committed_as_one_group_give_the_rollups_of_one_file(con, tmp_path):
    """Three batches that cut across trajectories (each has spans of several runs, and runs
    have spans in several batches): the tool-argument fills, turns, waste, tiers and verdicts
    all come out as from the whole file."""
    use_acme_prices(con)
    spans = scenario()
    files = [write_jsonl(tmp_path / f"batch{n}.jsonl", spans[n::3]) for n in range(3)]
    reports = at_once([lambda path=path: ingest_path(con, path) for path in files])
    assert [(r.ok, r.spans) for r in reports] == [(True, len(spans[n::3])) for n in range(3)]
    assert snapshot(con) == one_file()
    with con.cursor() as cur:
        uploads = cur.execute("SELECT filename, span_count FROM uploads ORDER BY 1").fetchall()
    assert uploads == [(f"batch{n}.jsonl", len(spans[n::3])) for n in range(3)]


def test_a_group_refreshes_the_rollups_once_for_all_its_traces(con):
    refreshed: list[list[str]] = []

    def refresh(cur, trace_ids):
        refreshed.append(list(trace_ids))
        refresh_for_traces(cur, trace_ids)

    tables = {"a": [span("t2", "s1")], "b": [span("t1", "s1"), span("t2", "s2")]}
    results = at_once(
        [
            lambda name=name, rows=rows: write_spans(
                con, to_table(rows), UploadMeta(name, f"sha-{name}", "span_jsonl", 1), refresh
            )
            for name, rows in tables.items()
        ]
    )
    assert [(r.spans_inserted, r.trace_ids) for r in results] == [(1, ["t2"]), (2, ["t1", "t2"])]
    assert refreshed == [["t1", "t2"]]
    assert counts(con) == (3, 2, 2)


def test_a_write_that_fails_in_a_group_fails_alone(con):
    good = to_table([span("t1", "s1")])
    broken = to_table([span("t2", "s1")])
    broken = broken.set_column(broken.schema.get_field_index("name"), "name", pa.nulls(1))
    later = to_table([span("t3", "s1")])
    writes = [("good", good), ("broken", broken), ("later", later)]
    outcomes = at_once(
        [
            lambda name=name, table=table: write_spans(
                con, table, UploadMeta(name, f"sha-{name}", "span_jsonl", 1), refresh_for_traces
            )
            for name, table in writes
        ]
    )
    assert [o.spans_inserted for o in (outcomes[0], outcomes[2])] == [1, 1]
    assert "NOT NULL" in str(outcomes[1])
    with con.cursor() as cur:
        stored = cur.execute("SELECT trace_id FROM trajectories ORDER BY 1").fetchall()
        uploads = cur.execute("SELECT filename FROM uploads ORDER BY 1").fetchall()
    assert stored == [("t1",), ("t3",)]
    assert uploads == [("good",), ("later",)]


def test_the_same_file_twice_in_a_group_is_stored_once(con):
    table = to_table([span("t1", "s1"), span("t1", "s2")])
    first, second = at_once(
        [lambda: write_spans(con, table, UploadMeta("a.jsonl", "sha-1", "span_jsonl", 1))] * 2
    )
    assert (first.spans_inserted, first.already_ingested) == (2, False)
    assert (second.spans_inserted, second.already_ingested) == (0, True)
    assert counts(con)[:2] == (2, 1)


def test_writes_to_two_stores_queued_together_each_land_in_their_own(tmp_path: Path):
    other_path = tmp_path / "other.duckdb"
    first, other = db.connect(tmp_path / "first.duckdb"), db.connect(other_path)
    try:
        at_once(
            [
                lambda: write_spans(first, to_table([span("t1", "s1")]), UploadMeta("a", "sha-a", "span_jsonl", 1)),
                lambda: write_spans(other, to_table([span("t9", "s1")]), UploadMeta("b", "sha-b", "span_jsonl", 1)),
            ]
        )  # fmt: skip
        with first.cursor() as cur:
            assert cur.execute("SELECT trace_id FROM spans").fetchall() == [("t1",)]
        with other.cursor() as cur:
            assert cur.execute("SELECT trace_id FROM spans").fetchall() == [("t9",)]
    finally:
        db.close(tmp_path / "first.duckdb")
        db.close(other_path)


@pytest.mark.parametrize("limit", [1, 3])
def test_a_group_takes_at_most_its_row_limit_but_always_one_write(con, monkeypatch, limit):
    monkeypatch.setattr("store.writes.GROUP_MAX_ROWS", limit)
    refreshed: list[list[str]] = []

    def refresh(cur, trace_ids):
        refreshed.append(list(trace_ids))

    sizes = {"a": 2, "b": 1, "c": 2}
    at_once(
        [
            lambda name=name, size=size: write_spans(
                con,
                to_table([span(f"t{name}", f"s{i}") for i in range(size)]),
                UploadMeta(name, f"sha-{name}", "span_jsonl", 1),
                refresh,
            )
            for name, size in sizes.items()
        ]
    )
    groups = sorted(sorted(group) for group in refreshed)
    if limit == 1:  # each write alone, the first always taken though over the limit
        assert groups == [["ta"], ["tb"], ["tc"]]
    else:  # threads queue in any order: 2 + 1 fit in 3, the third 2 waits for the next group
        assert sorted(map(len, groups)) == [1, 2]
        assert sorted(t for group in groups for t in group) == ["ta", "tb", "tc"]
    assert counts(con)[:2] == (5, 3)
