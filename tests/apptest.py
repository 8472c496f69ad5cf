"""Run the real app.py under Streamlit's AppTest against a given DuckDB file."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT


@contextmanager
def app_on(db_file: Path, page: str | None = None, query: dict | None = None):
    previous = os.environ.get("AGENTTIME_DB")
    os.environ["AGENTTIME_DB"] = str(db_file)
    try:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        for key, value in (query or {}).items():
            at.query_params[key] = value
        at.run()
        if page:
            at.switch_page(page).run()
        yield at
    finally:
        if previous is None:
            os.environ.pop("AGENTTIME_DB", None)
        else:
            os.environ["AGENTTIME_DB"] = previous
