"""The AgentTime server: the Streamlit UI of app.py plus its HTTP routes, in one process.

One process owns the DuckDB file, so the UI, OTLP exporters and `POST /api/ingest` all
write through the same connection instead of fighting over the file lock.
Run with `streamlit run server.py`.
"""

import streamlit as st
from starlette.routing import Route

from api.health import healthz
from api.ingest import ingest_file
from api.methods import NOT_POST, post_only
from api.otlp import receive_traces
from api.server_info import lifespan

ROUTES = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/api/ingest", ingest_file, methods=["POST"]),
    Route("/v1/traces", receive_traces, methods=["POST"]),
    Route("/api/ingest", post_only, methods=NOT_POST),
    Route("/v1/traces", post_only, methods=NOT_POST),
]

app = st.App("app.py", routes=ROUTES, lifespan=lifespan)
