"""What an empty store says: which files to bring and the three ways to bring them."""

from __future__ import annotations

import streamlit as st

from ui.share import server_url

EMPTY_STORE_TEXT = """
**No traces yet.** AgentTime reads agent traces from:

- **OpenTelemetry** — OTLP JSON / JSON Lines / protobuf files, or point any OTel SDK at this server:
  `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT={server}/v1/traces`
- **LangSmith** exports — `list_runs()` JSONL/JSON, run payloads, bulk-export Parquet
- **Langfuse** exports — a trace with its observations, or observations API pages
- **JSONL** — one span per line, or one chat-message trajectory per line (tau-bench style; mini-swe-agent `.traj.json` files too)

Drop files on the **Upload** page, or run `python -m ingest FILE...`. `make run` loads the bundled
sample traces into an empty store.
"""


def show_empty_store() -> None:
    st.info(EMPTY_STORE_TEXT.format(server=server_url()))
    st.page_link("views/upload.py", label="Upload traces", icon=":material/upload:")
