"""POST /api/ingest: any supported trace file, through the process that owns the DuckDB file.

The CLI falls back to this endpoint when the server holds the file lock, so `python -m
ingest` works the same whether the dashboard is running or not. The body is streamed to a
temporary file (never held whole in memory) and ingested from the path.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from analysis.pipeline import ingest_path
from api.auth import token_rejection
from ingest.source import safe_filename
from store.db import connect, upload_dir

TOKEN_ENV = "AGENTTIME_INGEST_TOKEN"
MAX_BYTES = int(os.environ.get("AGENTTIME_INGEST_MAX_BYTES", 2 * 1024**3))


async def ingest_file(request: Request) -> JSONResponse:
    if (rejection := token_rejection(request, TOKEN_ENV)) is not None:
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
    if size > MAX_BYTES:
        path.unlink(missing_ok=True)
        return JSONResponse({"error": f"{filename}: body over {MAX_BYTES:,} bytes"}, 413)
    try:
        report = await run_in_threadpool(
            ingest_path, connect(), path, filename, request.query_params.get("who")
        )
    finally:
        path.unlink(missing_ok=True)
    return JSONResponse(report.as_dict(), status_code=200 if report.ok else 422)


async def _spool(request: Request) -> tuple[Path, int]:
    """The body streamed to a temporary file; nothing is left behind if writing fails."""
    size = 0
    with tempfile.NamedTemporaryFile(dir=upload_dir(), suffix=".part", delete=False) as tmp:
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_BYTES:
                    break
                tmp.write(chunk)
            tmp.flush()
        except OSError:
            Path(tmp.name).unlink(missing_ok=True)
            raise
    return Path(tmp.name), size
