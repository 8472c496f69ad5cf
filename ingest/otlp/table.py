"""Canonical rows -> one Arrow table, in bounded batches, with the trajectory-wide fills.

A file of a million spans must never sit in memory as Python rows (~5x its size), so rows
turn into Arrow every `BATCH_ROWS`. What the two fills need from the whole file is kept
aside as small indexes while rows stream past, and applied to the finished columns:
- a conversation id recorded on one span (the agent span, per GenAI) covers its trace;
- a tool span without arguments/result takes them from the LLM messages of its trace (the
  first LLM call, in file order, that mentions the call id wins).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ingest.canonical import SPAN_FIELDS, TIMESTAMP
from ingest.otlp.conventions import arguments_text, content_text
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
I_TRACE, I_KIND, I_SESSION = COL["trace_id"], COL["kind"], COL["session_id"]
I_TOOL_NAME, I_CALL_ID, I_ARGS = COL["tool_name"], COL["tool_call_id"], COL["tool_args"]
I_INPUT, I_OUTPUT = COL["input"], COL["output"]
BATCH_ROWS = 20_000
MAX_PROBED_IDS = 8
SCHEMA = pa.schema(SPAN_FIELDS)


class TableBuilder:
    """Collects rows (lists in ROW_ORDER); `finish` returns the filled canonical table."""

    def __init__(self) -> None:
        self.rows: list[list] = []
        self.batches: list[pa.Table] = []
        self.count = 0
        self.first_session: dict[str, str] = {}
        self.session_missing = False
        self.wanted: dict[str, set[str]] = {}
        self.tool_rows: list[tuple] = []  # (index, trace, call id, args?, name?, output?)
        self.llm_rows: list[tuple[int, str]] = []

    def add(self, row: list) -> None:
        trace, kind = row[I_TRACE], row[I_KIND]
        if row[I_SESSION] is None:
            self.session_missing = True
        elif trace not in self.first_session:
            self.first_session[trace] = row[I_SESSION]
        if kind == "llm":
            self.llm_rows.append((self.count, trace))
        elif kind == "tool":
            self._note_tool(row, trace)
        self.rows.append(row)
        self.count += 1
        if len(self.rows) >= BATCH_ROWS:
            self._flush()

    def _note_tool(self, row: list, trace: str) -> None:
        no_args, no_output = row[I_ARGS] is None, row[I_OUTPUT] is None
        if no_args or no_output or row[I_TOOL_NAME] is None:
            self.tool_rows.append(
                (self.count, trace, row[I_CALL_ID], no_args, row[I_TOOL_NAME] is None, no_output)
            )
        if row[I_CALL_ID] and (no_args or no_output):
            self.wanted.setdefault(trace, set()).add(row[I_CALL_ID])

    def _flush(self) -> None:
        if self.rows or not self.batches:
            self.batches.append(rows_to_table(self.rows))
        self.rows = []

    def finish(self) -> pa.Table:
        self._flush()
        batches, self.batches = self.batches, []
        calls, results = {}, {}
        if self.wanted:
            calls, results = _calls_in_llm_messages(batches, self.wanted, self.llm_rows)
        table = pa.concat_tables(batches) if len(batches) > 1 else batches[0]
        del batches
        if self.session_missing and self.first_session:
            table = _fill_sessions(table, self.first_session)
        if self.wanted:
            table = _fill_tool_calls(table, self.wanted, self.tool_rows, calls, results)
        return table


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


def _fill_sessions(table: pa.Table, first: dict[str, str]) -> pa.Table:
    traces = pa.array(list(first), pa.string())
    found = pc.index_in(table.column("trace_id"), value_set=traces)
    sessions = pc.take(pa.array(list(first.values()), pa.string()), found)
    filled = pc.coalesce(table.column("session_id"), sessions)
    return table.set_column(COL["session_id"], "session_id", filled)


def _fill_tool_calls(
    table: pa.Table, wanted: dict, tool_rows: list, calls: dict, results: dict
) -> pa.Table:
    patches: dict[str, dict[int, str]] = {"tool_args": {}, "tool_name": {}, "output": {}}
    for index, trace, call_id, no_args, no_name, no_output in tool_rows:
        if trace not in wanted:
            continue
        key = (trace, call_id)
        call = calls.get(key)
        if call is not None and no_args:
            patches["tool_args"][index] = arguments_text(call["arguments"])
        if call is not None and no_name and call["name"] is not None:
            patches["tool_name"][index] = str(call["name"])
        if no_output and key in results:
            patches["output"][index] = content_text(results[key])
    for name, values in patches.items():
        if values:
            patch = [None] * table.num_rows
            for index, value in values.items():
                patch[index] = value
            filled = pc.coalesce(table.column(name), pa.array(patch, pa.string()))
            table = table.set_column(COL[name], name, filled)
    return table


def _calls_in_llm_messages(batches: list, wanted: dict, llm_rows: list) -> tuple[dict, dict]:
    """Tool calls and results in the messages of the LLM spans of the wanted traces, read
    batch by batch (every batch but the last holds exactly BATCH_ROWS rows)."""
    calls: dict[tuple, dict] = {}
    results: dict[tuple, object] = {}
    by_batch: dict[int, list[tuple[int, str]]] = {}
    for index, trace in llm_rows:
        if trace in wanted:
            by_batch.setdefault(index // BATCH_ROWS, []).append((index % BATCH_ROWS, trace))
    for number, rows in by_batch.items():
        local = pa.array([index for index, _ in rows], pa.int64())
        outputs = batches[number].column("output").take(local).to_pylist()
        inputs = batches[number].column("input").take(local).to_pylist()
        for (_, trace), output, input_ in zip(rows, outputs, inputs, strict=True):
            ids = wanted[trace]
            for text in (output, input_):
                # A substring probe skips most parses; past a few ids, parsing once is cheaper.
                if text and (len(ids) > MAX_PROBED_IDS or any(i in text for i in ids)):
                    _collect(text, trace, calls, results)
    return calls, results


def _collect(text: str, trace: str, calls: dict, results: dict) -> None:
    found_calls, found_results = tool_calls_and_results(text)
    for call in found_calls:
        calls.setdefault((trace, call["id"]), call)
    for result in found_results:
        results.setdefault((trace, result["id"]), result["result"])
