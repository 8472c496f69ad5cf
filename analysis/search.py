"""Search the spans' own text: which trajectories hold a span that mentions a phrase.

The filters narrow runs by what the rollups know; someone hunting a tool argument, an error
message, a customer's words or an id pasted from a log needs the spans themselves. One scan
of `spans` gives each matching trajectory with its first matching span (which the list opens
in the span inspector); a second read, of only the spans a page shows, says where each matched.
"""

from __future__ import annotations

import re

import duckdb
import polars as pl

from analysis.sqlread import read_frame

# (column, how a match there is named), in the order a snippet looks for the phrase
SEARCHED_TEXT = (
    ("name", "name"),
    ("tool_name", "tool"),
    ("tool_args", "arguments"),
    ("error_message", "error"),
    ("input", "input"),
    ("output", "output"),
)
SEARCHED_IDS = (("trace_id", "trace id"), ("span_id", "span id"), ("session_id", "session id"))
ID_PREFIX_CHARS = 8  # a phrase this long also finds the ids it begins (pages show short ids)
_ID_MATCH = " OR ".join(
    f"lower({column}) = $id OR ($prefix AND starts_with(lower({column}), $id))"
    for column, _ in SEARCHED_IDS
)
_TEXT_MATCH = {column: f"{column} ILIKE $pattern ESCAPE '\\'" for column, _ in SEARCHED_TEXT}
# The first matching span a run opens at: one named after the phrase (a tool, a step) or
# with it as id, else one whose arguments or error hold it, else the earliest.
SEARCH_SQL = f"""
SELECT trace_id,
       arg_min(span_id, (rank, start_time, coalesce(seq, 0), span_id)) AS span_id,
       count(*) AS matching_spans
FROM (
    SELECT trace_id, span_id, start_time, seq,
           CASE WHEN {_ID_MATCH} OR {_TEXT_MATCH["name"]} OR {_TEXT_MATCH["tool_name"]} THEN 0
                WHEN {_TEXT_MATCH["tool_args"]} OR {_TEXT_MATCH["error_message"]} THEN 1
                ELSE 2 END AS rank
    FROM spans WHERE {_ID_MATCH} OR {" OR ".join(_TEXT_MATCH.values())}
)
GROUP BY trace_id ORDER BY trace_id
"""
MATCHED_SPANS_SQL = f"""
SELECT trace_id, span_id, {", ".join(c for c, _ in SEARCHED_IDS[2:] + SEARCHED_TEXT)}
FROM spans
WHERE trace_id IN (SELECT unnest(?)) AND span_id IN (SELECT unnest(?))
"""
SNIPPET_CONTEXT = 40  # characters shown on each side of the match


def like_pattern(phrase: str) -> str:
    """`%phrase%` for ILIKE ... ESCAPE '\\', with the phrase's own wildcards taken literally."""
    escaped = phrase.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_spans(con: duckdb.DuckDBPyConnection, phrase: str) -> pl.DataFrame:
    """Trajectories with a span whose text contains `phrase` or whose trace, span or session
    id is it (or begins with it, from ID_PREFIX_CHARS on), in any case: trace_id, span_id
    (the span to open at) and matching_spans."""
    params = {
        "id": phrase.lower(),
        "prefix": len(phrase) >= ID_PREFIX_CHARS,
        "pattern": like_pattern(phrase),
    }
    return read_frame(con, SEARCH_SQL, params)


def id_matches(value: str | None, phrase: str) -> bool:
    """Whether an id is `phrase`, or begins with it (a long enough phrase), in any case."""
    if not value:
        return False
    value, phrase = value.lower(), phrase.lower()
    return value == phrase or (len(phrase) >= ID_PREFIX_CHARS and value.startswith(phrase))


def match_snippets(
    con: duckdb.DuckDBPyConnection, phrase: str, hits: pl.DataFrame
) -> dict[tuple[str, str], str]:
    """(trace_id, span_id) of each hit -> where its span mentions `phrase`, as one line."""
    if hits.is_empty():
        return {}
    pairs = set(hits.select("trace_id", "span_id").iter_rows())
    params = [hits["trace_id"].to_list(), hits["span_id"].to_list()]
    spans = read_frame(con, MATCHED_SPANS_SQL, params)
    found = {}
    for span in spans.iter_rows(named=True):
        key = (span["trace_id"], span["span_id"])
        if key in pairs:
            found[key] = span_snippet(span, phrase)
    return found


def span_snippet(span: dict, phrase: str) -> str:
    """Where one span mentions `phrase`: the first field holding it, and the text around it."""
    for column, label in SEARCHED_IDS:
        if id_matches(span.get(column), phrase):
            return f"{label}: {span[column]}"
    for column, label in SEARCHED_TEXT:
        if (text := snippet(span.get(column), phrase)) is not None:
            return f"{label}: {text}"
    return ""


def snippet(text: str | None, phrase: str, context: int = SNIPPET_CONTEXT) -> str | None:
    """`text` around the first case-insensitive occurrence of `phrase`, on one line, with
    an ellipsis where it was cut; None when `text` does not contain it."""
    if not text or not phrase:
        return None
    match = re.search(re.escape(phrase), text, re.IGNORECASE)
    if match is None:
        return None
    start, end = max(0, match.start() - context), min(len(text), match.end() + context)
    around = " ".join(text[start:end].split())
    return ("…" if start > 0 else "") + around + ("…" if end < len(text) else "")
