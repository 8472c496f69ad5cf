"""Which adapter reads a file: decided by sniffing the content, not the file name.

Each adapter module registers itself with `register`; `detect` asks each in priority
order whether the first bytes look like its format. `decode_file` is the one entry
point the CLI, the Upload page and the HTTP endpoints share.
"""

from __future__ import annotations

import codecs
import mmap
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc

from ingest.errors import DecodeError, LimitExceeded, UnsupportedFormat
from ingest.jsonutil import MAX_JSON_DEPTH
from ingest.settings import MAX_SPANS_ENV, count_limit
from ingest.source import Source, content_files

# What an unrecognised file was expected to be, in the words of docs/formats.md.
EXPECTED_FORMATS = (
    "OpenTelemetry (OTLP JSON or JSON Lines, OTLP protobuf or a Collector file, console "
    "exporter output), span JSONL, messages JSONL, a LangSmith or Langfuse export or an "
    "AgentTime Parquet export (see docs/formats.md)"
)

# Formats recognised but not read, with why: "not a recognised trace format" would send a
# user looking for a mistake in a file that is fine.
UNREAD_FORMATS = (
    (
        re.compile(rb'^\s*\{\s*"environment"\s*:\s*"[^"]*"\s*,\s*"trajectory"\s*:\s*\['),
        "an SWE-agent 0.x .traj file, which AgentTime does not read: it keeps only the run's "
        "totals (info.model_stats), no tokens, times or cost per call to put in spans; "
        "mini-swe-agent's .traj.json files are read (see docs/formats.md)",
    ),
)


@dataclass
class Skipped:
    """A record that was read but not ingested, with the reason, so nothing vanishes."""

    position: str
    reason: str


@dataclass
class Decoded:
    format: str
    spans: pa.Table
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    mapped: list[mmap.mmap] = field(default_factory=list)  # where `spans` lives, if mapped

    def release_pages(self) -> None:
        """Drop the pages of a mapped table from this process's memory (once the store holds
        its rows): they are the decoded file, 1.6x its size. A later read of the table
        faults them back in from the file."""
        for mapping in self.mapped:
            mapping.madvise(mmap.MADV_DONTNEED)

    @property
    def trace_count(self) -> int:
        return len(set(self.spans.column("trace_id").to_pylist()))


class Adapter(Protocol):
    name: str

    def sniff(self, head: bytes, source: Source) -> bool: ...

    def decode(self, source: Source) -> Decoded: ...


@dataclass
class _Registered:
    name: str
    priority: int
    sniff: Callable[[bytes, Source], bool]
    decode: Callable[[Source], Decoded]


_ADAPTERS: list[_Registered] = []


def register(name: str, priority: int, sniff, decode) -> None:
    """Add an adapter; a lower priority number is asked first."""
    _ADAPTERS[:] = [a for a in _ADAPTERS if a.name != name]
    _ADAPTERS.append(_Registered(name, priority, sniff, decode))
    _ADAPTERS.sort(key=lambda a: a.priority)


def adapter_names() -> list[str]:
    _load_builtin_adapters()
    return [a.name for a in _ADAPTERS]


def detect(source: Source) -> _Registered:
    _load_builtin_adapters()
    head = source.head()
    with content_guard(source):
        for adapter in _ADAPTERS:
            if adapter.sniff(head, source):
                return adapter
    if source.is_dir:
        files = len(content_files(source.path))
        raise UnsupportedFormat(
            source.display_name,
            f"a folder ({files:,} file{'' if files == 1 else 's'}) holding neither an AgentTime export nor LangSmith "
            "bulk-export Parquet; expected a trace file, or one of those folders",
        )
    for pattern, why in UNREAD_FORMATS:
        if pattern.match(head):
            raise UnsupportedFormat(source.display_name, why, "byte 0")
    raise UnsupportedFormat(
        source.display_name,
        f"not a recognised trace format: {described(head)}; expected {EXPECTED_FORMATS}",
        "byte 0",
    )


def described(head: bytes, what: str = "file") -> str:
    """What the file (or body) starts with, as a person can read it: text quoted, bytes in hex."""
    if not head.strip():
        return f"the {what} is empty" if not head else f"the {what} holds only whitespace"
    try:  # incremental: a character cut at byte 256 waits instead of failing
        text = codecs.getincrementaldecoder("utf-8")().decode(head[:256])
    except UnicodeDecodeError:
        text = ""
    if not text or any(char < " " and char not in "\t\r\n" for char in text[:60]):
        return f"binary content, starting with bytes {head[:8].hex(' ')}"
    return f"the {what} starts with {text[:60]!r}"


def decode_file(path: str | Path, display_name: str | None = None) -> Decoded:
    source = Source.open(path, display_name)
    adapter = detect(source)
    with content_guard(source):
        decoded = adapter.decode(source)
    check_spans_per_trace(decoded.spans, source.display_name)
    return decoded


def max_spans_per_trace() -> int:
    return count_limit(MAX_SPANS_ENV)


def check_spans_per_trace(spans: pa.Table, filename: str) -> None:
    """Refuse a file that gives one trajectory more spans than the rollups are sized for."""
    limit = max_spans_per_trace()
    if spans.num_rows <= limit:
        return
    counts = pc.value_counts(spans.column("trace_id")).to_pylist()
    largest = max(counts, key=lambda entry: entry["counts"])
    if largest["counts"] > limit:
        raise LimitExceeded(
            filename,
            f"trace {largest['values']!r} has {largest['counts']:,} spans; the limit is "
            f"{limit:,} spans per trajectory (set {MAX_SPANS_ENV} to raise it)",
        )


@contextmanager
def content_guard(source: Source) -> Iterator[None]:
    """Two input faults any adapter's reader or writer can run into, refused as such:
    nesting deeper than Python can recurse, and text no UTF-8 can hold."""
    try:
        yield
    except RecursionError as exc:
        raise LimitExceeded(
            source.display_name,
            "content nests too deeply to read (Python's recursion limit); "
            f"expected at most {MAX_JSON_DEPTH:,} levels of nested arrays and objects",
        ) from exc
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start : exc.end]
        raise DecodeError(
            source.display_name,
            f"text holds {bad!r}, a lone UTF-16 surrogate no UTF-8 text can carry; "
            "expected valid Unicode text",
        ) from exc


def _load_builtin_adapters() -> None:
    import ingest.adapters  # noqa: F401  (importing registers every built-in adapter)
