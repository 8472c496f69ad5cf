"""LangSmith ingest: the real post/patch payloads, run dumps, run trees and bulk-export Parquet.

Expected values come from reading the files: the two real payloads in ../shared/traces/langsmith
and the run tree written below, whose chain runs carry LangSmith's rolled-up totals.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.pipeline import ingest_path
from ingest.registry import detect
from ingest.source import Source

BASE = datetime(2025, 3, 1, 10, 0, 0, tzinfo=UTC)
REASONING = "langsmith_runs_post_patch__wrap_openai_reasoning.json"
STREAM = "langsmith_runs_post_patch__wrap_openai_stream.json"


def uid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def make_run(n, run_type, name, start, end, parent=None, **fields) -> dict:
    """A run as list_runs dumps it; dotted_order built the way LangSmith builds it."""
    run_id = uid(n)
    segment = (BASE + timedelta(seconds=start)).strftime("%Y%m%dT%H%M%S%fZ") + run_id
    return {
        "id": run_id,
        "name": name,
        "run_type": run_type,
        "start_time": (BASE + timedelta(seconds=start)).isoformat(),
        "end_time": (BASE + timedelta(seconds=end)).isoformat(),
        "parent_run_id": parent["id"] if parent else None,
        "trace_id": parent["trace_id"] if parent else run_id,
        "dotted_order": f"{parent['dotted_order']}.{segment}" if parent else segment,
        "status": "success",
        "extra": {"metadata": {}},
        "inputs": {},
        "outputs": {},
        **fields,
    }


def llm_meta(model: str, provider: str) -> dict:
    return {"metadata": {"ls_model_name": model, "ls_provider": provider}}


def tree_runs() -> list[dict]:
    """Root chain -> planner chain -> LLM, tool, LLM. Chains carry the summed totals."""
    root = make_run(
        1,
        "chain",
        "agent_graph",
        0,
        10,
        prompt_tokens=1700,
        completion_tokens=230,
        total_tokens=1930,
        total_cost=0.0123,
        prompt_token_details={"cache_read": 600},
        reference_example_id="ex-42",
        extra={"metadata": {"thread_id": "thread-9"}},
        feedback_stats={
            "correctness": {"n": 2, "avg": 0.5},
            "score": {"n": 1, "avg": 1.0},
            "helpfulness": {"n": 1, "avg": 0.0},
        },
        inputs={"messages": [{"role": "user", "content": "Plan my day"}]},
    )
    planner = make_run(
        2,
        "chain",
        "planner",
        0.1,
        3.0,
        root,
        prompt_tokens=500,
        completion_tokens=50,
        total_cost=0.002,
    )
    llm1 = make_run(
        3,
        "llm",
        "ChatOpenAI",
        0.2,
        2.9,
        planner,
        prompt_tokens=500,
        completion_tokens=50,
        prompt_token_details={"cache_read": 200},
        completion_token_details={"reasoning": 10},
        total_cost=0.002,
        extra=llm_meta("acme-small", "openai"),
    )
    tool = make_run(
        4,
        "tool",
        "search",
        3.1,
        4.0,
        root,
        inputs={"query": "weather"},
        outputs={"output": "sunny"},
    )
    llm2 = make_run(
        5,
        "llm",
        "ChatAnthropic",
        4.1,
        9.9,
        root,
        total_cost=0.0103,
        extra=llm_meta("acme-large", "anthropic"),
        outputs={
            "usage_metadata": {
                "input_tokens": 1200,
                "output_tokens": 180,
                "total_tokens": 1380,
                "input_token_details": {"cache_read": 400, "cache_creation": 100},
            }
        },
    )
    return [root, planner, llm1, tool, llm2]


def write_jsonl(path, records):
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return path


def rows_as_dicts(con, sql: str, params: list) -> list[dict]:
    with con.cursor() as cur:
        cursor = cur.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def trajectory(con, trace_id: str) -> dict:
    (row,) = rows_as_dicts(con, "SELECT * FROM trajectories WHERE trace_id = ?", [trace_id])
    return row


def spans(con, trace_id: str) -> list[dict]:
    return rows_as_dicts(con, "SELECT * FROM spans WHERE trace_id = ? ORDER BY seq", [trace_id])


def counts(con) -> tuple:
    with con.cursor() as cur:
        return tuple(
            cur.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("spans", "uploads", "trajectories")
        )


def ingest_ok(con, path):
    report = ingest_path(con, path)
    assert report.ok, report.error
    assert report.format == "langsmith"
    return report


# -- the real payloads -------------------------------------------------------------------


def test_real_reasoning_payload(con, shared_traces):
    path = shared_traces / "langsmith" / REASONING
    assert detect(Source.open(path)).name == "langsmith"  # not messages_jsonl, despite "role"
    ingest_ok(con, path)
    (span,) = spans(con, "a8b34ded-ccd2-4fb7-bccb-9cd625066a14")
    assert span["span_id"] == "a8b34ded-ccd2-4fb7-bccb-9cd625066a14"
    assert span["parent_id"] is None
    assert (span["kind"], span["name"], span["status"]) == ("llm", "ChatOpenAI", "ok")
    assert (span["model"], span["request_model"], span["provider"]) == (
        "o1-mini-2024-09-12",
        "o1-mini",
        "openai",
    )
    assert (span["input_tokens"], span["output_tokens"], span["reasoning_tokens"]) == (
        43,
        2497,
        1408,
    )
    assert (span["cache_read_tokens"], span["cache_write_tokens"], span["cost_usd"]) == (
        0,
        None,
        None,
    )
    assert span["start_time"] == datetime(2024, 10, 11, 20, 58, 24, 544431, tzinfo=UTC)
    assert span["end_time"] == datetime(2024, 10, 11, 20, 58, 39, 682524, tzinfo=UTC)
    assert span["duration_ms"] == pytest.approx(15138.093)
    assert json.loads(span["input"])["messages"][0]["content"].startswith("Write a bash script")
    assert json.loads(span["output"])["id"] == "chatcmpl-AHH0LWUyAupsCrDZu564ZHwRbNQeZ"
    row = trajectory(con, span["trace_id"])
    assert (row["llm_calls"], row["tool_calls"], row["input_tokens"], row["output_tokens"]) == (
        1,
        0,
        43,
        2497,
    )
    # o1-mini%: $1.10 in, $4.40 out per Mtok; no cache reads.
    assert row["cost_usd"] == pytest.approx((43 * 1.10 + 2497 * 4.40) / 1e6)


def test_real_stream_payload_keeps_events(con, shared_traces):
    ingest_ok(con, shared_traces / "langsmith" / STREAM)
    (span,) = spans(con, "fe8ffecb-72ce-4cd2-bdb7-01f34654c391")
    assert (span["model"], span["request_model"]) == ("gpt-4o-mini-2024-07-18", "gpt-4o-mini")
    assert (span["input_tokens"], span["output_tokens"]) == (9, 9)
    assert (span["reasoning_tokens"], span["cache_read_tokens"]) == (0, 0)
    assert span["start_time"] == datetime(2024, 10, 11, 20, 58, 20, 695375, tzinfo=UTC)
    assert span["end_time"] == datetime(2024, 10, 11, 20, 58, 22, 23816, tzinfo=UTC)
    attributes = json.loads(span["attributes"])
    assert [e["name"] for e in attributes["events"]] == ["new_token"] * 12
    assert attributes["extra"]["metadata"]["ls_model_type"] == "chat"


# -- the run tree: no double counting --------------------------------------------------------


def assert_tree(con):
    trace_id = uid(1)
    rows = spans(con, trace_id)
    assert [r["name"] for r in rows] == [
        "agent_graph",
        "planner",
        "ChatOpenAI",
        "search",
        "ChatAnthropic",
    ]
    assert [r["seq"] for r in rows] == [0, 1, 2, 3, 4]
    assert [r["parent_id"] for r in rows] == [None, uid(1), uid(2), uid(1), uid(1)]
    assert [r["kind"] for r in rows] == ["chain", "chain", "llm", "tool", "llm"]
    root, planner, llm1, tool, llm2 = rows
    for chain in (root, planner):
        assert chain["input_tokens"] is None and chain["cost_usd"] is None
    assert json.loads(root["attributes"])["prompt_tokens"] == 1700
    assert (llm1["input_tokens"], llm1["output_tokens"], llm1["reasoning_tokens"]) == (500, 50, 10)
    assert (llm1["cache_read_tokens"], llm1["model"], llm1["provider"]) == (
        200,
        "acme-small",
        "openai",
    )
    assert (llm2["input_tokens"], llm2["output_tokens"]) == (1200, 180)
    assert (llm2["cache_read_tokens"], llm2["cache_write_tokens"]) == (400, 100)
    assert (tool["tool_name"], tool["tool_args"]) == ("search", '{"query":"weather"}')
    assert llm1["start_time"] == BASE + timedelta(seconds=0.2)
    assert (root["session_id"], root["task_id"], root["score"]) == ("thread-9", "ex-42", 0.75)
    with con.cursor() as cur:
        summed = cur.execute(
            "SELECT sum(input_tokens), sum(output_tokens), sum(cost_usd) FROM spans WHERE trace_id = ?",
            [trace_id],
        ).fetchone()
    assert summed[:2] == (1700, 230) and summed[2] == pytest.approx(0.0123)
    row = trajectory(con, trace_id)
    expected = {
        "llm_calls": 2,
        "turns": 2,
        "tool_calls": 1,
        "input_tokens": 1700,
        "output_tokens": 230,
        "reasoning_tokens": 10,
        "cache_read_tokens": 600,
        "cache_write_tokens": 100,
        "session_id": "thread-9",
        "task_id": "ex-42",
        "score": 0.75,
        "outcome": "success",
        "models": ["acme-small", "acme-large"],
        "wall_ms": 10000.0,
        "model_ms": 8500.0,
        "tool_ms": 900.0,
        "idle_ms": 600.0,
    }
    assert {key: row[key] for key in expected} == expected
    assert row["cost_usd"] == pytest.approx(0.0123)  # reported: acme-* have no listed price


def test_run_tree_counts_each_token_once(con, tmp_path):
    runs = tree_runs()
    for key in ("parent_run_id", "trace_id"):  # rebuilt from dotted_order alone
        runs[2].pop(key)
    runs[4]["start_time"] = runs[4]["start_time"].replace("+00:00", "")  # no zone means UTC
    shuffled = [runs[4], runs[3], runs[0], runs[2], runs[1]]
    ingest_ok(con, write_jsonl(tmp_path / "runs.jsonl", shuffled))
    assert_tree(con)


@pytest.mark.parametrize(
    ("late", "warning"),
    [
        ([3], "1 run ends before it starts; its end time was dropped (first at line 4)"),
        ([3, 4], "2 runs end before they start; their end times were dropped (first at line 4)"),
    ],
)
def test_a_run_that_ends_before_it_starts_keeps_its_start_and_is_reported(
    con, tmp_path, late, warning
):
    runs = tree_runs()
    for index in late:
        runs[index]["end_time"] = (BASE - timedelta(seconds=1)).isoformat()
    report = ingest_ok(con, write_jsonl(tmp_path / "runs.jsonl", runs))
    assert report.warnings == [warning]
    with con.cursor() as cur:
        ends = cur.execute(
            "SELECT count(*) FILTER (end_time IS NULL), count(start_time) FROM spans"
        ).fetchone()
    assert ends == (len(late), len(runs))


def test_nested_child_runs_tree(con, tmp_path):
    root, planner, llm1, tool, llm2 = tree_runs()
    for run in (planner, llm1, tool, llm2):  # children only know their place in the nesting
        for key in ("parent_run_id", "trace_id", "dotted_order"):
            del run[key]
    planner["child_runs"] = [llm1]
    root["child_runs"] = [llm2, tool, planner]  # not in time order: seq must come from times
    (tmp_path / "tree.json").write_text(json.dumps(root, indent=2))
    ingest_ok(con, tmp_path / "tree.json")
    assert_tree(con)


def test_payloads_merge_across_batches_and_report_orphan_patches(con, tmp_path):
    root, planner, llm1, tool, llm2 = tree_runs()
    posts = [{k: v for k, v in r.items() if k not in ("end_time", "outputs")} for r in tree_runs()]
    patches = [
        {"id": r["id"], "end_time": r["end_time"], "outputs": r["outputs"]}
        for r in (root, planner, llm1, tool, llm2)
    ]
    orphan = {"id": uid(99), "end_time": root["end_time"]}
    path = write_jsonl(
        tmp_path / "batches.jsonl",
        [
            {"post": posts[:3]},
            {"post": posts[3:], "patch": patches[:2]},
            {"patch": [*patches[2:], orphan]},
        ],
    )
    report = ingest_ok(con, path)
    assert [(s.position, s.reason) for s in report.skipped] == [
        (
            "line 3, patch[3]",
            f"patch for run {uid(99)} has no matching post in this file "
            "(it only updates a run created elsewhere)",
        )
    ]
    assert_tree(con)


# -- detection and bad input -----------------------------------------------------------------


def bad_files(tmp_path) -> dict:
    run = tree_runs()[0]
    no_id = {k: v for k, v in tree_runs()[3].items() if k != "id"}
    escape = tmp_path / "escape.zip"
    with zipfile.ZipFile(escape, "w") as zf:
        zf.writestr("../evil.parquet", b"PAR1")
    pq.write_table(
        pa.table({"id": ["a"], "name": ["x"], "start_time": ["2025-01-01"]}),
        tmp_path / "thin.parquet",
    )
    return {
        write_jsonl(tmp_path / "neither.jsonl", [run, {"foo": 1}]): (
            "neither.jsonl, line 2: expected a LangSmith run (an object with 'id' and 'run_type') "
            'or an ingest payload ({"post": [...], "patch": [...]})'
        ),
        write_jsonl(tmp_path / "post.json", [{"post": "runs"}]): (
            "post.json, line 1, post: expected a list of runs under 'post'"
        ),
        write_jsonl(tmp_path / "no_id.jsonl", [run, no_id]): (
            "no_id.jsonl, line 2: run has no 'id'; expected every LangSmith run to carry its UUID in 'id'"
        ),
        write_jsonl(tmp_path / "when.jsonl", [{**run, "start_time": "yesterday"}]): (
            "when.jsonl, line 1: time 'yesterday' is not ISO 8601 (2026-11-28T09:00:00Z) or "
            "epoch seconds, ms, µs or ns; expected ISO-8601 text for start_time/end_time"
        ),
        tmp_path / "thin.parquet": (
            "thin.parquet, schema: missing required column(s) run_type, trace_id or dotted_order; "
            "expected a LangSmith bulk-export runs table with columns id, run_type, start_time "
            "and trace_id or dotted_order"
        ),
        escape: (
            "escape.zip, zip member '../evil.parquet': member path leaves the archive's folder; "
            "expected relative paths inside the zip"
        ),
    }


def test_bad_input_is_refused_and_leaves_the_store_unchanged(con, tmp_path):
    ingest_ok(con, write_jsonl(tmp_path / "good.jsonl", tree_runs()))
    before = counts(con)
    assert before == (5, 1, 1)
    for path, message in bad_files(tmp_path).items():
        report = ingest_path(con, path)
        assert not report.ok
        assert report.error == message
        assert counts(con) == before
    assert not (Path(tempfile.gettempdir()) / "evil.parquet").exists()
