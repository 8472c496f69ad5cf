"""`make run` in a real browser: the sample traces load, the Overview shows their KPIs, and a
link carrying a sidebar filter reopens the Overview filtered.

(The Overview's screenshot is taken by tests/test_e2e_fleet.py, with the whole page.)
"""

from __future__ import annotations

import duckdb
import pytest
from playwright.sync_api import expect

from tests.browser import wait_for_app
from tests.live_server import running_make_run
from ui import format as fmt

pytestmark = pytest.mark.e2e

KPI_SQL = """
SELECT count(*), median(turns), count(*) FILTER (WHERE agent_name = 'code-fixer')
FROM trajectories
"""


def stored_kpis(db_file) -> tuple[int, float, int]:
    with duckdb.connect(str(db_file), read_only=True) as con:
        return con.execute(KPI_SQL).fetchone()


def shown_kpis(page) -> dict[str, str]:
    values = page.get_by_test_id("stMetricValue")
    expect(values.first).to_be_visible()
    labels = page.get_by_test_id("stMetricLabel").all_inner_texts()
    return dict(zip(labels, values.all_inner_texts(), strict=True))


def test_make_run_serves_the_sample_overview(page, tmp_path):
    db_file = tmp_path / "make-run.duckdb"
    with running_make_run(db_file) as base:
        page.goto(base + "/")
        wait_for_app(page)
        shown = shown_kpis(page)
        page.goto(base + "/?agent=code-fixer")
        wait_for_app(page)
        expect(page.get_by_role("combobox", name="Agent")).to_have_value("code-fixer")
        assert page.url.endswith("/?agent=code-fixer")
        filtered = shown_kpis(page)
    trajectories, median_turns, code_fixer = stored_kpis(db_file)
    assert (trajectories, code_fixer) == (94, 42)  # sample_traces/README.md
    assert shown["Trajectories"] == f"{trajectories:,}"
    assert shown["Median turns"] == fmt.count(median_turns)
    assert filtered["Trajectories"] == f"{code_fixer:,}"
