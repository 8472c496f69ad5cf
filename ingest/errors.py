"""Why a file could not be ingested, said so a user can fix it.

Every message names the file, the position (line or byte offset) and what was expected,
because "invalid JSON" alone sends people hunting through a 200 MB export.
"""

from __future__ import annotations


class IngestError(Exception):
    """Base of every ingest failure: the store is left unchanged when one is raised."""

    def __init__(self, filename: str, message: str, position: str | None = None):
        self.filename = filename
        self.position = position
        self.detail = message
        where = f"{filename}, {position}" if position else filename
        super().__init__(f"{where}: {message}")


class UnsupportedFormat(IngestError):
    """No adapter recognises the content."""


class DecodeError(IngestError):
    """An adapter recognised the format but the content breaks it."""


class LimitExceeded(IngestError):
    """The input is larger or deeper than the configured limits allow."""
