"""JSON reading shared by the JSON-based adapters, with positions in every error.

Python's json module recurses once per nesting level and raises RecursionError past the
interpreter's limit; here that becomes a `LimitExceeded` naming where the nesting got too deep.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from typing import Any

from ingest.errors import DecodeError, LimitExceeded
from ingest.source import Source

# Nesting every JSON reader here is sure to follow; Python's json recurses once per level
# and gives up near the interpreter's recursion limit, so deeper input may be refused.
MAX_JSON_DEPTH = sys.getrecursionlimit() // 2


def invalid_json(exc: json.JSONDecodeError) -> str:
    """json's complaint as a user reads it: "Unterminated string starting at" loses its dangling
    "at" (the error's position says where), and JSON that stops before it is complete says
    the text may be cut short."""
    message = re.sub(r"( starting)? at$", "", exc.msg)
    if exc.msg.startswith("Unterminated") or exc.pos >= len(exc.doc.rstrip()):
        message += "; the text ends before the JSON does (is the file cut short?)"
    return f"invalid JSON: {message}"


def first_char(head: bytes) -> str:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return text.decode("ascii", "replace")


def first_line_object(head: bytes) -> dict | None:
    """The first JSON Lines record if the sniffed bytes hold all of it, else None."""
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    line, newline, _ = stripped.partition(b"\n")
    if not newline and len(stripped) == len(head):
        return None
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def load_document(source: Source) -> Any:
    text = source.text()
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DecodeError(
            source.display_name,
            f"{invalid_json(exc)}; expected one complete JSON document",
            f"line {exc.lineno} column {exc.colno} (byte offset {exc.pos})",
        ) from exc
    except RecursionError as exc:
        raise too_deep(source.display_name, text) from exc


def iter_lines(source: Source) -> Iterator[tuple[int, Any]]:
    """(line number, value) for each non-blank line of a JSON Lines file."""
    for number, line in enumerate(source.text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            raise DecodeError(
                source.display_name,
                f"{invalid_json(exc)}; expected one JSON object per line",
                f"line {number} column {exc.colno}",
            ) from exc
        except RecursionError as exc:
            raise too_deep(source.display_name, line, first_line=number) from exc


def iter_records(source: Source) -> Iterator[tuple[str, Any]]:
    """(position, record) from a JSON array, a single JSON object, or JSON Lines."""
    head = source.head()
    if first_char(head) == "[":
        document = load_document(source)
        for index, record in enumerate(document, start=1):
            yield f"record {index} of the array", record
        return
    text = source.text()
    try:
        single = json.loads(text)
    except json.JSONDecodeError as exc:
        if _pretty_printed(text):  # one document over many lines, not JSON Lines: say where
            raise DecodeError(
                source.display_name,
                f"{invalid_json(exc)}; expected one complete JSON document",
                f"line {exc.lineno} column {exc.colno} (byte offset {exc.pos})",
            ) from exc
        single = None
    except RecursionError as exc:
        raise too_deep(source.display_name, text) from exc
    if isinstance(single, dict):
        yield "line 1", single
        return
    yield from ((f"line {number}", record) for number, record in iter_lines(source))


def _pretty_printed(text: str) -> bool:
    """An indented JSON document (`json.dumps(indent=...)`, most exporters' "JSON"): its first
    line opens an object or array and says nothing else."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first.lstrip("\ufeff") in ("{", "[")


def parse_json_text(value: Any) -> Any:
    """Values that are JSON encoded as a string (tool arguments, message lists) decoded."""
    if isinstance(value, str):
        stripped = value.strip()
        if stripped[:1] in ("{", "[") or stripped in ("null", "true", "false"):
            try:
                return json.loads(stripped)
            except (ValueError, RecursionError):
                return value
    return value


def too_deep(filename: str, text: str, first_line: int = 1) -> LimitExceeded:
    """The error for JSON nested past what the reader can follow, at the first too-deep point."""
    offset = too_deep_offset(text, MAX_JSON_DEPTH)
    line = first_line + text.count("\n", 0, offset)
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return LimitExceeded(
        filename,
        f"JSON nests deeper than {MAX_JSON_DEPTH:,} levels; expected at most "
        f"{MAX_JSON_DEPTH:,} levels of arrays and objects",
        f"line {line} column {column}",
    )


def too_deep_offset(text: str, limit: int) -> int:
    """The offset where nesting first passes `limit` levels (the text's end if it never does)."""
    depth, in_string, escaped = 0, False, False
    for offset, char in enumerate(text):
        if in_string:
            escaped, in_string = (False, True) if escaped else (char == "\\", char != '"')
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return offset
        elif char in "]}":
            depth -= 1
    return len(text)
