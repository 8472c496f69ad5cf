"""Which adapter reads a file: decided by sniffing the content, not the file name.

Each adapter module registers itself with `register`; `detect` asks each in priority
order whether the first bytes look like its format. `decode_file` is the one entry
point the CLI, the Upload page and the HTTP endpoints share.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

import pyarrow as pa

from ingest.errors import UnsupportedFormat
from ingest.source import Source


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
    for adapter in _ADAPTERS:
        if adapter.sniff(head, source):
            return adapter
    preview = head[:60].decode("utf-8", "replace").replace("\n", "\\n")
    raise UnsupportedFormat(
        source.display_name,
        "not a recognised trace format; expected one of "
        f"{', '.join(a.name for a in _ADAPTERS)} (file starts with {preview!r})",
        "byte 0",
    )


def decode_file(path: str | Path, display_name: str | None = None) -> Decoded:
    source = Source.open(path, display_name)
    adapter = detect(source)
    return adapter.decode(source)


def _load_builtin_adapters() -> None:
    import ingest.adapters  # noqa: F401  (importing registers every built-in adapter)
