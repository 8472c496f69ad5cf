"""The one write path: a file's spans land atomically and idempotently, or not at all.

Everything a write touches — spans, the upload record, and the rollups refreshed for the
affected trajectories — happens in one transaction, under one process-wide write lock.
Spans go in as slices of `INSERT_CHUNK_ROWS` rows: one INSERT of a million content-heavy
rows makes DuckDB buffer all of them (several times the file's size in memory), while
slices stream through its transaction-local storage; the transaction stays one.
Writes that arrive while another is being committed are committed together (`write_spans`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from store.db import ROW_GROUP_ROWS, WRITE_LOCK, transaction

Refresh = Callable[[duckdb.DuckDBPyConnection, Sequence[str]], None]

SPAN_INSERT_COLUMNS = (
    "trace_id, span_id, parent_id, source, convention, upload_id, name, kind, start_time, "
    "end_time, duration_ms, status, error_type, error_message, model, request_model, provider, "
    "input_tokens, output_tokens, reasoning_tokens, cache_read_tokens, cache_write_tokens, "
    "cost_usd, tool_name, tool_call_id, tool_args, agent_name, session_id, task_id, input, "
    "output, attributes, seq, score"
)
FIND_UPLOAD_SQL = "SELECT upload_id, filename, deleted_spans FROM uploads WHERE sha256 = ?"
# The same file again, after another upload's delete took some of its spans: they come back.
RESTORE_UPLOAD_SQL = """
UPDATE uploads SET deleted_spans = greatest(coalesce(deleted_spans, 0) - ?, 0) WHERE upload_id = ?
"""
# Spans already stored are left out by an anti-join rather than ON CONFLICT DO NOTHING: an
# ON CONFLICT insert keeps the whole uncommitted slice in memory, a plain one can spill
# under the connection's memory_limit (measured: +700 MB vs +390 MB for 176 MB of spans).
# The join also frees DuckDB from keeping the slice's order, so it inserts on every core:
# a plain INSERT of the same 100k new spans, with the duplicates dropped beforehand, took
# 0.85 s against 0.45 s.
INSERT_SPANS_SQL = f"""
INSERT INTO spans ({SPAN_INSERT_COLUMNS})
SELECT {SPAN_INSERT_COLUMNS} FROM incoming_spans AS i
WHERE NOT EXISTS (SELECT 1 FROM spans AS s WHERE s.trace_id = i.trace_id AND s.span_id = i.span_id)
"""
# Two of the store's row groups: each of the two cores fills one. Larger slices hold more of
# the decoded file's pages at once (100k spans, 50k-row slices: +120 MB at the peak).
INSERT_CHUNK_ROWS = 2 * ROW_GROUP_ROWS
# The most spans one group commit takes from the queue (but its first write is always taken,
# whatever its size): a group's spans are all held in memory until its commit.
GROUP_MAX_ROWS = 4 * INSERT_CHUNK_ROWS
INSERT_UPLOAD_SQL = """
INSERT INTO uploads (upload_id, filename, sha256, format, bytes, span_count, trace_count,
                     skipped_count, warnings, who)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""


@dataclass
class WriteResult:
    upload_id: str
    spans_inserted: int
    trace_ids: list[str]
    already_ingested: bool = False
    earlier_filename: str | None = None  # the name the same content was ingested under
    duplicates: int = 0
    warnings: list[str] = field(default_factory=list)


OTLP_ENDPOINT_WHO = "otlp-http"  # `uploads.who` of an export received at POST /v1/traces


@dataclass
class UploadMeta:
    filename: str
    sha256: str
    format: str
    nbytes: int
    skipped_count: int = 0
    skipped: list[str] = field(default_factory=list)  # "position: reason" of the first few
    warnings: list[str] = field(default_factory=list)
    who: str | None = None

    @property
    def upload_id(self) -> str:
        return f"up_{self.sha256[:16]}"


@dataclass(eq=False)  # each is one caller's: compared by identity, never by its table's rows
class _Queued:
    """One caller's write, waiting for whichever caller holds the write lock to commit it."""

    con: duckdb.DuckDBPyConnection
    spans: pa.Table
    meta: UploadMeta
    refresh: Refresh | None
    release: Callable[[], None] | None
    outcome: WriteResult | BaseException | None = None


_queue: list[_Queued] = []
_queue_lock = threading.Lock()


def write_spans(
    con: duckdb.DuckDBPyConnection,
    spans: pa.Table,
    meta: UploadMeta,
    refresh: Refresh | None = None,
    release: Callable[[], None] | None = None,
) -> WriteResult:
    """Insert one file's spans; a file already ingested (same sha256) adds nothing.
    `release` is called each time a slice of `spans` is in the store, to let go of the
    memory it took (`registry.Decoded.release_pages`).

    Writes that queue while another holds the write lock are committed together, in one
    transaction with one refresh of the rollups (group commit): the refresh costs about the
    same for one OTLP export as for ten, so concurrent exporters share it instead of each
    waiting for everyone's. A group that fails is committed again one write at a time, so a
    write fails only for its own reasons."""
    mine = _Queued(con, spans, meta, refresh, release)
    with _queue_lock:
        _queue.append(mine)
    with WRITE_LOCK:
        while mine.outcome is None:  # a group before ours may be waiting too
            _commit(_next_group())
    if isinstance(mine.outcome, BaseException):
        raise mine.outcome
    return mine.outcome


def queued_writes() -> int:
    """How many writes are waiting for a commit."""
    with _queue_lock:
        return len(_queue)


def _next_group() -> list[_Queued]:
    """The oldest queued write and those after it bound for the same store and refresh,
    up to `GROUP_MAX_ROWS` spans (the oldest always)."""
    with _queue_lock:
        first, group, left, rows = _queue[0], [], [], 0
        for queued in _queue:
            same = queued.con is first.con and queued.refresh is first.refresh
            if same and (not group or rows + queued.spans.num_rows <= GROUP_MAX_ROWS):
                group.append(queued)
                rows += queued.spans.num_rows
            else:
                left.append(queued)
        _queue[:] = left
        return group


def _commit(group: list[_Queued]) -> None:
    con, refresh = group[0].con, group[0].refresh
    try:
        with con.cursor() as cur, transaction(cur):
            results = [_write_one(cur, queued) for queued in group]
            touched = sorted({trace for result in results for trace in result.trace_ids})
            if refresh is not None and touched:
                refresh(cur, touched)
    except Exception as exc:
        if len(group) == 1:
            group[0].outcome = exc
        else:
            for queued in group:
                _commit([queued])
        return
    except BaseException as exc:  # interrupted: no one waits for the rest of this group
        for queued in group:
            queued.outcome = exc
        raise
    for queued, result in zip(group, results, strict=True):
        queued.outcome = result


def _write_one(cur: duckdb.DuckDBPyConnection, queued: _Queued) -> WriteResult:
    meta = queued.meta
    found = cur.execute(FIND_UPLOAD_SQL, [meta.sha256]).fetchall()  # a finished result
    existing = found[0] if found else None
    if existing and not existing[2]:
        return WriteResult(existing[0], 0, [], already_ingested=True, earlier_filename=existing[1])
    spans = queued.spans.set_column(
        queued.spans.schema.get_field_index("upload_id"),
        "upload_id",
        pa.repeat(pa.scalar(meta.upload_id, pa.string()), queued.spans.num_rows),
    )
    unique = first_of_each_span(spans)
    repeated = spans.num_rows - unique.num_rows
    # Arrow's allocator keeps what decoding and the dedup freed; DuckDB comes next
    pa.default_memory_pool().release_unused()
    inserted = _insert_spans(cur, unique, queued.release)
    already_stored = unique.num_rows - inserted
    del unique
    trace_ids = sorted(pc.unique(spans.column("trace_id")).to_pylist())
    warnings = list(meta.warnings)
    if repeated:
        spans_word = "1 span repeats" if repeated == 1 else f"{repeated} spans repeat"
        warnings.append(
            f"{spans_word} an earlier span of the same file (same trace_id, span_id): "
            "only the first of each was stored"
        )
    if already_stored:
        stored = "1 span was" if already_stored == 1 else f"{already_stored} spans were"
        warnings.append(f"{stored} already stored (same trace_id, span_id)")
    duplicates = spans.num_rows - inserted
    if existing:  # restoring what another upload's delete took
        warnings.append(
            f"{inserted:,} {'span' if inserted == 1 else 'spans'} restored of the "
            f"{existing[2]:,} deleted with another upload (as {existing[1]})"
        )
        cur.execute(RESTORE_UPLOAD_SQL, [inserted, existing[0]])
        return WriteResult(
            existing[0], inserted, trace_ids, duplicates=duplicates, warnings=warnings
        )
    cur.execute(
        INSERT_UPLOAD_SQL,
        [
            meta.upload_id,
            meta.filename,
            meta.sha256,
            meta.format,
            meta.nbytes,
            inserted,
            len(trace_ids),
            meta.skipped_count,
            json.dumps(warnings + _skipped_notes(meta)),
            meta.who,
        ],
    )
    return WriteResult(
        meta.upload_id, inserted, trace_ids, duplicates=duplicates, warnings=warnings
    )


def _skipped_notes(meta: UploadMeta) -> list[str]:
    """What was skipped, kept with the upload's warnings (the upload's own report lists every
    skipped record; the stored record keeps the first few for whoever looks later)."""
    notes = [f"skipped {entry}" for entry in meta.skipped]
    if (more := meta.skipped_count - len(meta.skipped)) > 0:
        notes.append(f"and {more:,} more skipped")
    return notes


def _insert_spans(
    cur: duckdb.DuckDBPyConnection, spans: pa.Table, release: Callable[[], None] | None
) -> int:
    inserted = 0
    for offset in range(0, spans.num_rows, INSERT_CHUNK_ROWS):
        cur.register("incoming_spans", spans.slice(offset, INSERT_CHUNK_ROWS))
        (count,) = cur.execute(INSERT_SPANS_SQL).fetchone()
        inserted += count
        if release is not None:
            release()
    cur.unregister("incoming_spans")  # on failure the cursor, closed by the caller, drops it
    return inserted


def first_of_each_span(spans: pa.Table) -> pa.Table:
    """The rows left when a (trace_id, span_id) repeats within the file: its first one."""
    keys = pa.table(
        {
            "trace_id": spans.column("trace_id"),
            "span_id": spans.column("span_id"),
            "row": pa.array(range(spans.num_rows), pa.int64()),
        }
    )
    first = keys.group_by(["trace_id", "span_id"], use_threads=False).aggregate([("row", "min")])
    if first.num_rows == spans.num_rows:
        return spans
    rows = first.column("row_min")
    return spans.take(rows.take(pc.sort_indices(rows)))
