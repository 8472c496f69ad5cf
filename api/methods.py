"""What the POST-only routes answer to any other method.

Streamlit serves its page for a path it has no route for, so a browser opening
/v1/traces got status 200 and a blank page; it now gets 405, `Allow: POST` and one line
on what to send there.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse

NOT_POST = ["GET", "PUT", "PATCH", "DELETE"]  # HEAD comes with GET
USAGE = {
    "/v1/traces": "an OTLP/HTTP trace export (Content-Type application/x-protobuf or "
    "application/json), as any OpenTelemetry SDK sends it; see the README",
    "/api/ingest": "a trace file as the request body, named by ?filename=; see the README",
}


async def post_only(request: Request) -> PlainTextResponse:
    path = request.url.path
    return PlainTextResponse(
        f"{request.method} is not served here: POST {path} takes {USAGE[path]}\n",
        status_code=405,
        headers={"Allow": "POST"},
    )
