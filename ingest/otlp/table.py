"""Canonical rows -> one Arrow table, in bounded batches, with the trajectory-wide fills.

A file of a million spans must never sit in memory as Python rows (~5x its size), so rows
turn into Arrow every `BATCH_ROWS`. Two fills need more than one span, so they run on the
finished table (rows in file order), trace by trace; computed as patches (`fill_patches`),
they let a file decoded in parts by several processes be filled by those processes, each
for its part, with only the traces that cross parts filled again once they are joined:
- a conversation id recorded on one span (the agent span, per GenAI) covers its trace;
- a tool span without arguments/result takes them from the LLM messages of its trace (the
  first LLM call, in file order, that mentions the call id wins).
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from ingest.canonical import SPAN_FIELDS, TIMESTAMP
from ingest.otlp.content import arguments_text, content_text
from ingest.otlp.messages import tool_calls_and_results

# The order of the row literal in adapter.span_row; adapter checks it against SPAN_FIELDS.
ROW_ORDER = (
    "trace_id", "span_id", "parent_id", "source", "convention", "upload_id", "name", "kind",
    "start_time", "end_time", "duration_ms", "status", "error_type", "error_message", "model",
    "request_model", "provider", "input_tokens", "output_tokens", "reasoning_tokens",
    "cache_read_tokens", "cache_write_tokens", "cost_usd", "tool_name", "tool_call_id",
    "tool_args", "agent_name", "session_id", "task_id", "input", "output", "attributes", "seq",
    "score",
)  # fmt: skip
COL = {name: index for index, name in enumerate(ROW_ORDER)}
BATCH_ROWS = 4096
MAX_PROBED_IDS = 8
SCHEMA = pa.schema(SPAN_FIELDS)
PATCH_SCHEMA = pa.schema(
    [(name, pa.string()) for name in ("session_id", "tool_args", "tool_name", "output")]
)


class TableBuilder:
    """Collects rows (lists in ROW_ORDER); `finish` returns the filled canonical table.

    With `emit`, each batch goes to it as soon as it is built (a decoding worker streams its
    part to disk) and `finish` returns nothing: the worker works out the part's fills from
    what it wrote (`fill_patches`)."""

    def __init__(self, emit: Callable[[pa.Table], None] | None = None) -> None:
        self.rows: list[list] = []
        self.batches: list[pa.Table] = []
        self.emit = emit

    def add(self, row: list) -> None:
        self.rows.append(row)
        if len(self.rows) >= BATCH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self.emit is not None:
            if self.rows:
                self.emit(rows_to_table(self.rows))
        elif self.rows or not self.batches:
            self.batches.append(rows_to_table(self.rows))
        self.rows = []

    def finish(self) -> pa.Table | None:
        self._flush()
        if self.emit is not None:
            return None
        batches, self.batches = self.batches, []
        table = pa.concat_tables(batches) if len(batches) > 1 else batches[0]
        return apply_fills(table)


def rows_to_table(rows: list[list]) -> pa.Table:
    """Rows -> Arrow, column by column, releasing each Python column as soon as it is copied."""
    columns: list = list(zip(*rows, strict=True)) if rows else [() for _ in ROW_ORDER]
    rows.clear()
    starts = pa.array(columns[COL["start_time"]], pa.int64())
    ends = pa.array(columns[COL["end_time"]], pa.int64())
    arrays = []
    for index, (name, data_type) in enumerate(SPAN_FIELDS):
        if name == "start_time":
            arrays.append(_timestamps(starts))
        elif name == "end_time":
            arrays.append(_timestamps(ends))
        elif name == "duration_ms":
            arrays.append(pc.divide(pc.cast(pc.subtract(ends, starts), pa.float64()), 1e6))
        else:
            arrays.append(pa.array(columns[index], data_type))
        columns[index] = None
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def _timestamps(nanoseconds: pa.Array) -> pa.Array:
    return pc.divide(nanoseconds, 1000).cast(TIMESTAMP)


def apply_fills(table: pa.Table) -> pa.Table:
    """What only the whole file knows, applied to its table (rows in file order)."""
    return apply_patches(table, fill_patches(table))


def fill_patches(table: pa.Table) -> pa.Table:
    """The fills as patches: for each filled column, row for row, the text a fill would put
    there (null: nothing). Each fill works trace by trace over rows in file order, so the
    patches of a trace's rows depend on those rows alone."""
    return pa.table(
        {"session_id": _session_patch(table), **_tool_call_patches(table)}, schema=PATCH_SCHEMA
    )


def apply_patches(table: pa.Table, patches: pa.Table) -> pa.Table:
    """Fills only cells that are null; a recorded value always wins over a filled one."""
    for name in PATCH_SCHEMA.names:
        patch = patches.column(name)
        if patch.null_count < len(patch):
            table = table.set_column(COL[name], name, pc.coalesce(table.column(name), patch))
    return table


def _session_patch(table: pa.Table) -> pa.Array:
    """A trace's first recorded conversation id, for each of its rows."""
    sessions = table.column("session_id")
    if sessions.null_count in (0, table.num_rows):
        return pa.nulls(table.num_rows, pa.string())
    known = table.select(["trace_id", "session_id"]).filter(pc.is_valid(sessions))
    first: dict[str, str] = {}
    for trace, session in zip(
        *(known.column(c).to_pylist() for c in known.column_names), strict=True
    ):
        first.setdefault(trace, session)
    found = pc.index_in(table.column("trace_id"), value_set=pa.array(list(first), pa.string()))
    return pc.take(pa.array(list(first.values()), pa.string()), found).combine_chunks()


def _tool_call_patches(table: pa.Table) -> dict[str, pa.Array]:
    """Arguments, name and result for tool spans lacking them, from their trace's LLM messages."""
    patches: dict[str, dict[int, str]] = {"tool_args": {}, "tool_name": {}, "output": {}}
    tool_rows = pc.indices_nonzero(pc.fill_null(pc.equal(table.column("kind"), "tool"), False))
    wanted: dict[str, set[str]] = {}
    pending = []
    columns = (
        table.column("trace_id").take(tool_rows).to_pylist(),
        table.column("tool_call_id").take(tool_rows).to_pylist(),
        # the big text columns only as null flags: taking their text would copy all of it
        *(
            pc.is_null(table.column(c)).take(tool_rows).to_pylist()
            for c in ("tool_args", "tool_name", "output")
        ),
    )
    for row, trace, call_id, no_args, no_name, no_output in zip(
        tool_rows.to_pylist(), *columns, strict=True
    ):
        if no_args or no_output or no_name:
            pending.append((row, trace, call_id, no_args, no_name, no_output))
        if call_id and (no_args or no_output):
            wanted.setdefault(trace, set()).add(call_id)
    calls, results = _calls_in_llm_messages(table, wanted) if wanted else ({}, {})
    for row, trace, call_id, no_args, no_name, no_output in pending:
        if trace not in wanted:
            continue
        key = (trace, call_id)
        call = calls.get(key)
        if call is not None and no_args:
            patches["tool_args"][row] = arguments_text(call["arguments"])
        if call is not None and no_name and call["name"] is not None:
            patches["tool_name"][row] = str(call["name"])
        if no_output and key in results:
            patches["output"][row] = content_text(results[key])
    return {name: _scatter(values, table.num_rows) for name, values in patches.items()}


def _scatter(values: dict[int, str], rows: int) -> pa.Array:
    if not values:
        return pa.nulls(rows, pa.string())
    column: list[str | None] = [None] * rows
    for index, value in values.items():
        column[index] = value
    return pa.array(column, pa.string())


def _calls_in_llm_messages(table: pa.Table, wanted: dict) -> tuple[dict, dict]:
    """Tool calls and results in the messages of the LLM spans of the wanted traces, in file
    order. A trace's later messages are skipped once each wanted id has its call and its
    result (the first found wins, so they could not change them); inputs, which repeat the
    whole conversation so far, are read one row at a time and only while still needed."""
    is_llm = pc.fill_null(pc.equal(table.column("kind"), "llm"), False)
    in_wanted = pc.is_in(table.column("trace_id"), value_set=pa.array(list(wanted), pa.string()))
    rows = pc.indices_nonzero(pc.and_(is_llm, in_wanted))
    traces = table.column("trace_id").take(rows).to_pylist()
    outputs = table.column("output").take(rows).to_pylist()
    inputs = table.column("input")
    calls: dict[tuple, dict] = {}
    results: dict[tuple, object] = {}
    open_ids = {trace: set(ids) for trace, ids in wanted.items()}
    for row, trace, output in zip(rows.to_pylist(), traces, outputs, strict=True):
        remaining = open_ids[trace]
        if not remaining:
            continue
        _probe(output, trace, wanted[trace], calls, results)
        remaining -= {i for i in remaining if (trace, i) in calls and (trace, i) in results}
        if remaining:
            _probe(inputs[row].as_py(), trace, wanted[trace], calls, results)
            remaining -= {i for i in remaining if (trace, i) in calls and (trace, i) in results}
    return calls, results


def _probe(text: str | None, trace: str, ids: set, calls: dict, results: dict) -> None:
    # A substring probe skips most parses; past a few ids, parsing once is cheaper.
    if text and (len(ids) > MAX_PROBED_IDS or any(i in text for i in ids)):
        _collect(text, trace, calls, results)


def _collect(text: str, trace: str, calls: dict, results: dict) -> None:
    found_calls, found_results = tool_calls_and_results(text)
    for call in found_calls:
        calls.setdefault((trace, call["id"]), call)
    for result in found_results:
        results.setdefault((trace, result["id"]), result["result"])
