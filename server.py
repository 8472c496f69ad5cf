"""The AgentTime server: the Streamlit UI of app.py plus its HTTP routes, in one process.

One process owns the DuckDB file, so the UI, OTLP exporters and `POST /api/ingest` all
write through the same connection instead of fighting over the file lock.
Run with `streamlit run server.py`.

Behind a proxy that serves the app under a path (`--server.baseUrlPath=agenttime`),
Streamlit moves its own routes under it; the routes here answer both there and at the root,
so a proxy may forward them either way and an exporter pointed at
`https://host/agenttime/v1/traces` reaches the endpoint.
"""

import streamlit as st
from starlette.routing import Route
from streamlit import config

from api.health import healthz
from api.ingest import ingest_file
from api.methods import NOT_POST, post_only
from api.otlp import receive_traces
from api.server_info import lifespan


def routes(prefix: str) -> list[Route]:
    return [
        Route(f"{prefix}/healthz", healthz, methods=["GET"]),
        Route(f"{prefix}/api/ingest", ingest_file, methods=["POST"]),
        Route(f"{prefix}/v1/traces", receive_traces, methods=["POST"]),
        Route(f"{prefix}/api/ingest", post_only, methods=NOT_POST),
        Route(f"{prefix}/v1/traces", post_only, methods=NOT_POST),
    ]


BASE_PATH = (config.get_option("server.baseUrlPath") or "").strip("/")
ROUTES = routes("") + (routes(f"/{BASE_PATH}") if BASE_PATH else [])

app = st.App("app.py", routes=ROUTES, lifespan=lifespan)
