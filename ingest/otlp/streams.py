"""Reading JSON spans without holding more than needed: JSON Lines stream line by line.

OTLP JSON arrives as JSON Lines (SDK and Collector file exporters: one export per line, often
hundreds of MB) or as whole documents, pretty-printed or several in a row (the Python console
exporter prints one multi-line object per span). Lines are streamed from the (decompressed)
file; documents are read whole and walked with `raw_decode`. Every error names the line.
"""

from __future__ import annotations

import codecs
import gzip
import json
import zlib
from collections.abc import Iterator
from json.decoder import WHITESPACE
from typing import Any

from ingest.errors import DecodeError, LimitExceeded
from ingest.source import Source

TOO_DEEP = "JSON nested too deeply; expected OTLP spans"


def iter_json_values(source: Source) -> Iterator[tuple[str, Any]]:
    """(position, value) for each top-level JSON value: JSON Lines, or one/many pretty documents."""
    if _is_json_lines(source.head()):
        yield from _iter_lines(source)
    else:
        yield from _iter_document(source)


def _is_json_lines(head: bytes) -> bool:
    """True when the first non-blank line is a complete JSON value (or too long to tell)."""
    stripped = head.lstrip(codecs.BOM_UTF8 + b" \t\r\n")
    line, newline, _ = stripped.partition(b"\n")
    if not newline:
        return True
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def _iter_lines(source: Source) -> Iterator[tuple[str, Any]]:
    name, total = source.display_name, 0
    with open_stream(source) as handle:
        number = 0
        try:
            for number, line in enumerate(handle, start=1):  # noqa: B007 (number used after)
                total += len(line)
                if total > source.max_bytes:
                    raise LimitExceeded(name, f"content exceeds {source.max_bytes:,} bytes")
                if line.isspace():
                    continue
                if number == 1:
                    line = line.removeprefix(codecs.BOM_UTF8)
                yield f"line {number}", _loads_line(line, number, name)
        except (OSError, EOFError, zlib.error) as exc:
            raise DecodeError(name, f"gzip stream broken: {exc}", f"after line {number}") from exc


def _loads_line(line: bytes, number: int, name: str) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise DecodeError(
            name,
            f"invalid JSON: {exc.msg}; expected one complete JSON object per line",
            f"line {number} column {exc.colno}",
        ) from exc
    except UnicodeDecodeError as exc:
        raise DecodeError(name, "invalid UTF-8; expected UTF-8 text", f"line {number}") from exc
    except RecursionError as exc:
        raise DecodeError(name, TOO_DEEP, f"line {number}") from exc


def _iter_document(source: Source) -> Iterator[tuple[str, Any]]:
    text = source.text()
    decoder = json.JSONDecoder()
    index, line, counted = WHITESPACE.match(text, 0).end(), 1, 0
    while index < len(text):
        line += text.count("\n", counted, index)
        counted = index
        try:
            value, end = decoder.raw_decode(text, index)
        except RecursionError as exc:
            raise DecodeError(source.display_name, TOO_DEEP, f"line {line}") from exc
        except json.JSONDecodeError as exc:
            offset = len(text[: exc.pos].encode())
            raise DecodeError(
                source.display_name,
                f"invalid JSON: {exc.msg}; expected complete JSON objects",
                f"line {exc.lineno} column {exc.colno} (byte offset {offset})",
            ) from exc
        yield f"line {line}", value
        index = WHITESPACE.match(text, end).end()


def open_stream(source: Source):
    """The file's (decompressed) bytes as a stream, so big files are never held whole."""
    return gzip.open(source.path, "rb") if source.compressed else source.path.open("rb")
