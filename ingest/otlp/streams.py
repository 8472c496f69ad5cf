"""Reading JSON spans without holding more than needed: JSON Lines stream line by line.

OTLP JSON arrives as JSON Lines (SDK and Collector file exporters: one export per line, often
hundreds of MB) or as whole documents, pretty-printed or several in a row (the Python console
exporter prints one multi-line object per span). Lines are streamed from the (decompressed)
file in blocks and parsed with orjson, falling back to the standard parser (which words the
errors, and accepts what orjson refuses: NaN, lone surrogates); documents are read whole and
walked with `raw_decode`. Every error names the line.
"""

from __future__ import annotations

import codecs
import gzip
import json
import zlib
from collections.abc import Iterator
from json.decoder import WHITESPACE
from typing import Any

import orjson

from ingest.canonical import may_hold_long_integer
from ingest.errors import DecodeError, IngestError, LimitExceeded
from ingest.jsonutil import invalid_json
from ingest.source import Source

TOO_DEEP = "JSON nested too deeply; expected OTLP spans"
READ_BLOCK = 4 * 1024 * 1024
# Line breaks str.splitlines honours besides \n and \r\n, as UTF-8 bytes.
OTHER_LINE_BREAKS = (b"\x0b", b"\x0c", b"\x1c", b"\x1d", b"\x1e", b"\xc2\x85", b"\xe2\x80\xa8", b"\xe2\x80\xa9")  # fmt: skip


def iter_json_values(source: Source) -> Iterator[tuple[str, Any]]:
    """(position, value) for each top-level JSON value: JSON Lines, or one/many pretty documents."""
    if source.byte_range is not None or is_json_lines(source.head()):
        yield from _iter_lines(source)
    else:
        yield from _iter_document(source)


def is_json_lines(head: bytes) -> bool:
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
    name = source.display_name
    for number, line in numbered_lines(source):
        yield f"line {number}", _loads_line(line, number, name)


def raw_lines(source: Source) -> Iterator[bytes]:
    """Every line (without its "\\n") of the (decompressed) file, read in blocks so memory stays
    bounded: the size limit is checked as bytes arrive, so one endless line stops at it too."""
    name, total, number, partial = source.display_name, 0, 0, []
    with open_stream(source) as handle:
        try:
            while block := handle.read(READ_BLOCK):
                total += len(block)
                if total > source.max_bytes:
                    raise LimitExceeded(name, f"content exceeds {source.max_bytes:,} bytes")
                pieces = block.split(b"\n")
                if len(pieces) == 1:
                    partial.append(block)
                    continue
                if partial:
                    pieces[0] = b"".join([*partial, pieces[0]])
                partial = [pieces.pop()]
                number += len(pieces)
                yield from pieces
        except (OSError, EOFError, zlib.error) as exc:
            # the block that failed is lost with its bytes: say which span of content it was
            where = f"content bytes {total:,}–{total + READ_BLOCK:,}"
            raise DecodeError(
                name,
                f"gzip stream broken ({exc}); expected a complete gzip file",
                where + (f", after line {number:,}" if number else ""),
            ) from exc
    if partial and partial != [b""]:
        yield b"".join(partial)


def numbered_lines(source: Source) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of each non-blank line, the first without its BOM."""
    for number, line in enumerate(raw_lines(source), start=source.first_record):
        if line and not line.isspace():
            yield number, line.removeprefix(codecs.BOM_UTF8) if number == 1 else line


def json_lines_fast(source: Source) -> list[tuple[int, Any]] | None:
    """Every non-blank line of a JSON Lines file parsed by orjson and numbered as
    `jsonutil.iter_lines` numbers them, or None whenever that standard reader could read the
    file differently: a line break other than \\n or \\r\\n (str.splitlines splits on more),
    a line orjson refuses, a size limit, a broken stream. The caller then reads the file the
    standard way, so its results and errors stay exactly as they were."""
    records = []
    try:
        for number, line in enumerate(raw_lines(source), start=1):
            if any(mark in line for mark in OTHER_LINE_BREAKS) or b"\r" in line[:-1]:
                return None
            if line and not line.isspace():
                line = line.removeprefix(codecs.BOM_UTF8) if number == 1 else line
                records.append((number, _orjson_loads(line)))
    except (ValueError, RecursionError, IngestError):
        return None
    return records


def _orjson_loads(line: bytes) -> Any:
    """orjson, except for a line with an integer literal past 64 bits (orjson reads it as a
    float, json as the exact int)."""
    if may_hold_long_integer(line):
        return json.loads(line)
    return orjson.loads(line)


def _loads_line(line: bytes, number: int, name: str) -> Any:
    try:
        return _orjson_loads(line)
    except (orjson.JSONDecodeError, ValueError, RecursionError):
        pass  # the standard parser decides, so errors and lenient cases read as before
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise DecodeError(
            name,
            f"{invalid_json(exc)}; expected one complete JSON object per line",
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
                f"{invalid_json(exc)}; expected complete JSON objects",
                f"line {exc.lineno} column {exc.colno} (byte offset {offset})",
            ) from exc
        yield f"line {line}", value
        index = WHITESPACE.match(text, end).end()


def open_stream(source: Source):
    """The file's (decompressed) bytes as a stream, so big files are never held whole."""
    if source.byte_range is not None:
        return RangeReader(source.path, *source.byte_range)
    return gzip.open(source.path, "rb") if source.compressed else source.path.open("rb")


class RangeReader:
    """Bytes [start, end) of a plain file, read like a file."""

    def __init__(self, path, start: int, end: int):
        self.handle = open(path, "rb")  # noqa: SIM115 - closed by __exit__
        self.handle.seek(start)
        self.left = end - start

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(self.left if size < 0 else min(size, self.left))
        self.left -= len(data)
        return data

    def __enter__(self) -> RangeReader:
        return self

    def __exit__(self, *exc) -> None:
        self.handle.close()
