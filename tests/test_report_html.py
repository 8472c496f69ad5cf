"""Static HTML reports: self-contained, interactive offline, and trace content kept inert."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime

import pytest

from analysis.filters import TrajectoryFilter
from analysis.pipeline import ingest_path
from store import db
from store.reviews import ReviewInput, add_review
from tests import pages_fixtures_fleet
from tests.pages_fixtures_fleet import sql
from ui import format as fmt
from ui.names import VERDICT_TEXT
from ui.report import summary_report, trajectory_report

HOSTILE = "<script>alert('x')</script><img src=x onerror=alert(1)>**bold** [l](http://e.x)"


def hostile_run(tmp_path) -> list[dict]:
    t = "2026-03-01T10:00:{:02d}Z"
    return [
        {
            "trace_id": "evil",
            "span_id": "root",
            "name": HOSTILE,
            "kind": "agent",
            "start_time": t.format(0),
            "end_time": t.format(9),
            "agent_name": HOSTILE,
        },
        {
            "trace_id": "evil",
            "span_id": "c1",
            "parent_id": "root",
            "name": "chat",
            "kind": "llm",
            "model": "gpt-4.1-mini",
            "input_tokens": 900,
            "output_tokens": 40,
            "cache_read_tokens": 0,
            "start_time": t.format(1),
            "end_time": t.format(3),
            "output": HOSTILE,
        },
        {
            "trace_id": "evil",
            "span_id": "tool1",
            "parent_id": "root",
            "name": HOSTILE,
            "kind": "tool",
            "tool_name": HOSTILE,
            "tool_args": {"q": HOSTILE},
            "start_time": t.format(3),
            "end_time": t.format(5),
            "status": "error",
            "output": HOSTILE,
        },
    ]


@pytest.fixture
def evil_store(con, tmp_path):
    path = tmp_path / "evil.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in hostile_run(tmp_path)) + "\n")
    assert ingest_path(con, path).ok
    add_review(con, ReviewInput("evil", HOSTILE, "bug", HOSTILE))
    return con


def test_unknown_trace_gives_no_report(con):
    assert trajectory_report(con, "nope") is None


def test_report_escapes_every_piece_of_trace_content(evil_store):
    page = trajectory_report(evil_store, "evil")
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert page.count("<script") == 2  # plotly.js itself and the one figure's call


def test_summary_report_lists_the_filtered_view(evil_store):
    page = summary_report(evil_store, TrajectoryFilter(model="gpt-4.1-mini"))
    assert "<td class=text>evil</td>" in page and "model gpt-4.1-mini" in page
    assert "<img src=x" not in page


@pytest.mark.e2e
def test_report_opened_from_disk_shows_an_interactive_timeline(evil_store, tmp_path, page):
    report = tmp_path / "report.html"
    report.write_text(trajectory_report(evil_store, "evil"))
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(report.as_uri())
    page.wait_for_selector(".plot-container .bars path", timeout=20_000)
    assert page.locator(".plot-container .bars path").count() == 3
    assert page.locator("img").count() == 0
    assert page.get_by_text(HOSTILE, exact=True).count() >= 3  # agent, comment, author
    assert dialogs == []


sample_store_template = pages_fixtures_fleet.sample_store_template
sample_db = pages_fixtures_fleet.sample_db


def figure_json(page: str) -> dict:
    """The first figure of a report, as plotly.js receives it."""
    call = page.split("Plotly.newPlot(", 1)[1]
    rest = call.split(",", 1)[1].lstrip()  # after the div id
    data, end = json.JSONDecoder().raw_decode(rest)
    layout, _ = json.JSONDecoder().raw_decode(rest[end:].lstrip(", \n"))
    return {"data": data, "layout": layout}


def test_a_report_made_in_the_app_draws_its_timeline_in_plotly_s_look(evil_store, monkeypatch):
    import plotly.io as pio

    monkeypatch.setattr(pio.templates, "default", "streamlit")  # as in a running app
    import streamlit.elements.lib.streamlit_plotly_theme  # noqa: F401  (registers it)

    layout = figure_json(trajectory_report(evil_store, "evil"))["layout"]
    assert layout["yaxis"]["automargin"] is True  # span names are never cut
    assert layout["template"]["layout"]["plot_bgcolor"] == "white"  # plotly_white


def test_a_trajectory_report_reads_as_its_page(sample_db):
    con = db.connect(sample_db)
    ((trace, cost, verdict),) = sql(
        sample_db,
        "SELECT trace_id, cost_usd, verdict FROM trajectories "
        "WHERE task_key = 'task:fix-flaky-test-142'",
    )
    add_review(con, ReviewInput(trace, "ana", None, "first line\nsecond line"))
    page = trajectory_report(con, trace)
    assert f"<td>Cost</td><td>{fmt.fine_usd(cost)}</td>" in page  # $0.0464, not $0.05
    assert f"<td>Verdict</td><td>{html.escape(VERDICT_TEXT[verdict], quote=True)}</td>" in page
    assert "<th>Input tokens</th>" in page and "<th>input_tokens</th>" not in page
    assert "<td class=text>no verdict</td>" in page  # a comment-only review, as on the page
    assert "<td class=text>first line\nsecond line</td>" in page  # shown pre-wrapped
    assert "<td class=text>Stagnation</td>" in page and "stagnation</td>" not in page


def test_a_summary_report_keeps_the_page_s_order_and_its_days(sample_db):
    con = db.connect(sample_db)
    flt = TrajectoryFilter(
        agent="code-fixer",
        since=datetime(2026, 11, 20, tzinfo=UTC),
        until=datetime(2026, 11, 25, tzinfo=UTC),  # the sidebar's "until 2026-11-24"
    )
    page = summary_report(con, flt, sort="cost_usd", descending=False)
    expected = [t for (t,) in sql(sample_db, LIST_SQL)]
    shown = [row.split("</td>", 1)[0] for row in page.split("<tr><td class=text>")[1:]]
    assert shown == expected
    assert "agent code-fixer, since 2026-11-20, until 2026-11-24 (inclusive)" in page
    assert "<td>Sorted by</td><td>cost, ascending</td>" in page
    assert "Plotly" not in page and len(page) < 200_000  # no figure, so no plotly.js


LIST_SQL = """
SELECT trace_id FROM trajectories WHERE agent_name = 'code-fixer'
  AND start_time >= TIMESTAMPTZ '2026-11-20 00:00:00+00' AND start_time < TIMESTAMPTZ '2026-11-25 00:00:00+00'
ORDER BY cost_usd ASC NULLS LAST, trace_id
"""


def test_reports_link_back_to_agenttime_only_where_it_is_served(evil_store, monkeypatch):
    monkeypatch.delenv("AGENTTIME_PUBLIC_URL", raising=False)
    assert "<a href" not in summary_report(evil_store, TrajectoryFilter())
    assert "Open this run in AgentTime" not in trajectory_report(evil_store, "evil")
    monkeypatch.setenv("AGENTTIME_PUBLIC_URL", "https://agenttime.example.com/")
    link = '<a href="https://agenttime.example.com/trajectory?trace=evil">'
    assert f"<td class=text>{link}evil</a></td>" in summary_report(evil_store, TrajectoryFilter())
    assert f"<p>{link}Open this run in AgentTime</a></p>" in trajectory_report(evil_store, "evil")


def test_the_report_gives_the_source_s_own_cost_as_the_page_does(con, shared_traces):
    langgraph = shared_traces / "other" / "langfuse_trace__langgraph-python-2025-08-22.json"
    assert ingest_path(con, langgraph).ok
    page = trajectory_report(con, "e1fde3efec57ce8a69bafd3fb928a7eb")
    assert (
        "<td>Cost source</td><td>computed from the model price table; the source itself "
        "reported $0.0002 for 2 calls</td>"
    ) in page
