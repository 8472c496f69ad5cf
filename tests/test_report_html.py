"""Static HTML reports: self-contained, interactive offline, and trace content kept inert."""

from __future__ import annotations

import json

import pytest

from analysis.filters import TrajectoryFilter
from analysis.pipeline import ingest_path
from store.reviews import ReviewInput, add_review
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
    assert "<td>evil</td>" in page and "model=gpt-4.1-mini" in page
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
