"""AppTest of the Overview and Upload pages on real data and on an empty store."""

from __future__ import annotations

import json

from analysis.pipeline import ingest_path
from tests.apptest import app_on


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_overview_on_an_empty_store_says_what_to_upload(db_path, con):
    with app_on(db_path) as at:
        assert not at.exception
        assert "No traces yet" in at.info[0].value
        assert not at.metric


def test_overview_kpis_on_tau_bench(db_path, con, shared_traces):
    ingest_path(con, shared_traces / "other" / "tau-bench_gpt-4o-airline.json")
    with app_on(db_path) as at:
        assert not at.exception
        shown = metrics(at)
        assert shown["Trajectories"] == "200"
        assert shown["Success rate"] == "42%"
        assert shown["Median wall time"] == "not recorded"
        assert shown["Total tokens"] == "not recorded"
        assert shown["Cost"] == "not recorded"
        assert at.dataframe[0].value.shape[0] == 200


def test_overview_table_sorts_by_the_chosen_column(db_path, con, shared_traces):
    """The URL side of this binding is checked in the browser (tests/test_e2e_*.py)."""
    ingest_path(con, shared_traces / "other" / "tau-bench_gpt-4o-airline.json")
    with app_on(db_path) as at:
        at.selectbox(key="sort").set_value("Most turns").run()
        turns = at.dataframe[0].value["turns"].tolist()
        assert turns == sorted(turns, reverse=True)


def test_upload_reports_each_file(db_path, con):
    good = json.dumps(
        {
            "trace_id": "t1",
            "span_id": "s1",
            "name": "chat",
            "kind": "llm",
            "start_time": "2026-01-01T00:00:00Z",
            "end_time": "2026-01-01T00:00:02Z",
        }
    )
    with app_on(db_path, page="pages/upload.py") as at:
        at.file_uploader(key="files").set_value(
            [
                ("good.jsonl", good.encode(), "application/json"),
                ("../../evil name.jsonl", b"{broken", "application/json"),
            ]
        ).run()
        at.button[0].click().run()
        assert not at.exception
        assert "good.jsonl" in at.success[0].value and "1 spans" in at.success[0].value
        assert at.error[0].value.startswith("evil_name.jsonl")
        assert "not a recognised trace format" in at.error[0].value
    with con.cursor() as cur:
        assert cur.execute("SELECT count(*), any_value(filename) FROM uploads").fetchone() == (
            1,
            "good.jsonl",
        )
