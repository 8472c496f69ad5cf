"""JSON reading shared by the JSON-based adapters, with positions in every error."""

from __future__ import annotations

import json
from typing import Any, Iterator

from ingest.errors import DecodeError
from ingest.source import Source


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
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def load_document(source: Source) -> Any:
    text = source.text()
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DecodeError(
            source.display_name,
            f"invalid JSON: {exc.msg}; expected one complete JSON document",
            f"line {exc.lineno} column {exc.colno} (byte offset {exc.pos})",
        ) from exc


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
                f"invalid JSON: {exc.msg}; expected one JSON object per line",
                f"line {number} column {exc.colno}",
            ) from exc


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
    except json.JSONDecodeError:
        single = None
    if isinstance(single, dict):
        yield "line 1", single
        return
    yield from ((f"line {number}", record) for number, record in iter_lines(source))


def parse_json_text(value: Any) -> Any:
    """Values that are JSON encoded as a string (tool arguments, message lists) decoded."""
    if isinstance(value, str):
        stripped = value.strip()
        if stripped[:1] in ("{", "[") or stripped in ("null", "true", "false"):
            try:
                return json.loads(stripped)
            except ValueError:
                return value
    return value
