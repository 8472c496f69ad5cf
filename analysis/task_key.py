"""task_key: what pairs runs of the same task across models.

An explicit task id wins. Otherwise the key is a hash of the normalised first user
message, found in whichever message shape the source used (OpenAI messages, OTel GenAI
parts, plain text), so the same prompt run on a small and a large model pairs up.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import duckdb
import pyarrow as pa

from store.db import registered

FIRST_INPUTS_SQL = """
SELECT t.trace_id, t.task_id,
       (SELECT s.input FROM spans s
        WHERE s.trace_id = t.trace_id AND s.input IS NOT NULL AND s.kind IN ('agent', 'llm', 'chain')
        ORDER BY (s.parent_id IS NULL) DESC, s.start_time NULLS LAST, s.seq NULLS LAST
        LIMIT 1) AS first_input,
       (SELECT s.input FROM spans s
        WHERE s.trace_id = t.trace_id AND s.input IS NOT NULL AND s.kind = 'llm'
        ORDER BY s.start_time NULLS LAST, s.seq NULLS LAST LIMIT 1) AS first_llm_input
FROM trajectories t WHERE t.trace_id IN (SELECT trace_id FROM affected)
"""
UPDATE_SQL = """
UPDATE trajectories SET task_key = k.task_key
FROM task_keys k WHERE trajectories.trace_id = k.trace_id
"""


def refresh_task_keys(cur: duckdb.DuckDBPyConnection) -> None:
    rows = cur.execute(FIRST_INPUTS_SQL).fetchall()
    keys = [
        task_key(task_id, first_user_message(a) or first_user_message(b))
        for _, task_id, a, b in rows
    ]
    table = pa.table({"trace_id": [r[0] for r in rows], "task_key": keys})
    with registered(cur, "task_keys", table):
        cur.execute(UPDATE_SQL)


def task_key(task_id: str | None, first_message: str | None) -> str | None:
    if task_id is not None:
        return f"task:{task_id}"
    if not first_message:
        return None
    normalised = re.sub(r"\s+", " ", first_message).strip().lower()
    return "msg:" + hashlib.sha256(normalised.encode()).hexdigest()[:16]


def first_user_message(raw: str | None) -> str | None:
    """The text of the first user message in `raw`, or `raw` itself when it is plain text."""
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
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
        if value.get("role") in ("user", "human"):
            return _content_text(value.get("content", value.get("parts")))
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
