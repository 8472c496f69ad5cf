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
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        body = exc.read()
        try:
            return json.loads(body)
        except ValueError:
            return _failure(display_name, f"server answered {exc.code}: {body[:200]!r}")
    except OSError as exc:
        return _failure(display_name, f"could not reach the server at {base_url}: {exc}")


def _auth_header() -> dict:
    token = os.environ.get(TOKEN_ENV)
    return {"Authorization": f"Bearer {token}"} if token else {}


def _failure(name: str, message: str) -> dict:
    return {"file": name, "ok": False, "error": f"{name}: {message}"}
