"""Leave a note beside the DuckDB file saying where this server can be reached.

DuckDB lets one process hold a file for writing. When the CLI finds the file locked it
reads this note and sends its files to the server's `POST /api/ingest` instead.
"""

from __future__ import annotations

import json
import os
from contextlib import asynccontextmanager

from streamlit import config

from store.db import connect, server_note_path


@asynccontextmanager
async def lifespan(app):
    connect()  # take the file lock at start-up, not on the first page view
    address = config.get_option("server.address") or "127.0.0.1"
    host = "127.0.0.1" if address in ("0.0.0.0", "::", "") else address
    note = server_note_path()
    note.write_text(
        json.dumps({"url": f"http://{host}:{config.get_option('server.port')}", "pid": os.getpid()})
    )
    try:
        yield
    finally:
        note.unlink(missing_ok=True)
