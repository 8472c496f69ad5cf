"""Connection rules: one DuckDB connection per process, a cursor per unit of work.

DuckDB 2.x refuses (rather than serialises) concurrent calls on one connection, so every
reader and writer takes its own `cursor()`. Writes go through one lock so ingests never
race each other for the same rows.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb

from store.schema import SCHEMA_SQL

DEFAULT_DB_PATH = "data/agenttime.duckdb"
# DuckDB's own default is 80% of RAM; a dashboard shares its machine, and with a limit a
# large upload spills its uncommitted rows to `<db>.tmp` instead of holding them all.
DEFAULT_MEMORY_LIMIT = "1GB"
# DuckDB writes a large insert to the file before commit, compressed, a row group at a time,
# but only row groups it has filled. At its default of 122,880 rows a 100k-span upload sat
# uncompressed in memory (+560 MB for 176 MB of OTLP) and was all compressed at commit
# (0.9 s); at 16,384 rows it streams (+160 MB, commit 0.05 s), and page reads measured the
# same. The size can only be set where a file is attached, hence `StoreConnection`.
ROW_GROUP_ROWS = 16_384
STORE_CATALOG = "store"
_connections: dict[str, StoreConnection] = {}
_open_lock = threading.Lock()
WRITE_LOCK = threading.RLock()


def db_path(path: str | Path | None = None) -> str:
    return str(path or os.environ.get("AGENTTIME_DB") or DEFAULT_DB_PATH)


class StoreConnection:
    """The store's DuckDB connection, with the store attached as `STORE_CATALOG` (to set
    its row group size) and made the default: `cursor()`, the one way readers and writers
    get at it, hands out cursors already switched to the store, not to DuckDB's empty
    in-memory catalog that a new cursor would otherwise start in. Everything else is the
    DuckDB connection's own."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def cursor(self) -> duckdb.DuckDBPyConnection:
        cur = self._con.cursor()
        cur.execute(f"USE {STORE_CATALOG}")
        return cur

    def __getattr__(self, name: str):
        return getattr(self._con, name)


def connect(path: str | Path | None = None) -> StoreConnection:
    """The process-wide connection for `path`, created with the schema on first use, and
    opened afresh after DuckDB invalidated it (a write failed on a full disk): the file
    itself is intact, so a long-running server recovers once there is space again."""
    key = db_path(path)
    with _open_lock:
        if key in _connections and _invalidated(_connections[key]):
            with suppress(duckdb.Error):
                _connections.pop(key).close()
        if key not in _connections:
            if key != ":memory:":
                Path(key).parent.mkdir(parents=True, exist_ok=True)
            con = StoreConnection(_attached(key))
            con.execute(SCHEMA_SQL)
            _seed_models(con)
            _connections[key] = con
        return _connections[key]


def held(path: str | Path | None = None) -> StoreConnection | None:
    """This process's open connection for `path`, if `connect` made one."""
    with _open_lock:
        return _connections.get(db_path(path))


def _attached(path: str) -> duckdb.DuckDBPyConnection:
    config = {"memory_limit": memory_limit()}
    if path != ":memory:":  # spill beside the store, as DuckDB does for a file it opens itself
        config["temp_directory"] = f"{path}.tmp"
    con = duckdb.connect(config=config)
    try:
        con.execute(f"ATTACH ? AS {STORE_CATALOG} (ROW_GROUP_SIZE {ROW_GROUP_ROWS})", [path])
        con.execute(f"USE {STORE_CATALOG}")
    except BaseException:
        con.close()
        raise
    return con


def memory_limit() -> str:
    """DuckDB's memory_limit for the store (AGENTTIME_DUCKDB_MEMORY_LIMIT, e.g. "4GB")."""
    return os.environ.get("AGENTTIME_DUCKDB_MEMORY_LIMIT") or DEFAULT_MEMORY_LIMIT


def _invalidated(con: duckdb.DuckDBPyConnection) -> bool:
    try:
        with con.cursor() as cur:
            cur.execute("SELECT 1").fetchall()
    except duckdb.FatalException:
        return True
    return False


def close(path: str | Path | None = None) -> None:
    with _open_lock:
        con = _connections.pop(db_path(path), None)
    if con is not None:
        con.close()


def upload_dir(path: str | Path | None = None) -> Path:
    """Where uploaded bodies are spooled before ingest: beside the DuckDB file, in a folder
    of its own (`data/prod.duckdb.uploads/`). A folder shared by the stores of one directory
    had a server starting on one store delete another's upload in progress."""
    folder = Path(f"{db_path(path)}.uploads")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def clear_upload_dir(path: str | Path | None = None) -> list[str]:
    """Delete the bodies a stopped server left spooled (killed mid-upload). Called by the
    server once it holds the store: only that process ingests, so none is still in use."""
    removed = []
    for leftover in upload_dir(path).iterdir():
        if leftover.is_file():
            leftover.unlink(missing_ok=True)
            removed.append(leftover.name)
    return removed


def server_note_path(path: str | Path | None = None) -> Path:
    """The note a running server leaves beside the DuckDB file it holds locked."""
    return Path(f"{db_path(path)}.server.json")


def read_server_url(path: str | Path | None = None) -> str | None:
    """The URL of the server holding the store, from its note; None without a note, or when
    the note's process is gone (a server killed with -9 leaves its note behind, and the lock
    may since be held by another process that is no server)."""
    try:
        note = json.loads(server_note_path(path).read_text())
        url, pid = note["url"], int(note["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:  # alive, under another user
        pass
    return url


def is_lock_conflict(error: Exception) -> bool:
    return isinstance(error, duckdb.IOException) and "lock" in str(error).lower()


def cannot_open(path: str | Path | None, error: Exception) -> str:
    """What a command that needs the store says when opening it failed: a running server
    holds its lock (which server, and what to do), or the file is unusable (DuckDB's reason)."""
    url = read_server_url(path) if is_lock_conflict(error) else None
    held = f"; the server at {url} holds it: stop the server first" if url else ""
    return f"cannot open the store at {db_path(path)}: {error}{held}"


@contextmanager
def registered(cur: duckdb.DuckDBPyConnection, name: str, table) -> Iterator[None]:
    """`table` (Arrow or Polars) visible to SQL on `cur` as `name` for the block.

    When the block fails inside a transaction, DuckDB refuses even the unregister until
    ROLLBACK; the original error is what matters then, so the cleanup stays silent.
    """
    cur.register(name, table)
    try:
        yield
    except BaseException:
        with suppress(duckdb.Error):
            cur.unregister(name)
        raise
    cur.unregister(name)


@contextmanager
def transaction(cur: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN … COMMIT, rolled back on any exception (DuckDB's `with` closes, not commits)."""
    cur.execute("BEGIN TRANSACTION")
    try:
        yield cur
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    cur.execute("COMMIT")


def _seed_models(con: duckdb.DuckDBPyConnection) -> None:
    from store.prices import seed_default_prices

    seed_default_prices(con)
