"""`make run` in a real browser: the sample traces load and the Overview shows their KPIs."""

from __future__ import annotations

import duckdb
import pytest
from playwright.sync_api import expect

from tests.browser import screenshot, wait_for_app
from tests.live_server import running_make_run
from ui import format as fmt

pytestmark = pytest.mark.e2e


def stored_kpis(db_file) -> tuple[int, float]:
    with duckdb.connect(str(db_file), read_only=True) as con:
        return con.execute("SELECT count(*), median(turns) FROM trajectories").fetchone()


def test_make_run_serves_the_sample_overview(page, tmp_path):
    db_file = tmp_path / "make-run.duckdb"
    with running_make_run(db_file) as base:
        page.goto(base + "/")
        wait_for_app(page)
        values = page.get_by_test_id("stMetricValue")
        expect(values.first).to_be_visible()
        labels = page.get_by_test_id("stMetricLabel").all_inner_texts()
        shown = dict(zip(labels, values.all_inner_texts(), strict=True))
        screenshot(page, "overview")
        page.goto(base + "/?sort=Most+turns")
        wait_for_app(page)
        expect(page.get_by_role("combobox", name="Sort by")).to_have_value("Most turns")
        assert page.url.endswith("/?sort=Most+turns")
    trajectories, median_turns = stored_kpis(db_file)
    assert trajectories > 0
    assert shown["Trajectories"] == f"{trajectories:,}"
    assert shown["Median turns"] == fmt.count(median_turns)
