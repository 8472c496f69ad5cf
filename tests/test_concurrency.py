"""Concurrency: uploads and OTLP exports from separate clients at once all land exactly once,
and readers keep being answered — with whole files only — while the ingests run.

One real server; every client is its own thread with its own HTTP connection, released
together by a barrier. Expected counts come from reading the files (see the comments).
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from itertools import combinations
from pathlib import Path

import duckdb
import pytest

from tests.conftest import SHARED_TRACES
from tests.live_server import running_server

GENERATED_TRACES, SPANS_PER_TRACE = 400, 50


def tau_bench_spans(path: Path) -> int:
    """One root span per trajectory, one per assistant message, one per tool call."""
    spans = 0
    for record in json.loads(path.read_text()):
        assistant = [m for m in record["traj"] if m["role"] == "assistant"]
        spans += 1 + len(assistant) + sum(len(m.get("tool_calls") or []) for m in assistant)
    return spans


def otlp_spans(path: Path) -> set[tuple[str, str]]:
    """(trace id, span id) of every span in an OTLP/JSON document or JSON Lines file."""
    text, spans = path.read_text(), set()
    try:
        documents = [json.loads(text)]
    except ValueError:
        documents = [json.loads(line) for line in text.splitlines() if line.strip()]
    for document in documents:
        for resource in document["resourceSpans"]:
            for scope in resource["scopeSpans"]:
                spans |= {(s["traceId"].lower(), s["spanId"].lower()) for s in scope["spans"]}
    return spans


def langsmith_runs(path: Path) -> set[str]:
    return {run["id"] for run in json.loads(path.read_text())["post"]}


def write_generated(path: Path) -> Path:
    base = 1_767_225_600_000_000_000
    with path.open("w") as out:
        for t in range(GENERATED_TRACES):
            for s in range(SPANS_PER_TRACE):
                start = base + t * 10**9 + s * 10**7
                out.write(
                    json.dumps(
                        {
                            "trace_id": f"gen-{t:04d}",
                            "span_id": f"s{s:02d}",
                            "name": "chat",
                            "kind": "llm",
                            "start_time": start,
                            "end_time": start + 10**6,
                        }
                    )  # fmt: skip
                    + "\n"
                )
    return path


def request(url: str, body: bytes | None = None, content_type: str | None = None):
    headers = {"Content-Type": content_type} if content_type else {}
    req = urllib.request.Request(url, data=body, method="POST" if body else "GET", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=600) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class Activity:
    """How many writers are in flight, and what readers saw meanwhile."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.writers = 0
        self.done = threading.Event()
        self.served_during_ingest = 0
        self.reader_failures: list[str] = []
        self.seen_span_counts: set[int] = set()

    def writing(self, delta: int) -> None:
        with self.lock:
            self.writers += delta


def writer(activity: Activity, barrier: threading.Barrier, results: dict, key: str, call):
    barrier.wait()
    activity.writing(+1)
    try:
        results[key] = call()
    finally:
        activity.writing(-1)


def reader(activity: Activity, base: str) -> None:
    while not activity.done.is_set():
        busy_before = activity.writers
        status, body = request(f"{base}/healthz")
        page_status, _ = request(f"{base}/")
        if status != 200 or page_status != 200:
            activity.reader_failures.append(f"healthz {status}, page {page_status}")
            continue
        activity.seen_span_counts.add(json.loads(body)["spans"])
        if busy_before and activity.writers:
            activity.served_during_ingest += 1


def subset_sums(parts: list[int]) -> set[int]:
    return {sum(c) for n in range(len(parts) + 1) for c in combinations(parts, n)}


def test_uploads_and_otlp_posts_at_once_land_exactly_once(tmp_path):
    if not SHARED_TRACES.is_dir():
        pytest.skip(f"real trace files not present at {SHARED_TRACES}")
    tau = SHARED_TRACES / "other" / "tau-bench_gpt-4o-airline.json"
    reasoning = (
        SHARED_TRACES / "langsmith" / "langsmith_runs_post_patch__wrap_openai_reasoning.json"
    )
    stream = SHARED_TRACES / "langsmith" / "langsmith_runs_post_patch__wrap_openai_stream.json"
    generated = write_generated(tmp_path / "generated.jsonl")
    agent_json = SHARED_TRACES / "otlp" / "sdk_agent_otlp.jsonl"
    agent_proto = SHARED_TRACES / "otlp" / "sdk_agent.binpb"  # the same 4 spans, as protobuf
    example = SHARED_TRACES / "otlp" / "otlp_proto_examples_trace.json"

    contributions = {
        "tau": tau_bench_spans(tau),
        "reasoning": len(langsmith_runs(reasoning)),
        "stream": len(langsmith_runs(stream)),
        "generated": GENERATED_TRACES * SPANS_PER_TRACE,
        "agent": len(otlp_spans(agent_json)),
        "example": len(otlp_spans(example)),
    }
    assert contributions == {
        "tau": 3818, "reasoning": 1, "stream": 1, "generated": 20_000, "agent": 4, "example": 1,
    }  # fmt: skip

    def upload(path: Path):
        query = urllib.parse.urlencode({"filename": path.name})
        return lambda base: request(f"{base}/api/ingest?{query}", path.read_bytes())

    def export(path: Path, content_type: str):
        return lambda base: request(f"{base}/v1/traces", path.read_bytes(), content_type)

    calls = {
        "tau": upload(tau),
        "tau-again": upload(tau),  # the same file from a second client at the same moment
        "reasoning": upload(reasoning),
        "stream": upload(stream),
        "generated": upload(generated),
        "agent-json": export(agent_json, "application/json"),
        "agent-proto": export(agent_proto, "application/x-protobuf"),
        "example": export(example, "application/json"),
    }
    db_file = tmp_path / "concurrent.duckdb"
    activity, results = Activity(), {}
    with running_server(db_file) as base:
        readers = [threading.Thread(target=reader, args=(activity, base)) for _ in range(2)]
        barrier = threading.Barrier(len(calls))
        writers = [
            threading.Thread(
                target=writer, args=(activity, barrier, results, key, lambda c=call: c(base))
            )
            for key, call in calls.items()
        ]
        for thread in readers + writers:
            thread.start()
        for thread in writers:
            thread.join()
        activity.done.set()
        for thread in readers:
            thread.join()

    assert {key: status for key, (status, _) in results.items()} == dict.fromkeys(calls, 200)
    reports = {key: json.loads(results[key][1]) for key in ("tau", "tau-again")}
    tau_reports = sorted([reports["tau"]["spans"], reports["tau-again"]["spans"]])
    assert tau_reports == [0, 3818]
    assert [reports["tau"]["already_ingested"], reports["tau-again"]["already_ingested"]].count(
        True
    ) == 1

    total = sum(contributions.values())
    with duckdb.connect(str(db_file), read_only=True) as con:
        spans, distinct, traces, uploads, upload_spans = con.execute(
            """SELECT count(*), count(DISTINCT (trace_id, span_id)),
                      (SELECT count(*) FROM trajectories), (SELECT count(*) FROM uploads),
                      (SELECT sum(span_count) FROM uploads) FROM spans"""
        ).fetchone()
    assert spans == distinct == upload_spans == total == 23_825
    assert traces == 200 + 1 + 1 + GENERATED_TRACES + 1 + 1
    assert uploads == 7  # four files + three OTLP exports; the second tau-bench post added none

    assert not activity.reader_failures
    assert activity.served_during_ingest >= 1
    possible = subset_sums(list(contributions.values()))
    assert activity.seen_span_counts <= possible, "a reader saw part of a file"
