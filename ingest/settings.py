"""The limits a deployment sets in the environment, read and checked one way.

A limit given as "1KB" once made every OTLP export fail with a 500 (int() refused it at
each request) while /healthz said ok, and the same mistake in another variable stopped the
server with a traceback. Byte limits take a plain count or a unit (1000000, 64MB, 64MiB);
the server checks every limit at start-up (`check_all`) and names the one it cannot read.
"""

from __future__ import annotations

import os
import re

BYTE_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9,
              "kib": 2**10, "mib": 2**20, "gib": 2**30}  # fmt: skip
_AMOUNT = re.compile(r"^\s*(\d+)\s*([a-z]*)\s*$", re.IGNORECASE)

MAX_INGEST_BYTES_ENV = "AGENTTIME_MAX_INGEST_BYTES"  # a file's size, decompressed
INGEST_BODY_BYTES_ENV = "AGENTTIME_INGEST_MAX_BYTES"  # a POST /api/ingest body
OTLP_BODY_BYTES_ENV = "AGENTTIME_OTLP_MAX_BYTES"  # a POST /v1/traces body, decompressed
MAX_SPANS_ENV = "AGENTTIME_MAX_SPANS_PER_TRACE"
DEFAULTS = {
    MAX_INGEST_BYTES_ENV: 2 * 1024**3,
    INGEST_BODY_BYTES_ENV: 2 * 1024**3,
    OTLP_BODY_BYTES_ENV: 64 * 1024**2,
    MAX_SPANS_ENV: 100_000,
}


class SettingError(ValueError):
    """A limit in the environment that is not one."""


def byte_limit(name: str) -> int:
    raw = os.environ.get(name, "")
    if not raw.strip():
        return DEFAULTS[name]
    match = _AMOUNT.match(raw)
    unit = match.group(2).lower() if match else None
    if match is None or unit not in BYTE_UNITS or int(match.group(1)) == 0:
        raise SettingError(
            f"{name}={raw!r} is not a size: expected a number of bytes above 0, "
            "optionally with a unit (64MB, 64MiB, 2GB)"
        )
    return int(match.group(1)) * BYTE_UNITS[unit]


def count_limit(name: str) -> int:
    raw = os.environ.get(name, "")
    if not raw.strip():
        return DEFAULTS[name]
    if not raw.strip().isdigit() or int(raw) == 0:
        raise SettingError(f"{name}={raw!r} is not a count: expected a whole number above 0")
    return int(raw)


def check_all() -> None:
    """Raise SettingError for the first limit in the environment that cannot be read."""
    for name in DEFAULTS:
        (count_limit if name == MAX_SPANS_ENV else byte_limit)(name)
