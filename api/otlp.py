"""POST /v1/traces: an OTLP/HTTP receiver, so any OpenTelemetry SDK can export straight here.

Follows the OTLP/HTTP spec: protobuf or JSON bodies, optionally gzip-compressed; the answer
is an ExportTraceServiceResponse in the request's encoding (partial success naming the
rejected spans); failures are 400/401/413/415 with a google.rpc.Status body. The body is
decompressed within the size limit, written to a temporary file and ingested by the same
`ingest_path` as any upload, in a worker thread so the event loop stays free. Every export
is one upload; spans of one trace spread over many exports still form one trajectory,
because each ingest recomputes the rollup over all stored spans of the traces it touched.
"""

from __future__ import annotations

import tempfile
import zlib
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from google.protobuf.json_format import MessageToDict
from google.rpc import code_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from analysis.pipeline import IngestReport, ingest_path
from api.auth import token_rejection
from api.log import server_log
from ingest.errors import IngestError, UnsupportedFormat
from ingest.registry import described, detect
from ingest.settings import OTLP_BODY_BYTES_ENV, byte_limit
from ingest.source import Source
from store.db import connect, upload_dir
from store.writes import OTLP_ENDPOINT_WHO

TOKEN_ENV = "AGENTTIME_OTLP_TOKEN"
PROTOBUF, JSON = "application/x-protobuf", "application/json"
ADAPTER_FOR = {PROTOBUF: "otlp_protobuf", JSON: "otlp_json"}
DISPLAY_NAME = "POST /v1/traces"
STORE_REFUSED = "the store refused the write"
REJECTIONS_LISTED = 5
REFUSALS_KEPT = 50
GZIP_MAGIC = b"\x1f\x8b"  # no OTLP protobuf or JSON body starts with these bytes


@dataclass(frozen=True)
class Refusal:
    """An export answered with an error status: an SDK logs only the status code, so the
    server logs the reason and the Upload page lists the latest ones."""

    at: datetime
    status: int
    message: str
    client: str


REFUSALS: deque[Refusal] = deque(maxlen=REFUSALS_KEPT)  # since this server started


LOG = server_log("agenttime.otlp")


class Rejected(Exception):
    """A request answered with an error status instead of being ingested."""

    def __init__(self, status: int, code: int, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


async def receive_traces(request: Request) -> Response:
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    answer_as = PROTOBUF if media_type == PROTOBUF else JSON  # JSON: readable with curl
    try:
        if token_rejection(request, TOKEN_ENV) is not None:
            raise Rejected(401, code_pb2.UNAUTHENTICATED, "missing or wrong bearer token")
        if media_type not in ADAPTER_FOR:
            raise Rejected(
                415,
                code_pb2.INVALID_ARGUMENT,
                f"unsupported Content-Type {media_type or '(none)'!r}; expected {PROTOBUF} or {JSON}",
            )
        limit = max_bytes()
        body = await read_body(request, limit)
        body = decompress(body, request.headers.get("content-encoding", ""), limit)
        if is_empty_request(body, media_type):
            return export_response(media_type, [])
        report = await run_in_threadpool(ingest_body, body, media_type)
    except Rejected as rejected:
        note_refusal(rejected, request.client.host if request.client else "unknown")
        return status_response(rejected, answer_as)
    return export_response(media_type, report.skipped)


def note_refusal(rejected: Rejected, client: str) -> None:
    REFUSALS.append(Refusal(datetime.now(UTC), rejected.status, rejected.message, client))
    LOG.warning(
        "%s from %s refused: %d %s", DISPLAY_NAME, client, rejected.status, rejected.message
    )


def max_bytes() -> int:
    return byte_limit(OTLP_BODY_BYTES_ENV)


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(f"body of {int(declared):,} bytes", limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large("body", limit)
        chunks.append(chunk)
    return b"".join(chunks)


def decompress(body: bytes, encoding: str, limit: int) -> bytes:
    """The body without its Content-Encoding, refused once it inflates past `limit`."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity") and body[:2] == GZIP_MAGIC:
        encoding = "gzip"  # compressed without saying so: taken as it was meant
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        raise Rejected(
            415,
            code_pb2.INVALID_ARGUMENT,
            f"unsupported Content-Encoding {encoding!r}; expected gzip or deflate",
        )
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
    try:
        plain = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise Rejected(
            400, code_pb2.INVALID_ARGUMENT, f"body is not valid {encoding} data ({exc})"
        ) from exc
    if len(plain) > limit:
        raise _too_large("decompressed body", limit)
    if not inflater.eof:
        raise Rejected(400, code_pb2.INVALID_ARGUMENT, f"{encoding} body is truncated")
    return plain


def _too_large(what: str, limit: int) -> Rejected:
    return Rejected(
        413,
        code_pb2.RESOURCE_EXHAUSTED,
        f"{what} exceeds {limit:,} bytes (set {OTLP_BODY_BYTES_ENV} to raise it)",
    )


def is_empty_request(body: bytes, media_type: str) -> bool:
    """An export with no spans: valid, answered with success, nothing stored."""
    stripped = body.strip()
    return not body if media_type == PROTOBUF else stripped in (b"", b"{}")


def ingest_body(body: bytes, media_type: str) -> IngestReport:
    """Spool the body to a file and ingest it like an upload (runs in a worker thread)."""
    with tempfile.NamedTemporaryFile(dir=upload_dir(), suffix=".otlp", delete=False) as spool:
        spool.write(body)
    path = Path(spool.name)
    try:
        _require_adapter(path, ADAPTER_FOR[media_type], media_type)
        report = ingest_path(connect(), path, DISPLAY_NAME, who=OTLP_ENDPOINT_WHO)
    finally:
        path.unlink(missing_ok=True)
    if not report.ok:
        if STORE_REFUSED in (report.error or ""):
            raise Rejected(503, code_pb2.UNAVAILABLE, report.error)
        raise Rejected(400, code_pb2.INVALID_ARGUMENT, report.error or "undecodable body")
    return report


def _require_adapter(path: Path, expected: str, media_type: str) -> None:
    """The body must be OTLP in the declared encoding, not another format the uploader knows."""
    source = Source.open(path, DISPLAY_NAME)
    try:
        found = detect(source).name
    except UnsupportedFormat as exc:  # the uploader's list of formats would not help here
        raise Rejected(
            400,
            code_pb2.INVALID_ARGUMENT,
            f"{DISPLAY_NAME}, byte 0: not an OTLP ExportTraceServiceRequest encoded as "
            f"{media_type}: {described(source.head(), 'body')}",
        ) from exc
    except IngestError as exc:
        raise Rejected(400, code_pb2.INVALID_ARGUMENT, str(exc)) from exc
    if found != expected:
        raise Rejected(
            400,
            code_pb2.INVALID_ARGUMENT,
            f"{DISPLAY_NAME}: body looks like {found}, not an OTLP ExportTraceServiceRequest "
            f"encoded as {media_type}",
        )


def export_response(media_type: str, skipped: list) -> Response:
    response = ExportTraceServiceResponse()
    if skipped:
        response.partial_success.rejected_spans = len(skipped)
        response.partial_success.error_message = rejection_message(skipped)
    if media_type == PROTOBUF:
        return Response(response.SerializeToString(), media_type=PROTOBUF)
    return JSONResponse(MessageToDict(response))


def rejection_message(skipped: list) -> str:
    listed = "; ".join(f"{s.position}: {s.reason}" for s in skipped[:REJECTIONS_LISTED])
    more = (
        f"; and {len(skipped) - REJECTIONS_LISTED} more" if len(skipped) > REJECTIONS_LISTED else ""
    )
    spans = "1 span" if len(skipped) == 1 else f"{len(skipped)} spans"
    return f"{spans} rejected: {listed}{more}"


def status_response(rejected: Rejected, answer_as: str) -> Response:
    status = status_pb2.Status(code=rejected.code, message=rejected.message)
    headers = {"WWW-Authenticate": "Bearer"} if rejected.status == 401 else None
    if answer_as == PROTOBUF:
        return Response(status.SerializeToString(), rejected.status, headers, media_type=PROTOBUF)
    return JSONResponse(MessageToDict(status), rejected.status, headers)
