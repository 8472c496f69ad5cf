"""The store's promises: schema idempotent, writes atomic and idempotent per file."""

from __future__ import annotations

import pyarrow as pa
import pytest

from analysis.pipeline import ingest_path
from ingest.canonical import to_table
from store import db
from store.writes import UploadMeta, write_spans


def span(trace: str, span_id: str, **extra) -> dict:
    row = {
        "trace_id": trace,
        "span_id": span_id,
        "name": "step",
        "kind": "llm",
        "source": "jsonl",
        "status": "ok",
        "start_ns": 1_700_000_000_000_000_000,
        "end_ns": 1_700_000_001_500_000_000,
    }
    return row | extra


def counts(con) -> tuple[int, int, int]:
    with con.cursor() as cur:
        return cur.execute(
            "SELECT (SELECT count(*) FROM spans), (SELECT count(*) FROM uploads),"
            " (SELECT count(*) FROM trajectories)"
        ).fetchone()


def test_schema_creation_is_idempotent(db_path):
    first = db.connect(db_path)
    write_spans(first, to_table([span("t1", "s1")]), UploadMeta("a", "sha-a", "span_jsonl", 10))
    db.close(db_path)
    again = db.connect(db_path)
    assert counts(again)[:2] == (1, 1)
    db.close(db_path)


def test_span_content_is_stored_zstd_compressed(con):
    """Message text and the attributes JSON are most of a store; zstd keeps them at about a
    third of DuckDB's default string compression and writes them faster at commit."""
    rows = [
        span("t1", f"s{i}", input=f'[{{"role": "user", "content": "question {i} ' + "x" * 400 + '"}]',
             output=f"answer {i}", attributes=f'{{"i": {i}}}')
        for i in range(200)
    ]  # fmt: skip
    write_spans(con, to_table(rows), UploadMeta("z.jsonl", "zz", "jsonl", 1))
    with con.cursor() as cur:
        cur.execute("CHECKPOINT")
        stored = cur.execute(
            "SELECT column_name, list(DISTINCT compression ORDER BY compression) "
            "FROM pragma_storage_info('spans') WHERE segment_type IN ('VARCHAR', 'JSON') "
            "AND column_name IN ('input', 'output', 'attributes', 'name') GROUP BY 1"
        ).fetchall()
    stored = dict(stored)
    assert (stored["input"], stored["output"], stored["attributes"]) == (["ZSTD"],) * 3
    assert "ZSTD" not in stored["name"]  # short columns keep DuckDB's own choice


def test_a_large_upload_reaches_the_file_before_its_commit(con, db_path):
    """A 100k-span upload is written, compressed, in row groups of 16,384 rows while its
    transaction is still open, not all held in memory and compressed at commit."""
    rows = 100_000
    table = pa.table(
        {
            "trace_id": pa.array([f"t{i // 10}" for i in range(rows)]),
            "span_id": pa.array([f"s{i}" for i in range(rows)]),
            "name": pa.repeat("step", rows),
            "kind": pa.repeat("tool", rows),
            "source": pa.repeat("jsonl", rows),
            "status": pa.repeat("ok", rows),
        }
    )
    spans = to_table([span("t", "s")]).slice(0, 0)
    spans = pa.table({f.name: table[f.name] if f.name in table.column_names
                      else pa.nulls(rows, f.type) for f in spans.schema}, schema=spans.schema)  # fmt: skip
    with con.cursor() as cur:
        cur.execute("CHECKPOINT")
    size_before = db_path.stat().st_size
    size_inside = []
    write_spans(con, spans, UploadMeta("big", "sha-big", "span_jsonl", 1),
                refresh=lambda cur, traces: size_inside.append(db_path.stat().st_size))  # fmt: skip
    assert size_inside[0] > size_before
    with con.cursor() as cur:
        largest = cur.execute("SELECT max(count) FROM pragma_storage_info('spans')").fetchone()
    assert largest == (16_384,)


def test_cursors_open_on_the_store_and_spill_beside_it(con, db_path):
    with con.cursor() as cur:
        where = cur.execute(
            "SELECT current_database(), current_setting('temp_directory'),"
            " (SELECT count(*) FROM models) > 0"
        ).fetchone()
    assert where == ("store", f"{db_path}.tmp", True)


def test_each_slice_of_an_upload_is_released_once_it_is_in_the_store(con, monkeypatch):
    monkeypatch.setattr("store.writes.INSERT_CHUNK_ROWS", 2)
    releases = []
    rows = [span("t1", f"s{i}") for i in range(5)]
    write_spans(con, to_table(rows), UploadMeta("r", "sha-r", "span_jsonl", 1),
                release=lambda: releases.append(1))  # fmt: skip
    assert len(releases) == 3  # after slices of 2, 2 and 1 rows
    assert counts(con)[0] == 5


def test_same_file_twice_is_reported_and_adds_nothing(con):
    table = to_table([span("t1", "s1"), span("t1", "s2")])
    first = write_spans(con, table, UploadMeta("a.jsonl", "sha-1", "span_jsonl", 10))
    second = write_spans(con, table, UploadMeta("a.jsonl", "sha-1", "span_jsonl", 10))
    assert (first.spans_inserted, first.already_ingested) == (2, False)
    assert (second.spans_inserted, second.already_ingested) == (0, True)
    assert second.upload_id == first.upload_id
    assert counts(con)[:2] == (2, 1)


def test_spans_are_unique_on_trace_and_span_id_across_files(con):
    write_spans(con, to_table([span("t1", "s1")]), UploadMeta("a", "sha-a", "span_jsonl", 1))
    result = write_spans(
        con,
        to_table([span("t1", "s1"), span("t1", "s2")]),
        UploadMeta("b", "sha-b", "span_jsonl", 1),
    )
    assert result.spans_inserted == 1
    assert result.duplicates == 1
    assert result.warnings == ["1 span was already stored (same trace_id, span_id)"]
    assert counts(con)[0] == 2


def test_a_span_repeated_within_a_file_is_reported_as_such_and_the_first_kept(con):
    write_spans(con, to_table([span("t1", "s0")]), UploadMeta("a", "sha-a", "span_jsonl", 1))
    rows = [span("t1", "s1", input_tokens=1000), span("t1", "s1", input_tokens=9999)]
    result = write_spans(
        con, to_table([*rows, span("t1", "s0")]), UploadMeta("b", "sha-b", "span_jsonl", 1)
    )
    assert (result.spans_inserted, result.duplicates) == (1, 2)
    assert result.warnings == [
        "1 span repeats an earlier span of the same file (same trace_id, span_id): only the "
        "first of each was stored",
        "1 span was already stored (same trace_id, span_id)",
    ]
    with con.cursor() as cur:
        assert cur.execute("SELECT input_tokens FROM spans WHERE span_id = 's1'").fetchall() == [
            (1000,)
        ]


def test_a_write_that_fails_half_way_leaves_no_rows(con):
    write_spans(con, to_table([span("t0", "s0")]), UploadMeta("ok", "sha-ok", "span_jsonl", 1))
    before = counts(con)

    def failing_refresh(cur, trace_ids):
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        write_spans(
            con,
            to_table([span("t1", "s1"), span("t2", "s2")]),
            UploadMeta("bad", "sha-bad", "span_jsonl", 1),
            refresh=failing_refresh,
        )
    assert counts(con) == before


def test_a_broken_row_rolls_back_the_whole_file(con):
    good = to_table([span("t1", "s1")])
    broken = pa.concat_tables([good, to_table([span("t1", "s2")])])
    names = broken.column("name").to_pylist()
    names[1] = None  # NOT NULL violation on the second row
    broken = broken.set_column(broken.schema.get_field_index("name"), "name", pa.array(names))
    with pytest.raises(Exception, match="NOT NULL"):
        write_spans(con, broken, UploadMeta("b", "sha-b", "span_jsonl", 1))
    assert counts(con) == (0, 0, 0)


def test_truncated_file_leaves_store_unchanged(con, tmp_path, shared_traces):
    source = shared_traces / "other" / "tau-bench_gpt-4o-airline.json"
    truncated = tmp_path / "truncated.json"
    kept = source.read_bytes()[:100_000]
    truncated.write_bytes(kept)
    report = ingest_path(con, truncated)
    assert not report.ok
    last_line = kept.count(b"\n") + 1
    assert f"truncated.json, line {last_line} column" in report.error
    assert "expected one complete JSON document" in report.error
    assert counts(con) == (0, 0, 0)


def test_a_failure_inside_a_registered_block_keeps_its_own_error(con):
    import duckdb

    from store.db import registered, transaction

    with (
        con.cursor() as cur,
        pytest.raises(duckdb.CatalogException, match="no_such_table"),
        transaction(cur),
        registered(cur, "incoming", pa.table({"a": [1]})),
    ):
        cur.execute("SELECT * FROM no_such_table")
