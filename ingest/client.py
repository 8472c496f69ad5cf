"""Send files to a running AgentTime server (`POST /api/ingest`) instead of opening its DB.

Used by the CLI when the server holds the DuckDB file lock, or when `--url` is given.
Plain urllib: the CLI needs no HTTP library beyond the standard one.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

TOKEN_ENV = "AGENTTIME_INGEST_TOKEN"


def post_file(base_url: str, path: Path, display_name: str) -> dict:
    """The server's report for one file, in the same shape as IngestReport.as_dict()."""
    query = urllib.parse.urlencode({"filename": display_name})
    request = urllib.request.Request(
        f"{base_url.rstrip('/')}/api/ingest?{query}",
        data=path.read_bytes(),
        method="POST",
        headers={"Content-Type": "application/octet-stream", **_auth_header()},
    )
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            report = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        report = _refusal(display_name, exc.code, exc.read())
    except OSError as exc:
        return _failure(display_name, f"could not reach the server at {base_url}: {exc}")
    return report | {"file": display_name}  # the server keeps only the base name


def stored_span_count(base_url: str) -> int | None:
    """How many spans the server's store holds (GET /healthz); None when it does not answer."""
    try:
        with urllib.request.urlopen(f"{base_url.rstrip('/')}/healthz", timeout=30) as response:
            return int(json.loads(response.read())["spans"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _refusal(name: str, status: int, body: bytes) -> dict:
    """The server's report of a refused file (422), or a failed report made from its answer to
    a request it refused before reading any file (401, 413: `{"error": ...}`)."""
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if isinstance(answer, dict) and "ok" in answer:
        return answer
    detail = answer.get("error") if isinstance(answer, dict) else None
    return _failure(name, f"the server refused it ({status}): {detail or repr(body[:200])}")


def _auth_header() -> dict:
    token = os.environ.get(TOKEN_ENV)
    return {"Authorization": f"Bearer {token}"} if token else {}


def _failure(name: str, message: str) -> dict:
    return {"file": name, "ok": False, "error": f"{name}: {message}"}
