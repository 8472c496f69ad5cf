"""Reading an input file once, whatever its wrapping (gzip), within the configured limits.

Adapters get a `Source`: the file name for messages, the first bytes for sniffing, and the
whole decompressed content on demand. A gzip bomb is stopped at the decompressed limit
rather than after it has filled memory.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path

from ingest.errors import DecodeError, LimitExceeded
from ingest.settings import MAX_INGEST_BYTES_ENV, byte_limit

GZIP_MAGIC = b"\x1f\x8b"
SNIFF_BYTES = 64 * 1024


def safe_filename(name: str | None) -> str:
    """An uploaded file's name reduced to its base name and tame characters: it can label
    a file but never steer a path."""
    base = Path((name or "upload").replace("\\", "/")).name
    cleaned = "".join(c if c.isalnum() or c in "._-" else "_" for c in base)[:120]
    return cleaned.strip(".") or "upload"


GZIP_STEP = 1024 * 1024  # decompressed bytes read at a time


@dataclass
class Source:
    path: Path
    display_name: str
    max_bytes: int
    compressed: bool = False
    # A part of a plain file, for a decoding worker: bytes [start, end), whose first line (JSON
    # lines) or message (framed protobuf) is number `first_record` of the file.
    byte_range: tuple[int, int] | None = None
    first_record: int = 1
    _data: bytes | None = field(default=None, repr=False)

    @classmethod
    def open(cls, path: str | Path, display_name: str | None = None, max_bytes: int | None = None):
        path = Path(path)
        compressed = False
        if not path.is_dir():
            with path.open("rb") as handle:
                compressed = handle.read(2) == GZIP_MAGIC
        return cls(
            path=path,
            display_name=display_name or path.name,
            max_bytes=max_bytes or byte_limit(MAX_INGEST_BYTES_ENV),
            compressed=compressed,
        )

    def part(self, start: int, end: int, first_record: int = 1) -> Source:
        """Bytes [start, end) of this plain file, starting at record number `first_record`."""
        return replace(self, byte_range=(start, end), first_record=first_record, _data=None)

    @property
    def is_plain_file(self) -> bool:
        """Uncompressed bytes on disk (not a folder, not held in memory): readable by range."""
        return not self.compressed and self._data is None and not self.is_dir

    @property
    def is_dir(self) -> bool:
        return self.path.is_dir()

    @property
    def size(self) -> int:
        return sum(part.stat().st_size for part in content_files(self.path))

    def head(self, n: int = SNIFF_BYTES) -> bytes:
        if self.is_dir:
            return b""  # a folder has no first bytes: adapters that take folders look inside
        if self._data is not None:
            return self._data[:n]
        if not self.compressed:
            with self.path.open("rb") as handle:
                return handle.read(n)
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        with self.path.open("rb") as handle:
            out = b""
            while len(out) < n:
                chunk = handle.read(64 * 1024)
                if not chunk:
                    break
                try:
                    out += decompressor.decompress(chunk, n - len(out))
                except zlib.error as exc:
                    raise DecodeError(self.display_name, f"corrupt gzip stream ({exc})") from exc
            return out

    def read(self) -> bytes:
        """The whole (decompressed) content, refused past `max_bytes`."""
        if self.is_dir:
            raise DecodeError(self.display_name, "is a folder; expected a single file")
        if self._data is None:
            self._data = self._read_plain() if not self.compressed else self._read_gzip()
        return self._data

    def _read_plain(self) -> bytes:
        if self.size > self.max_bytes:
            raise LimitExceeded(
                self.display_name,
                f"file is {self.size:,} bytes; the limit is {self.max_bytes:,} "
                "(set AGENTTIME_MAX_INGEST_BYTES to raise it)",
            )
        return self.path.read_bytes()

    def _read_gzip(self) -> bytes:
        parts, total = [], 0
        try:
            with gzip.open(self.path, "rb") as handle:
                while chunk := handle.read(GZIP_STEP):
                    total += len(chunk)
                    if total > self.max_bytes:
                        raise LimitExceeded(
                            self.display_name,
                            f"decompresses to more than {self.max_bytes:,} bytes "
                            "(set AGENTTIME_MAX_INGEST_BYTES to raise it)",
                        )
                    parts.append(chunk)
        except (OSError, EOFError, zlib.error) as exc:
            # the step that failed is lost with its bytes: say which span of content it was
            raise DecodeError(
                self.display_name,
                f"gzip stream broken ({exc}); expected a complete gzip file",
                f"content bytes {total:,}–{total + GZIP_STEP:,}",
            ) from exc
        return b"".join(parts)

    def text(self) -> str:
        data = self.read()
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise DecodeError(
                self.display_name,
                f"invalid UTF-8 byte 0x{data[exc.start]:02x}; expected UTF-8 text",
                f"line {line} (byte offset {exc.start})",
            ) from exc


def content_files(path: Path) -> list[Path]:
    """The file itself, or every file under a folder in a stable order (a folder upload's content)."""
    if not path.is_dir():
        return [path]
    return sorted(part for part in path.rglob("*") if part.is_file())
