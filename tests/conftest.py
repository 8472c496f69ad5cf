"""Shared fixtures: a real DuckDB file per test, and the real trace files in ../shared/traces."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_TRACES = Path(os.environ.get("AGENTTIME_SHARED_TRACES", ROOT.parent / "shared" / "traces"))


@pytest.fixture
def shared_traces() -> Path:
    if not SHARED_TRACES.is_dir():
        pytest.skip(
            f"real trace files not present at {SHARED_TRACES} (the shared/ folder is absent)"
        )
    return SHARED_TRACES


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "agenttime.duckdb"


@pytest.fixture
def con(db_path):
    from store import db

    connection = db.connect(db_path)
    yield connection
    db.close(db_path)


@pytest.fixture
def live_server(tmp_path):
    """Base URL of a real `streamlit run server.py` on a fresh DuckDB file."""
    from tests.live_server import running_server

    with running_server(tmp_path / "server.duckdb") as base:
        yield base


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    from tests.browser import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        pytest.fail(f"browser tests need Debian's chromium at {CHROMIUM}: apt-get install chromium")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1440, "height": 1000}}
