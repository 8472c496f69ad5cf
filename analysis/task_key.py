"""task_key: what pairs runs of the same task across models.

An explicit task id wins. Otherwise the key is a hash of the normalised first user
message, found in whichever message shape the source used (OpenAI messages, OTel GenAI
parts, LangChain messages, plain text), so the same prompt run on a small and a large model
pairs up; the message's start is kept beside it (`task_text`), for pages to show instead of
the hash.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import duckdb
import pyarrow as pa

from analysis.turns import NOT_JSON, json_value
from store.db import registered

# Only traces without an explicit task id need their first messages; the candidate spans are
# picked among the staged spans (analysis.stage), and only their two inputs are read.
FIRST_INPUTS_SQL = """
WITH need AS (
    SELECT trace_id FROM trajectories
    WHERE trace_id IN (SELECT trace_id FROM affected) AND task_id IS NULL
), candidates AS (
    SELECT s.trace_id, s.span_rowid AS row_id,
        row_number() OVER (PARTITION BY s.trace_id
            ORDER BY (s.parent_id IS NULL) DESC, s.start_time NULLS LAST, s.seq NULLS LAST) AS rank_any,
        CASE WHEN s.kind = 'llm' THEN row_number() OVER (PARTITION BY s.trace_id, s.kind = 'llm'
            ORDER BY s.start_time NULLS LAST, s.seq NULLS LAST) END AS rank_llm
    FROM refresh_spans s SEMI JOIN need USING (trace_id)
    WHERE s.has_input AND s.kind IN ('agent', 'llm', 'chain')
), picked AS (
    SELECT trace_id, any_value(row_id) FILTER (WHERE rank_any = 1) AS first_row,
           any_value(row_id) FILTER (WHERE rank_llm = 1) AS first_llm_row
    FROM candidates WHERE rank_any = 1 OR rank_llm = 1 GROUP BY trace_id
), inputs AS (  -- by rowid, so only these inputs are read (analysis.stage)
    SELECT rowid AS row_id, input FROM spans
    WHERE rowid IN (SELECT first_row FROM picked UNION ALL SELECT first_llm_row FROM picked)
)
SELECT n.trace_id, a.input AS first_input, b.input AS first_llm_input
FROM need n LEFT JOIN picked p USING (trace_id)
LEFT JOIN inputs a ON a.row_id = p.first_row
LEFT JOIN inputs b ON b.row_id = p.first_llm_row
"""
TASK_ID_KEYS_SQL = """
UPDATE trajectories SET task_key = 'task:' || task_id
WHERE trace_id IN (SELECT trace_id FROM affected) AND task_id IS NOT NULL
"""
UPDATE_SQL = """
UPDATE trajectories SET task_key = k.task_key, task_text = k.task_text
FROM task_keys k WHERE trajectories.trace_id = k.trace_id
"""
TASK_TEXT_CHARS = 120  # what a table cell shows of the first user message


def refresh_task_keys(cur: duckdb.DuckDBPyConnection) -> None:
    """Task keys of the traces in `affected`, from `refresh_spans` (already staged)."""
    cur.execute(TASK_ID_KEYS_SQL)
    rows = cur.execute(FIRST_INPUTS_SQL).fetchall()
    messages = [first_user_message(a) or first_user_message(b) for _, a, b in rows]
    table = pa.table(
        {
            "trace_id": pa.array([r[0] for r in rows], pa.string()),
            "task_key": pa.array([task_key(None, m) for m in messages], pa.string()),
            "task_text": pa.array([task_text(m) for m in messages], pa.string()),
        }
    )
    with registered(cur, "task_keys", table):
        cur.execute(UPDATE_SQL)


def task_key(task_id: str | None, first_message: str | None) -> str | None:
    if task_id is not None:
        return f"task:{task_id}"
    if not first_message:
        return None
    normalised = re.sub(r"\s+", " ", first_message).strip().lower()
    return "msg:" + hashlib.sha256(normalised.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def task_text(first_message: str | None) -> str | None:
    """The first user message on one line, cut at TASK_TEXT_CHARS: what a `msg:` key stands
    for, shown where the key would say nothing."""
    if not first_message:
        return None
    line = " ".join(first_message.split())
    line = line if len(line) <= TASK_TEXT_CHARS else line[: TASK_TEXT_CHARS - 1] + "…"
    return line.encode("utf-8", "replace").decode("utf-8")  # a lone surrogate becomes "?"


def first_user_message(raw: str | None) -> str | None:
    """The text of the first user message in `raw`, or `raw` itself when it is plain text."""
    if raw is None:
        return None
    value = json_value(raw)
    if value is NOT_JSON:
        return raw
    if isinstance(value, (dict, list)):
        return _find_user_text(value)
    return value if isinstance(value, str) else raw


def _find_user_text(value: Any) -> str | None:
    if isinstance(value, dict):
        for key in ("messages", "input", "inputs", "prompt"):
            if key in value:
                found = _find_user_text(value[key])
                if found:
                    return found
        if value.get("role") in ("user", "human") or value.get("type") == "human":
            return _content_text(value.get("content", value.get("parts")))  # LangChain: type
        ids, kwargs = value.get("id"), value.get("kwargs")
        if isinstance(ids, list) and ids and ids[-1] == "HumanMessage" and isinstance(kwargs, dict):
            return _content_text(kwargs.get("content"))  # LangChain's serialised constructor
        return None
    if isinstance(value, list):
        for item in value:
            found = _find_user_text(item)
            if found:
                return found
    return None


def _content_text(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [p.get("content") or p.get("text") for p in content if isinstance(p, dict)]
        return " ".join(t for t in texts if isinstance(t, str)) or None
    return None
