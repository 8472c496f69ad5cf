"""LangSmith ingest: the real post/patch payloads, run dumps, run trees and bulk-export Parquet.

Expected values come from reading the files: the two real payloads in ../shared/traces/langsmith
and the run tree written below, whose chain runs carry LangSmith's rolled-up totals.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.pipeline import ingest_path
from ingest import langsmith
from ingest.errors import DecodeError, LimitExceeded
from ingest.registry import decode_file, detect
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


# -- the same agent from LangSmith and from span JSONL --------------------------------------


def agent_runs() -> list[dict]:
    root = make_run(11, "chain", "AgentExecutor", 0, 6)
    meta = llm_meta("gpt-4o-mini", "openai")
    llm1 = make_run(
        12, "llm", "ChatOpenAI", 0.1, 1.5, root, prompt_tokens=300, completion_tokens=40, extra=meta
    )
    tool = make_run(13, "tool", "get_weather", 1.6, 2.0, root, inputs={"input": '{"city": "Oslo"}'})
    llm2 = make_run(
        14,
        "llm",
        "ChatOpenAI",
        2.1,
        5.9,
        root,
        prompt_tokens=380,
        completion_tokens=60,
        prompt_token_details={"cache_read": 256},
        extra=meta,
    )
    return [root, llm1, tool, llm2]


def agent_spans() -> list[dict]:
    def span(span_id, kind, name, start, end, parent="root", **fields):
        return {
            "trace_id": "otel-agent",
            "span_id": span_id,
            "parent_id": parent,
            "kind": kind,
            "name": name,
            "start_time": (BASE + timedelta(seconds=start)).isoformat(),
            "end_time": (BASE + timedelta(seconds=end)).isoformat(),
            **fields,
        }

    return [
        span("root", "agent", "AgentExecutor", 0, 6, parent=None),
        span(
            "l1",
            "llm",
            "chat gpt-4o-mini",
            0.1,
            1.5,
            model="gpt-4o-mini",
            input_tokens=300,
            output_tokens=40,
        ),
        span("t1", "tool", "execute_tool get_weather", 1.6, 2.0, tool_name="get_weather"),
        span(
            "l2",
            "llm",
            "chat gpt-4o-mini",
            2.1,
            5.9,
            model="gpt-4o-mini",
            input_tokens=380,
            output_tokens=60,
            cache_read_tokens=256,
        ),
    ]


def test_langsmith_agent_matches_the_same_agent_as_spans(con, tmp_path):
    newest_first = list(reversed(agent_runs()))  # list_runs returns newest first
    (tmp_path / "runs.json").write_text(json.dumps(newest_first, indent=2))
    ingest_ok(con, tmp_path / "runs.json")
    assert (
        ingest_path(con, write_jsonl(tmp_path / "spans.jsonl", agent_spans())).format
        == "span_jsonl"
    )
    rows = spans(con, uid(11))
    assert [(r["name"], r["parent_id"]) for r in rows] == [
        ("AgentExecutor", None),
        ("ChatOpenAI", uid(11)),
        ("get_weather", uid(11)),
        ("ChatOpenAI", uid(11)),
    ]
    assert rows[2]["tool_args"] == '{"city":"Oslo"}'
    keys = (
        "llm_calls",
        "turns",
        "tool_calls",
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "models",
        "model_ms",
        "tool_ms",
        "idle_ms",
        "wall_ms",
        "cost_usd",
    )
    from_langsmith = {k: trajectory(con, uid(11))[k] for k in keys}
    from_spans = {k: trajectory(con, "otel-agent")[k] for k in keys}
    assert from_langsmith == from_spans
    assert from_langsmith["llm_calls"] == 2 and from_langsmith["tool_calls"] == 1
    assert (from_langsmith["input_tokens"], from_langsmith["output_tokens"]) == (680, 100)
    assert (from_langsmith["model_ms"], from_langsmith["tool_ms"]) == (5200.0, 400.0)


# -- bulk-export Parquet ------------------------------------------------------------------


def export_table(runs: list[dict], tz: str | None = "UTC") -> pa.Table:
    """Runs in the bulk-export layout: JSON columns as text, times as timestamps, Decimal costs."""
    json_columns = (
        "inputs",
        "outputs",
        "extra",
        "feedback_stats",
        "prompt_token_details",
        "completion_token_details",
    )
    columns = {
        "id": [r["id"] for r in runs],
        "session_id": ["project-1"] * len(runs),
        "trace_id": [r.get("trace_id") for r in runs],
        "parent_run_id": [r.get("parent_run_id") for r in runs],
        "dotted_order": [r["dotted_order"] for r in runs],
        "name": [r["name"] for r in runs],
        "run_type": [r["run_type"] for r in runs],
        "status": [r["status"] for r in runs],
        "reference_example_id": [r.get("reference_example_id") for r in runs],
        "prompt_tokens": pa.array([r.get("prompt_tokens") for r in runs], pa.int64()),
        "completion_tokens": pa.array([r.get("completion_tokens") for r in runs], pa.int64()),
        "total_cost": pa.array(
            [None if r.get("total_cost") is None else Decimal(str(r["total_cost"])) for r in runs],
            pa.decimal128(20, 10),
        ),
    }
    for key in ("start_time", "end_time"):
        times = [datetime.fromisoformat(r[key]).astimezone(UTC) for r in runs]
        columns[key] = pa.array(
            [t.replace(tzinfo=None) if tz is None else t for t in times], pa.timestamp("us", tz=tz)
        )
    for key in json_columns:
        columns[key] = [json.dumps(r[key]) if key in r else None for r in runs]
    return pa.table(columns)


def write_hive_export(tmp_path):
    runs = tree_runs()
    folder = tmp_path / "export" / "runs"
    first_day, second_day = (
        folder / "year=2025/month=03/day=01",
        folder / "year=2025/month=03/day=02",
    )
    first_day.mkdir(parents=True)
    second_day.mkdir(parents=True)
    pq.write_table(export_table(runs[:3]), first_day / "part-0.parquet")
    pq.write_table(export_table(runs[3:], tz=None), second_day / "part-0.parquet")  # naive = UTC
    (folder / "_SUCCESS").write_text("")
    return folder


def test_parquet_single_file(con, tmp_path):
    pq.write_table(export_table(tree_runs()), tmp_path / "runs.parquet", compression="zstd")
    ingest_ok(con, tmp_path / "runs.parquet")
    assert_tree(con)


def test_parquet_hive_folder(con, tmp_path):
    folder = write_hive_export(tmp_path)
    report = ingest_ok(con, folder)
    assert report.warnings == ["ignored 1 files that are not Parquet: _SUCCESS"]
    assert_tree(con)
    assert ingest_path(con, folder).already_ingested  # the folder's content hash dedupes


def test_parquet_zip_of_hive_folder(con, tmp_path):
    folder = write_hive_export(tmp_path)
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for part in sorted(folder.rglob("*")):
            if part.is_file():
                zf.write(part, part.relative_to(folder.parent).as_posix())
    report = ingest_ok(con, archive)
    assert report.warnings == ["ignored 1 files that are not Parquet: runs/_SUCCESS"]
    assert_tree(con)
    with pytest.raises(LimitExceeded, match="zip holds .* bytes of Parquet; the limit is 100"):
        langsmith.decode(Source.open(archive, max_bytes=100))


# -- detection and bad input -----------------------------------------------------------------


def test_sniff_leaves_span_and_messages_jsonl_alone(tmp_path):
    spans_file = write_jsonl(tmp_path / "a.jsonl", agent_spans())
    messages = write_jsonl(
        tmp_path / "b.jsonl", [{"id": "t", "messages": [{"role": "user", "content": "x"}]}]
    )
    for path in (spans_file, messages):
        source = Source.open(path)
        assert not langsmith.sniff(source.head(), source)
    assert langsmith.is_payload({"post": []}) and not langsmith.is_payload({"post": [], "user": 1})


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
            "when.jsonl, line 1: Invalid isoformat string: 'yesterday'; "
            "expected ISO-8601 text for start_time/end_time"
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


def test_parquet_folder_names_the_file_missing_columns(tmp_path):
    folder = write_hive_export(tmp_path)
    pq.write_table(
        pa.table({"id": ["x"], "run_type": ["llm"], "start_time": ["2025-03-02"]}),
        folder / "year=2025/month=03/day=02/part-1.parquet",
    )
    with pytest.raises(
        DecodeError,
        match=r"year=2025/month=03/day=02/part-1.parquet, schema: "
        r"missing required column\(s\) trace_id or dotted_order",
    ):
        decode_file(folder)
