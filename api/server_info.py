"""At start-up: take the store, clear what a killed predecessor left, leave a note; at
shutdown: close the store, so its write-ahead log is folded into the file.

DuckDB lets one process hold a file for writing. When the CLI finds the file locked it
reads the note this server leaves beside the file and sends its files to the server's
`POST /api/ingest` instead.
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import asynccontextmanager

import duckdb
from streamlit import config

from store.db import cannot_open, clear_upload_dir, close, connect, server_note_path


@asynccontextmanager
async def lifespan(app):
    try:
        connect()  # take the file lock at start-up, not on the first page view
    except (duckdb.Error, OSError) as exc:  # as the CLI says it, not as a startup traceback
        print(f"error: {cannot_open(None, exc)}", file=sys.stderr, flush=True)
        os._exit(1)
    if removed := clear_upload_dir():
        print(f"removed {len(removed)} upload(s) left spooled by a stopped server", file=sys.stderr)
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
        close()  # DuckDB folds its write-ahead log into the file: a copy of it is whole
