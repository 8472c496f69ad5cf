"""The trajectory-wide fills again, over stored spans, for traces that came in several uploads.

An OTel exporter sends a trace in batches, and the OTLP adapter's fills (ingest/otlp/table.py)
see one batch: a conversation id recorded on the agent span, or a tool call's arguments in the
LLM span's messages, does not reach spans of another batch. After each insert, for the touched
traces whose spans came in more than one upload, the same two fills run over all their stored
spans, so the rows end as they would from one file of the whole trace. Recorded values always
win; a trace from a single upload was filled by its adapter and is not read again.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from ingest.otlp.table import fill_patches
from store.db import registered

# `affected` (analysis.rollup) holds the touched traces.
SPLIT_TRACES_SQL = """
CREATE OR REPLACE TEMP TABLE split_traces AS
SELECT trace_id FROM spans WHERE trace_id IN (SELECT trace_id FROM affected)
GROUP BY trace_id HAVING count(DISTINCT upload_id) > 1
"""
SESSION_FILL_SQL = """
UPDATE spans SET session_id = first_session.session_id
FROM (
    SELECT trace_id,
        first(session_id ORDER BY start_time NULLS LAST, seq NULLS LAST, span_id) AS session_id
    FROM spans
    WHERE trace_id IN (SELECT trace_id FROM split_traces) AND session_id IS NOT NULL
    GROUP BY trace_id
) first_session
WHERE spans.trace_id = first_session.trace_id AND spans.session_id IS NULL
"""
_TOOL_LACKS = """kind = 'tool' AND tool_call_id IS NOT NULL
    AND (tool_args IS NULL OR tool_name IS NULL OR output IS NULL)"""
# The LLM spans, whose messages name the calls, and the tool spans that lack something, in
# the order the adapter reads a file (the first LLM call that mentions a call id wins).
TOOL_SOURCES_SQL = f"""
SELECT trace_id, span_id, kind, tool_call_id, tool_args, tool_name, output, input,
    NULL::VARCHAR AS session_id
FROM spans
WHERE trace_id IN (
        SELECT trace_id FROM spans
        WHERE trace_id IN (SELECT trace_id FROM split_traces) AND {_TOOL_LACKS}
    )
    AND (kind = 'llm' OR ({_TOOL_LACKS}))
ORDER BY trace_id, start_time NULLS LAST, seq NULLS LAST, span_id
"""
TOOL_FILL_SQL = """
UPDATE spans SET tool_args = coalesce(spans.tool_args, filled.tool_args),
    tool_name = coalesce(spans.tool_name, filled.tool_name),
    output = coalesce(spans.output, filled.output)
FROM filled_tools filled
WHERE spans.trace_id = filled.trace_id AND spans.span_id = filled.span_id
"""
TOOL_PATCHES = ("tool_args", "tool_name", "output")


def fill_across_uploads(cur: duckdb.DuckDBPyConnection) -> None:
    """Fill the stored spans of the traces in `affected` that more than one upload brought."""
    cur.execute(SPLIT_TRACES_SQL)
    try:
        ((split,),) = cur.execute("SELECT count(*) FROM split_traces").fetchall()
        if not split:
            return
        cur.execute(SESSION_FILL_SQL)
        sources = cur.sql(TOOL_SOURCES_SQL).to_arrow_table()
        if sources.num_rows:
            _fill_tools(cur, sources)
    finally:
        cur.execute("DROP TABLE IF EXISTS split_traces")


def _fill_tools(cur: duckdb.DuckDBPyConnection, sources: pa.Table) -> None:
    patches = fill_patches(sources)
    found = pc.is_valid(patches.column(TOOL_PATCHES[0]))
    for name in TOOL_PATCHES[1:]:
        found = pc.or_(found, pc.is_valid(patches.column(name)))
    if not pc.any(found).as_py():
        return
    filled = pa.table(
        {
            "trace_id": sources.column("trace_id"),
            "span_id": sources.column("span_id"),
            **{name: patches.column(name) for name in TOOL_PATCHES},
        }
    ).filter(found)
    with registered(cur, "filled_tools", filled):
        cur.execute(TOOL_FILL_SQL)
