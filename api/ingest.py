"""POST /api/ingest: any supported trace file, through the process that owns the DuckDB file.

The CLI falls back to this endpoint when the server holds the file lock, so `python -m
ingest` works the same whether the dashboard is running or not. The body is streamed to a
temporary file (never held whole in memory) and ingested from the path.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from analysis.pipeline import ingest_path
from api.auth import token_rejection
from api.log import server_log
from ingest.settings import INGEST_BODY_BYTES_ENV, byte_limit
from ingest.source import safe_filename
from store.db import connect, upload_dir

TOKEN_ENV = "AGENTTIME_INGEST_TOKEN"


LOG = server_log("agenttime.ingest")


async def ingest_file(request: Request) -> JSONResponse:
    if (rejection := token_rejection(request, TOKEN_ENV)) is not None:
        _log_refusal(request, rejection.status_code, "missing or wrong bearer token")
        return rejection
    filename = safe_filename(request.query_params.get("filename"))
    try:
        path, size = await _spool(request)
    except OSError as exc:
        return JSONResponse(
            {
                "ok": False,
                "file": filename,
                "error": f"{filename}: could not store the upload: {exc}",
            },
            507,
        )
    if size > (limit := byte_limit(INGEST_BODY_BYTES_ENV)):
        path.unlink(missing_ok=True)
        return _refused(
            request,
            413,
            f"{filename}: body over {limit:,} bytes (set {INGEST_BODY_BYTES_ENV} to raise it)",
        )
    try:
        report = await run_in_threadpool(
            ingest_path, connect(), path, filename, request.query_params.get("who")
        )
    finally:
        path.unlink(missing_ok=True)
    return JSONResponse(report.as_dict(), status_code=200 if report.ok else 422)


def _refused(request: Request, status: int, message: str) -> JSONResponse:
    _log_refusal(request, status, message)
    return JSONResponse({"error": message}, status)


def _log_refusal(request: Request, status: int, message: str) -> None:
    client = request.client.host if request.client else "unknown"
    LOG.warning("POST /api/ingest from %s refused: %d %s", client, status, message)


async def _spool(request: Request) -> tuple[Path, int]:
    """The body streamed to a temporary file; nothing is left behind if writing fails."""
    size, limit = 0, byte_limit(INGEST_BODY_BYTES_ENV)
    with tempfile.NamedTemporaryFile(dir=upload_dir(), suffix=".part", delete=False) as tmp:
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    break
                tmp.write(chunk)
            tmp.flush()
        except OSError:
            Path(tmp.name).unlink(missing_ok=True)
            raise
    return Path(tmp.name), size
