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

from ingest.settings import SettingError, check_all
from store.db import cannot_open, clear_upload_dir, close, connect, server_note_path


def _exit_with(message: str) -> None:
    """Stop as the CLI does, with one line and exit code 1 (raised from here, the error
    would end in Streamlit's traceback and 'Application startup failed')."""
    print(f"error: {message}", file=sys.stderr, flush=True)
    os._exit(1)


@asynccontextmanager
async def lifespan(app):
    try:
        check_all()  # a limit set as "1KB" failed every export with a 500, unseen
        connect()  # take the file lock at start-up, not on the first page view
    except SettingError as exc:
        _exit_with(str(exc))
    except (duckdb.Error, OSError) as exc:
        _exit_with(cannot_open(None, exc))
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
