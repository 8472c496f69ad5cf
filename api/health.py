"""GET /healthz: the process is up and its DuckDB store answers."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from store.db import connect, db_path


async def healthz(request: Request) -> JSONResponse:
    with connect().cursor() as cur:
        (spans,) = cur.execute("SELECT count(*) FROM spans").fetchone()
    return JSONResponse({"status": "ok", "db": db_path(), "spans": spans})
