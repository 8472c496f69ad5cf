"""Shared pieces for the Trajectories / Trajectory / Compare page tests.

The sample store is built once per session from the three bundled sample files (the real
ingest path) and copied per test. Expected values come from reading the sample files
directly (`sample_spans`), not from the store under test. `write_hostile_trace` writes a
real span-JSONL trace whose names and content try every way of becoming markup;
`write_unrecorded_trace` two runs that leave waste, cost, tokens and session unknown.
"""

from __future__ import annotations

import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

SAMPLES = ROOT / "sample_traces"
SAMPLE_FILES = ("agents.spans.jsonl", "support-bot.otlp.jsonl", "research-agent.langsmith.jsonl")
SAMPLE_TRAJECTORIES = 94  # 54 + 20 + 20, sample_traces/README.md
SHOWCASE_TASK = "fix-flaky-test-142"
CHANGELOG_TASK = "update-changelog-19"

HOSTILE_TRACE = "hostile-trace-1"
HOSTILE_SPAN = "hostile-span-<b>1</b>"
SCRIPT = "<script>alert(1)</script>"
IMG = "![img](http://x/i.png)"
LINK = "[link](http://x)"
ANSI = "\x1b[31mred\x1b[0m"
LONG_LINE = "x" * 50_000
ANCHOR = '<a href="http://x/a">A-LINK</a>'
HOSTILE_NAME = f"{SCRIPT} **bold** {LINK} {IMG} {ANSI} :red[colour] $x^2$ {ANCHOR}"
HOSTILE_INPUT = f"{HOSTILE_NAME}\n{LONG_LINE}"


def build_store(db_file: Path, files: list[Path]) -> Path:
    from analysis.pipeline import ingest_path
    from store import db

    con = db.connect(db_file)
    try:
        for path in files:
            report = ingest_path(con, path)
            assert report.ok, report.error
    finally:
        db.close(db_file)
    return db_file


@pytest.fixture(scope="session")
def sample_db_template(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sample-store")
    return build_store(folder / "template.duckdb", [SAMPLES / f for f in SAMPLE_FILES])


@pytest.fixture
def sample_db(sample_db_template, tmp_path) -> Path:
    """A fresh copy of the sample store for one test."""
    return Path(shutil.copy(sample_db_template, tmp_path / "agenttime.duckdb"))


def sample_spans(task_id: str) -> list[list[dict]]:
    """Each trajectory of `task_id` in agents.spans.jsonl: its spans in start order."""
    rows = [json.loads(line) for line in (SAMPLES / SAMPLE_FILES[0]).open()]
    trace_ids = [r["trace_id"] for r in rows if r.get("task_id") == task_id]
    return [
        sorted((r for r in rows if r["trace_id"] == trace_id), key=lambda r: r["start_time"])
        for trace_id in dict.fromkeys(trace_ids)
    ]


def llm_spans(spans: list[dict]) -> list[dict]:
    return [s for s in spans if s["kind"] == "llm"]


def write_hostile_trace(path: Path) -> Path:
    """One agent run whose agent, span name, input, output and attributes are hostile."""
    base = {"trace_id": HOSTILE_TRACE, "agent_name": HOSTILE_NAME, "task_id": SCRIPT}
    spans = [
        {
            **base,
            "span_id": "root",
            "name": HOSTILE_NAME,
            "kind": "agent",
            "start_time": "2026-11-20T10:00:00Z",
            "end_time": "2026-11-20T10:00:05Z",
        },
        {
            **base,
            "span_id": HOSTILE_SPAN,
            "parent_id": "root",
            "name": HOSTILE_NAME,
            "kind": "llm",
            "model": f"gpt-4.1-mini {IMG}",
            "start_time": "2026-11-20T10:00:01Z",
            "end_time": "2026-11-20T10:00:02Z",
            "input_tokens": 100,
            "output_tokens": 10,
            "input": HOSTILE_INPUT,
            "output": f"{LINK} {SCRIPT}",
            "note": IMG,
        },
    ]
    path.write_text("".join(json.dumps(span) + "\n" for span in spans))
    return path


def write_unrecorded_trace(path: Path) -> Path:
    """Two runs of agent `partial`, no session recorded:

    - `no-cache-data`: two gpt-4.1-mini calls with tokens but no cache data, so their
      uncached context (and so the run's waste) is unknown; cost computed from the price
      table, (2,200 × $0.40 + 30 × $1.60) / 1M = $0.000928.
    - `no-tokens`: one call with neither model nor tokens: tokens, cost and waste unknown.
    """
    base = {"agent_name": "partial", "kind": "llm", "name": "chat"}
    spans = [
        {**base, "trace_id": "no-cache-data", "span_id": "c1", "model": "gpt-4.1-mini",
         "input_tokens": 1000, "output_tokens": 10,
         "start_time": "2026-11-20T10:00:00Z", "end_time": "2026-11-20T10:00:01Z"},
        {**base, "trace_id": "no-cache-data", "span_id": "c2", "model": "gpt-4.1-mini",
         "input_tokens": 1200, "output_tokens": 20,
         "start_time": "2026-11-20T10:00:02Z", "end_time": "2026-11-20T10:00:04Z"},
        {**base, "trace_id": "no-tokens", "span_id": "c1",
         "start_time": "2026-11-21T10:00:00Z", "end_time": "2026-11-21T10:00:03Z"},
    ]  # fmt: skip
    path.write_text("".join(json.dumps(span) + "\n" for span in spans))
    return path


@contextmanager
def page_test(
    db_file: Path, page: str, query: dict | None = None, state: dict | None = None
) -> AppTest:
    """The real app.py opened on `page` with URL query params and session state preset."""
    previous = os.environ.get("AGENTTIME_DB")
    os.environ["AGENTTIME_DB"] = str(db_file)
    try:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        for key, value in (query or {}).items():
            at.query_params[key] = value
        for key, value in (state or {}).items():
            at.session_state[key] = value
        at.switch_page(page).run()
        yield at
    finally:
        if previous is None:
            os.environ.pop("AGENTTIME_DB", None)
        else:
            os.environ["AGENTTIME_DB"] = previous
