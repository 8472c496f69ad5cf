"""Run the real app.py under Streamlit's AppTest against a given DuckDB file."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

STREAMLIT_MISSING = "None"  # what st.dataframe shows for a missing value without a placeholder


def shown_rows(table) -> list[dict]:
    """The rows of an `at.dataframe` element as the browser reads them: a missing value is
    the table's `placeholder` text; other values are left as the table holds them."""
    proto = table.proto
    missing = proto.placeholder if proto.HasField("placeholder") else STREAMLIT_MISSING
    frame = table.value.astype(object)
    return [
        {
            column: missing if pd.api.types.is_scalar(value) and pd.isna(value) else value
            for column, value in row.items()
        }
        for row in frame.to_dict("records")
    ]


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
