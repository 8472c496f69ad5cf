"""Rollups are rebuilt, never added to: re-ingesting changes no figure, and a trajectory that
arrives in several batches ends up exactly as if it had arrived in one file."""

from __future__ import annotations

import json
import tempfile
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.pipeline import ingest_path
from analysis.rollup import affected, refresh_all
from analysis.stage import staged_spans
from analysis.task_key import FIRST_INPUTS_SQL, TASK_ID_KEYS_SQL
from analysis.turn_sql import REPLIES_SQL, TURN_SPANS_SQL
from store import db
from store.db import transaction
from tests.analysis_builders import Call, T, ingest_spans, trajectory, use_acme_prices

SNAPSHOT_SQL = {
    "trajectories": "SELECT * EXCLUDE (upload_id, upload_ids) FROM trajectories ORDER BY trace_id",
    "turns": "SELECT * FROM turns ORDER BY trace_id, turn",
    "findings": "SELECT * FROM findings ORDER BY trace_id, span_id, category",
    "verdicts": "SELECT * FROM verdicts ORDER BY trace_id",
    "routing_stops": "SELECT * FROM routing_stops ORDER BY trace_id, k",
    "task_tiers": "SELECT * FROM task_tiers ORDER BY task_key, tier",
    "trace_waste": "SELECT * FROM trace_waste ORDER BY trace_id, category",
}


def scenario() -> list[dict]:
    """Runs with waste, an escalation and siblings on two tiers, so every rollup has rows."""
    looping = [T(calls=[Call("search", {"q": "x"}, "none")]) for _ in range(4)] + [T(message="ok")]
    retry = [
        T(calls=[Call("fetch", {"id": 1}, "Error: 500", status="error")]),
        T(model="acme-max", calls=[Call("fetch", {"id": 1}, "data")]),
        T(model="acme-max", message="done"),
    ]
    return (
        trajectory("loop", looping, task_id="A", score=0)
        + trajectory("esc", retry, task_id="B", score=1)
        + trajectory("big", [T(model="acme-max", message="hi")], task_id="A", score=1)
        + trajectory("small", [T(message="hi", cache_read=None)], task_id="A", score=1)
    )


def snapshot(con) -> dict[str, list[tuple]]:
    with con.cursor() as cur:
        return {name: cur.execute(sql).fetchall() for name, sql in SNAPSHOT_SQL.items()}


def test_reingesting_the_same_spans_changes_no_figure(con, tmp_path):
    use_acme_prices(con)
    spans = scenario()
    ingest_spans(con, tmp_path, "all.jsonl", spans)
    before = snapshot(con)
    assert all(before.values())
    again = ingest_spans(con, tmp_path, "all.jsonl", spans)
    assert again.already_ingested
    reordered = ingest_spans(con, tmp_path, "reordered.jsonl", list(reversed(spans)))
    assert reordered.spans == 0
    assert snapshot(con) == before


def test_refresh_all_without_edits_changes_no_figure(con, tmp_path):
    use_acme_prices(con)
    ingest_spans(con, tmp_path, "all.jsonl", scenario())
    before = snapshot(con)
    with con.cursor() as cur, transaction(cur):
        refresh_all(cur)
    assert snapshot(con) == before


def ingest_in_batches(batches: list[list[dict]]) -> dict[str, list[tuple]]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "b.duckdb"
        con = db.connect(path)
        try:
            use_acme_prices(con)
            for number, batch in enumerate(batches):
                if batch:
                    ingest_spans(con, Path(folder), f"batch{number}.jsonl", batch)
            return snapshot(con)
        finally:
            db.close(path)


@cache
def one_file() -> dict[str, list[tuple]]:
    return ingest_in_batches([scenario()])


@settings(max_examples=12, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=len(scenario()), max_size=len(scenario())))
def test_spans_arriving_in_batches_give_the_same_rollups_as_one_file(assignment):
    spans = scenario()
    batches = [[s for s, b in zip(spans, assignment, strict=True) if b == n] for n in range(4)]
    assert ingest_in_batches(batches) == one_file()


def test_a_store_made_before_the_derived_tables_gets_them_filled_on_connect(con, tmp_path):
    """routing_stops, task_tiers and trace_waste are created from the stored rollups the
    first time the schema runs on a store without them: the same rows ingest keeps."""
    from store.schema import SCHEMA_SQL

    use_acme_prices(con)
    ingest_spans(con, tmp_path, "all.jsonl", scenario())
    before = snapshot(con)
    with con.cursor() as cur:
        cur.execute("DROP TABLE routing_stops; DROP TABLE task_tiers; DROP TABLE trace_waste")
        cur.execute(SCHEMA_SQL)
    assert snapshot(con) == before


def test_runs_whose_first_message_escapes_a_lone_surrogate_share_a_task_key(con, tmp_path):
    """A task is known by its first user message when no task id is recorded; a message cut
    mid-emoji ("\\ud83d" in its JSON) is hashed like any other text, case and spacing aside."""
    runs = []
    for trace_id, text in (("a", "Fix the bug \ud83d"), ("b", "fix  the BUG \ud83d")):
        spans = trajectory(trace_id, [T(message="done")])
        spans[0]["input"] = json.dumps([{"role": "user", "content": text}])  # escapes it
        runs += spans
    ingest_spans(con, tmp_path, "cut.jsonl", runs)
    with con.cursor() as cur:
        keys = cur.execute("SELECT task_key FROM trajectories ORDER BY trace_id").fetchall()
    assert keys[0] == keys[1] and keys[0][0].startswith("msg:") and len(keys[0][0]) == 20


def test_a_message_key_keeps_the_start_of_its_message_for_pages_to_show(con, tmp_path):
    long = "Refund order 1234\n\n  because " + "it arrived broken " * 10
    runs = []
    for trace_id, text, task_id in (
        ("long", long, None),
        ("cut", "Fix \ud83d", None),
        ("id", "x", "T9"),
    ):
        spans = trajectory(trace_id, [T(message="done")], task_id=task_id)
        spans[0]["input"] = json.dumps([{"role": "user", "content": text}])
        runs += spans
    ingest_spans(con, tmp_path, "texts.jsonl", runs)
    with con.cursor() as cur:
        got = dict(cur.execute("SELECT trace_id, task_text FROM trajectories").fetchall())
    flat = " ".join(long.split())
    assert got == {"long": flat[:119] + "…", "cut": "Fix ?", "id": None}


@pytest.mark.parametrize(
    "message",
    [
        {"content": "Search the web", "type": "human", "additional_kwargs": {}, "id": None},
        {"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", "HumanMessage"],
         "kwargs": {"content": "Search the web", "type": "human"}},
    ],
)  # fmt: skip
def test_the_task_of_a_langchain_run_is_its_human_message(con, tmp_path, message):
    """A LangGraph root's input is LangChain messages; without reading them the task fell
    back to the first LLM call's first user-role message (a system-style prompt there)."""
    spans = trajectory("lg", [T(message="done")])
    spans[0]["input"] = json.dumps({"messages": [message]})
    spans[1]["input"] = json.dumps([{"role": "user", "content": "Be helpful!"}])
    ingest_spans(con, tmp_path, "langchain.jsonl", spans)
    with con.cursor() as cur:
        assert cur.execute("SELECT task_text FROM trajectories").fetchone() == ("Search the web",)


def _scans_of_text(profile: dict) -> list[tuple[list[str], int]]:
    """(text columns read, rows emitted) of each scan of `spans` in a DuckDB JSON profile."""
    found, pending = [], list(profile["operator"])
    while pending:
        node = pending.pop()
        pending += node.get("children", [])
        projected = node.get("extra_info", {}).get("Projections", [])
        projected = [projected] if isinstance(projected, str) else projected  # one column
        text = sorted({"input", "output", "attributes"} & set(projected))
        if node.get("type") == "TABLE_SCAN" and text:
            found.append((text, node["intermediate_rows"]))
    return found


def test_a_refresh_reads_the_text_of_the_affected_spans_alone(con, tmp_path):
    """The refresh of a live OTLP batch must not cost a read of every stored span's text:
    the staged rows and the first inputs are fetched by rowid, so each scan that reads
    input, output or attributes emits the affected traces' spans and no others."""
    stored = [span for t in range(300) for span in trajectory(f"t{t:03}", [T(message="ok")])]
    ingest_spans(con, tmp_path, "stored.jsonl", stored)
    touched = [f"t{t:03}" for t in range(0, 300, 3)]  # 100 runs: an agent span, an LLM call
    profile = tmp_path / "refresh-profile.json"
    with con.cursor() as cur:
        cur.execute("BEGIN TRANSACTION")  # rolled back: the test only reads the plans
        cur.execute("SET enable_profiling = 'json'")
        cur.execute(f"SET profiling_output = '{profile}'")
        profiles = []
        with affected(cur, touched), staged_spans(cur):
            profiles.append(json.loads(profile.read_text()))  # the stage
            cur.execute(TASK_ID_KEYS_SQL)
            cur.execute(FIRST_INPUTS_SQL).fetchall()
            profiles.append(json.loads(profile.read_text()))  # the task keys' first inputs
            cur.execute(TURN_SPANS_SQL)
            cur.execute(REPLIES_SQL).fetchall()
            profiles.append(json.loads(profile.read_text()))  # the replies the stuck rules read
            cur.execute("DROP TABLE turn_spans")
        cur.execute("RESET enable_profiling")
        cur.execute("ROLLBACK")
    scans = [scan for p in profiles for scan in _scans_of_text(p)]
    # the stage reads the text of the 200 touched spans; then 100 first inputs, 100 replies
    assert scans == [(["attributes", "input", "output"], 200), (["input"], 100), (["output"], 100)]


SPAN_ROWS_SQL = """
SELECT * EXCLUDE (upload_id, seq, attributes), attributes::VARCHAR AS attributes
FROM spans ORDER BY span_id
"""


def one_export_per_span(shared_traces, folder: Path, order: list[str]) -> list[Path]:
    """The OTel SDK's weather agent (shared/traces), each span in an export of its own, sent
    in `order` (span names): as an OTLP exporter with a short batch delay sends a run."""
    (line,) = (shared_traces / "otlp" / "sdk_agent_otlp.jsonl").read_text().splitlines()
    request = json.loads(line)
    (resource,) = request["resourceSpans"]
    (scope,) = resource["scopeSpans"]
    by_name = {f"{span['name']} {span['spanId']}": span for span in scope["spans"]}
    paths = []
    for index, key in enumerate(order):
        (span,) = [s for name, s in by_name.items() if name.startswith(key)]
        one = {"resourceSpans": [resource | {"scopeSpans": [scope | {"spans": [span]}]}]}
        paths.append(folder / f"export-{index}.json")
        paths[-1].write_text(json.dumps(one))
    return paths


def test_a_trace_sent_in_one_export_per_span_is_filled_as_the_whole_file(shared_traces, tmp_path):
    """The conversation id (on the agent span) reaches every span, and the tool span takes its
    arguments from the first chat's tool call, whichever export brought which span first."""
    whole = tmp_path / "whole.duckdb"
    ingest_path(db.connect(whole), shared_traces / "otlp" / "sdk_agent_otlp.jsonl")
    expected = db.connect(whole).execute(SPAN_ROWS_SQL).fetchall()
    (args,) = (
        db.connect(whole)
        .execute("SELECT tool_args FROM spans WHERE span_id = 'df657bfa14aefb30'")
        .fetchone()
    )
    db.close(whole)
    assert json.loads(args) == {"location": "Paris"}  # filled from the first chat's tool call
    orders = (
        ["execute_tool", "chat gpt-4o cb59", "invoke_agent", "chat gpt-4o 0fa7"],
        ["invoke_agent", "chat gpt-4o 0fa7", "execute_tool", "chat gpt-4o cb59"],
    )
    for number, order in enumerate(orders):
        store = tmp_path / f"split-{number}.duckdb"
        for path in one_export_per_span(shared_traces, tmp_path, order):
            assert ingest_path(db.connect(store), path).ok
        assert db.connect(store).execute(SPAN_ROWS_SQL).fetchall() == expected, order
        sessions = db.connect(store).execute("SELECT DISTINCT session_id FROM spans").fetchall()
        assert len(sessions) == 1 and sessions[0][0] is not None
        db.close(store)
