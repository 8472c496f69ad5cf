"""Links to a trajectory view built from untrusted ids: always URL-encoded, always relative."""

from __future__ import annotations

from urllib.parse import urlencode


def trajectory_href(trace_id: str, span_id: str | None = None) -> str:
    params = {"trace": trace_id} | ({"span": span_id} if span_id else {})
    return f"/trajectory?{urlencode(params)}"
