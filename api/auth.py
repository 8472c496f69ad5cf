"""Bearer-token checks for the ingest endpoints; no token configured means open (local mode)."""

from __future__ import annotations

import hmac
import os

from starlette.requests import Request
from starlette.responses import JSONResponse


def token_rejection(request: Request, env_var: str) -> JSONResponse | None:
    """A 401 response when `env_var` holds a token and the request does not carry it."""
    expected = os.environ.get(env_var)
    if not expected:
        return None
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), expected):
        return None
    return JSONResponse(
        {"error": "missing or wrong bearer token"},
        status_code=401,
        headers={"WWW-Authenticate": "Bearer"},
    )
