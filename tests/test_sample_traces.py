"""The bundled demo data: it is exactly the generator's output, and it shows what it promises.

The scenario tests ingest the committed files into a real DuckDB store and read the canonical
`spans` and `trajectories` rows, i.e. the demo as the app sees it. Expected counts were taken
by parsing the files line by line, independently of the adapters, and match the scripts in
sample_traces/generate.py and its _scenarios_*.py modules (see sample_traces/README.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from analysis.pipeline import ingest_path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_traces"
SPANS_FILE, OTLP_FILE, LANGSMITH_FILE = (
    "agents.spans.jsonl",
    "support-bot.otlp.jsonl",
    "research-agent.langsmith.jsonl",
)
DATA_FILES = (SPANS_FILE, OTLP_FILE, LANGSMITH_FILE)
GENERATOR_MODULES = {"generate.py", "_model.py", "_scripts.py", "_encoders.py"} | {
    f"_scenarios_{agent}.py" for agent in ("code", "data", "support", "research")
}
END = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
TIER_RANK = {"small": 1, "medium": 2, "large": 3}

TIER_OF_SQL = """
SELECT tier FROM models WHERE lower(?) LIKE lower(pattern) ORDER BY length(pattern) DESC LIMIT 1
"""
RUNS_SQL = """
SELECT t.trace_id, t.task_key, t.agent_name, t.primary_model, t.outcome, t.escalated, t.score,
       t.cost_usd, t.llm_calls, t.idle_ms,
       (SELECT m.tier FROM models m WHERE lower(t.primary_model) LIKE lower(m.pattern)
        ORDER BY length(m.pattern) DESC LIMIT 1) AS tier
FROM trajectories t ORDER BY t.start_time
"""
STEPS_SQL = """
SELECT kind, name, status, model, request_model, tool_name, tool_args, output, input,
       input_tokens, output_tokens, reasoning_tokens, cache_read_tokens, cache_write_tokens,
       epoch_us(start_time) AS start_us, epoch_us(end_time) AS end_us
FROM spans WHERE trace_id = ? AND parent_id IS NOT NULL ORDER BY start_time, span_id
"""


def query(cur, sql: str, *params) -> list[dict]:
    result = cur.execute(sql, list(params))
    names = [column[0] for column in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


@pytest.fixture
def demo(con):
    report = ingest_path(con, SAMPLES / SPANS_FILE)
    assert report.ok, report.error
    with con.cursor() as cur:
        yield cur


def runs_of(cur, task_id: str) -> list[dict]:
    return [run for run in query(cur, RUNS_SQL) if run["task_key"] == f"task:{task_id}"]


def steps_of(cur, task_id: str) -> list[dict]:
    (run,) = runs_of(cur, task_id)
    return query(cur, STEPS_SQL, run["trace_id"])


def tier(cur, model: str) -> str:
    return cur.execute(TIER_OF_SQL, [model]).fetchone()[0]


def tool_calls(steps: list[dict]) -> list[tuple]:
    return [(s["tool_name"], s["tool_args"], s["output"]) for s in steps if s["kind"] == "tool"]


def overlaps(a: dict, b: dict) -> bool:
    return a["start_us"] < b["end_us"] and b["start_us"] < a["end_us"]


# --- the files -----------------------------------------------------------------------------


def test_regenerating_gives_byte_identical_files(tmp_path):
    generator = SAMPLES / "generate.py"
    # as `make samples` runs it, without PYTHONDONTWRITEBYTECODE: no __pycache__ may appear
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    command = [sys.executable, str(generator), "--out", str(tmp_path)]
    subprocess.run(command, check=True, cwd=ROOT, env=env)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(DATA_FILES)
    for name in DATA_FILES:
        assert (tmp_path / name).read_bytes() == (SAMPLES / name).read_bytes(), name
    assert not (SAMPLES / "__pycache__").exists()


def test_sample_folder_holds_only_loadable_files_and_stays_small():
    # `make run` hands every entry but *.py and *.md to the ingester, folders (__pycache__) too.
    entries = {p.name: p for p in SAMPLES.iterdir()}
    assert set(entries) == {*DATA_FILES, *GENERATOR_MODULES, "README.md"}
    assert all(path.is_file() for path in entries.values())
    assert sum(entries[name].stat().st_size for name in DATA_FILES) < 2_000_000


# --- span JSONL: counts and scenarios ------------------------------------------------------


def test_span_jsonl_ingests_with_the_designed_counts(con):
    report = ingest_path(con, SAMPLES / SPANS_FILE)
    assert (report.ok, report.format, report.skipped) == (True, "span_jsonl", [])
    assert (report.spans, report.trajectories) == (600, 54)
    with con.cursor() as cur:
        kinds = dict(cur.execute("SELECT kind, count(*) FROM spans GROUP BY kind").fetchall())
        agents = cur.execute("SELECT agent_name, count(*) FROM trajectories GROUP BY 1").fetchall()
    assert kinds == {"agent": 54, "llm": 296, "tool": 250}
    assert dict(agents) == {"code-fixer": 42, "data-analyst": 12}


def test_showcase_loops_on_one_tool_call_then_the_large_model_takes_over(demo):
    steps = steps_of(demo, "fix-flaky-test-142")
    calls = tool_calls(steps)
    loop_end = max(i for i, call in enumerate(calls) if calls.count(call) >= 4)
    repeated = calls[loop_end]
    assert calls.count(repeated) == 5 and calls[loop_end - 4 : loop_end + 1] == [repeated] * 5
    assert repeated[0] == "run_tests" and repeated[2].startswith("TestFailure: exit_code=1")
    last_repeat = [i for i, s in enumerate(steps) if s["kind"] == "tool"][loop_end]
    llms = [(i, s["model"]) for i, s in enumerate(steps) if s["kind"] == "llm"]
    before = {model for i, model in llms if i < last_repeat}
    next_model = next(model for i, model in llms if i > last_repeat)
    assert {tier(demo, m) for m in before} == {"small"}
    assert (next_model, tier(demo, next_model)) == ("gpt-4.1-2025-04-14", "large")
    (run,) = runs_of(demo, "fix-flaky-test-142")
    assert (run["escalated"], run["outcome"], run["score"]) == (True, "success", 1.0)


def test_routine_runs_succeed_on_the_small_tier_alone(demo):
    runs = query(demo, RUNS_SQL)
    per_task = Counter(run["task_key"] for run in runs)
    routine = [
        run
        for run in runs
        if run["agent_name"] == "code-fixer"
        and per_task[run["task_key"]] == 1
        and run["tier"] == "small"
        and not run["escalated"]
        and run["outcome"] == "success"
    ]
    assert len(routine) == 22
    assert {run["primary_model"] for run in routine} == {
        "gpt-4.1-mini-2025-04-14",
        "claude-haiku-4-5-20251001",
    }


def test_exactly_three_escalations_needed_premature_and_futile(demo):
    escalated = {run["task_key"] for run in query(demo, RUNS_SQL) if run["escalated"]}
    assert escalated == {
        "task:fix-flaky-test-142",
        "task:rename-config-flag-57",
        "task:migrate-orm-sessions-88",
    }


def test_premature_escalation_has_no_failure_or_repeat_before_it(demo):
    steps = steps_of(demo, "rename-config-flag-57")
    first_large = next(
        i for i, s in enumerate(steps) if s["kind"] == "llm" and tier(demo, s["model"]) == "large"
    )
    before = steps[:first_large]
    assert [s["status"] for s in before] == ["ok", "ok"]
    assert len(set(tool_calls(before))) == len(tool_calls(before)) == 1
    assert runs_of(demo, "rename-config-flag-57")[0]["outcome"] == "success"


def test_futile_escalation_still_fails_after_three_identical_errors(demo):
    steps = steps_of(demo, "migrate-orm-sessions-88")
    small = [s for s in steps if s["kind"] == "tool"][:5]
    errors = [(s["tool_name"], s["tool_args"]) for s in small if s["status"] == "error"]
    assert errors == [("run_tests", '{"target":"tests/repositories"}')] * 3
    llm_tiers = [tier(demo, s["model"]) for s in steps if s["kind"] == "llm"]
    assert llm_tiers == ["small"] * 5 + ["large"] * 6
    (run,) = runs_of(demo, "migrate-orm-sessions-88")
    assert (run["escalated"], run["outcome"]) == (True, "error")


@pytest.mark.parametrize(
    "task_id", ["fix-race-in-cache-211", "fix-timezone-parsing-73", "quarterly-churn-by-plan"]
)
def test_large_needed_tasks_fail_on_the_smaller_tier_and_pass_on_the_larger(demo, task_id):
    runs = runs_of(demo, task_id)
    top = max(TIER_RANK[run["tier"]] for run in runs)
    lower = [run["outcome"] for run in runs if TIER_RANK[run["tier"]] < top]
    upper = [run["outcome"] for run in runs if TIER_RANK[run["tier"]] == top]
    assert lower and set(lower) <= {"failure", "error"}
    assert upper == ["success"]


@pytest.mark.parametrize(
    "task_id",
    [
        "update-changelog-19",
        "add-type-hints-utils-44",
        "bump-requests-2-32-12",
        "weekly-signups-report",
        "refactor-auth-middleware-305",
    ],
)
def test_over_provisioned_tasks_are_solved_by_the_smaller_tier_too(demo, task_id):
    runs = runs_of(demo, task_id)
    ranks = {TIER_RANK[run["tier"]] for run in runs}
    assert len(ranks) == 2
    assert all(run["outcome"] == "success" for run in runs)


def test_eight_tasks_ran_two_to_four_times_across_tiers(demo):
    by_task: dict[str, list[str]] = {}
    for run in query(demo, RUNS_SQL):
        by_task.setdefault(run["task_key"], []).append(run["tier"])
    paired = {key for key, tiers in by_task.items() if len(set(tiers)) > 1}
    assert {len(by_task[key]) for key in paired} == {2, 3}
    assert len(paired) == 8


def test_price_reversal_the_cheaper_listed_model_costs_more_per_task(demo):
    runs = {run["primary_model"]: run for run in runs_of(demo, "refactor-auth-middleware-305")}
    haiku, sonnet = runs["claude-haiku-4-5-20251001"], runs["claude-sonnet-4-20250514"]
    listed = dict(
        demo.execute(
            "SELECT pattern, input_per_mtok + output_per_mtok FROM models WHERE pattern IN (?, ?)",
            ["claude-haiku-4-5%", "claude-sonnet-4%"],
        ).fetchall()
    )
    assert listed["claude-haiku-4-5%"] < listed["claude-sonnet-4%"]
    assert (haiku["llm_calls"], sonnet["llm_calls"]) == (26, 6)
    assert haiku["cost_usd"] > 2 * sonnet["cost_usd"]


def test_context_grows_with_cache_hits_in_the_long_run(demo):
    (haiku,) = [r for r in runs_of(demo, "refactor-auth-middleware-305") if r["llm_calls"] == 26]
    llms = [s for s in query(demo, STEPS_SQL, haiku["trace_id"]) if s["kind"] == "llm"]
    reads = [s["cache_read_tokens"] for s in llms]
    assert reads[0] == 0 and llms[0]["cache_write_tokens"] > 0
    assert all(a < b for a, b in zip(reads[1:], reads[2:], strict=False)) and reads[1] > 0
    assert all(s["cache_read_tokens"] + s["cache_write_tokens"] <= s["input_tokens"] for s in llms)


def test_uncached_run_reads_nothing_from_cache_on_a_growing_context(demo):
    llms = [s for s in steps_of(demo, "port-cli-to-typer-66") if s["kind"] == "llm"]
    inputs = [s["input_tokens"] for s in llms]
    assert len(llms) == 9 and [s["cache_read_tokens"] for s in llms] == [0] * 9
    assert all(a < b for a, b in zip(inputs, inputs[1:], strict=False))
    assert '"content":"Current time: 2026-11-23T11:48:' in llms[0]["input"]


def test_amnesia_the_same_read_repeats_with_other_calls_between(demo):
    calls = tool_calls(steps_of(demo, "fix-import-cycle-58"))
    reread = [
        i
        for i, call in enumerate(calls)
        if call[:2] == ("read_file", '{"path":"src/app/models.py"}')
    ]
    assert reread == [0, 3, 5]
    assert len({calls[i] for i in reread}) == 1


def test_parallel_tool_calls_overlap_in_time(demo):
    tools = [s for s in steps_of(demo, "triage-ci-failures-130") if s["kind"] == "tool"]
    logs = [s for s in tools if s["tool_name"] == "get_ci_log"]
    assert len(logs) == 3
    assert all(overlaps(a, b) for a in logs for b in logs if a is not b)
    checks = [s for s in tools if s["tool_name"] in ("run_tests", "run_linter")]
    assert len(checks) == 2 and overlaps(*checks)


def test_idle_wait_for_the_user_leaves_a_gap_with_no_span(demo):
    steps = steps_of(demo, "upgrade-django-5-204")
    reach, gaps = steps[0]["end_us"], []
    for step in steps[1:]:
        gaps.append(step["start_us"] - reach)
        reach = max(reach, step["end_us"])
    assert max(gaps) >= 452_000_000 and sorted(gaps)[-2] < 1_000_000
    (run,) = runs_of(demo, "upgrade-django-5-204")
    assert run["idle_ms"] >= 452_000


def test_failed_runs_and_scores(demo):
    failed = demo.execute(
        "SELECT task_id FROM spans WHERE parent_id IS NULL AND status = 'error' ORDER BY 1"
    ).fetchall()
    assert failed == [
        ("fix-docstring-typos-9",),
        ("fix-race-in-cache-211",),
        ("migrate-orm-sessions-88",),
    ]
    last = [s for s in steps_of(demo, "fix-docstring-typos-9") if s["kind"] == "llm"][-1]
    assert (last["status"], last["input_tokens"]) == ("error", None)
    scores = Counter(run["score"] for run in query(demo, RUNS_SQL) if run["score"] is not None)
    assert scores == {1.0: 11, 0.0: 4}


def test_reasoning_tokens_only_on_reasoning_models_and_only_some_turns(demo):
    rows = demo.execute(
        "SELECT request_model, count(*) FILTER (WHERE reasoning_tokens > 0), "
        "count(*) FILTER (WHERE reasoning_tokens = 0) FROM spans WHERE kind = 'llm' "
        "AND provider = 'openai' GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert rows == [("gpt-4.1", 0, 34), ("gpt-4.1-mini", 0, 85), ("o3", 5, 2), ("o4-mini", 29, 8)]


def test_tokens_and_timings_are_consistent_everywhere(demo):
    (broken,) = demo.execute(
        """SELECT count(*) FILTER (WHERE cache_read_tokens + coalesce(cache_write_tokens, 0) > input_tokens
                                   OR reasoning_tokens > output_tokens
                                   OR input_tokens < prev_input)
           FROM (SELECT *, lag(input_tokens) OVER (PARTITION BY trace_id ORDER BY start_time) AS prev_input
                 FROM spans WHERE kind = 'llm' AND input_tokens IS NOT NULL)"""
    ).fetchone()
    assert broken == 0
    durations = demo.execute(
        "SELECT kind, min(duration_ms), max(duration_ms) FROM spans WHERE kind <> 'agent' "
        "GROUP BY kind ORDER BY kind"
    ).fetchall()
    (llm, low_llm, high_llm), (tool, low_tool, high_tool) = durations
    assert (llm, tool) == ("llm", "tool")
    assert 500 <= low_llm <= high_llm <= 20_000
    assert 50 <= low_tool <= high_tool <= 10_000
    first, last = demo.execute("SELECT min(start_time), max(end_time) FROM spans").fetchone()
    assert END - timedelta(days=14) <= first and last <= END


# --- OTLP and LangSmith files --------------------------------------------------------------


def otlp_spans() -> list[dict]:
    lines = (SAMPLES / OTLP_FILE).read_text().splitlines()
    return [
        span
        for line in lines
        for resource in json.loads(line)["resourceSpans"]
        for scope in resource["scopeSpans"]
        for span in scope["spans"]
    ]


def test_otlp_file_uses_the_sdk_span_shape(shared_traces):
    sample = json.loads((shared_traces / "otlp" / "sdk_agent_otlp.jsonl").read_text())
    sample_spans = sample["resourceSpans"][0]["scopeSpans"][0]["spans"]
    allowed = {key for span in sample_spans for key in span}
    sample_chat = {a["key"] for a in sample_spans[0]["attributes"]}
    spans = otlp_spans()
    assert {key for span in spans for key in span} <= allowed
    for span in spans:
        assert len(span["traceId"]) == 32 and len(span["spanId"]) == 16
        assert span["traceId"] == span["traceId"].lower()
        assert int(span["startTimeUnixNano"]) <= int(span["endTimeUnixNano"])
        assert span["kind"] in (1, 3)
        for attribute in span["attributes"]:
            (kind,) = attribute["value"]
            assert kind in ("stringValue", "intValue", "doubleValue", "arrayValue")
            if kind == "intValue":
                assert isinstance(attribute["value"]["intValue"], str)
        if span["name"].startswith("chat ") and not span["status"]:
            assert sample_chat <= {a["key"] for a in span["attributes"]}


def test_otlp_file_ingests_with_the_designed_counts(con):
    report = ingest_path(con, SAMPLES / OTLP_FILE)
    assert (report.ok, report.format, report.skipped) == (True, "otlp_json", [])
    assert (report.spans, report.trajectories) == (122, 20)
    assert Counter(span["name"].split()[0] for span in otlp_spans()) == {
        "chat": 62,
        "execute_tool": 40,
        "invoke_agent": 20,
    }
    with con.cursor() as cur:
        runs = query(cur, RUNS_SQL)
        refund = cur.execute(
            "SELECT trace_id FROM spans WHERE tool_name = 'issue_refund' AND status = 'error' "
            "GROUP BY 1 HAVING count(*) = 3"
        ).fetchall()
    assert {run["agent_name"] for run in runs} == {"support-bot"}
    assert sum(run["escalated"] for run in runs) == 3
    assert sum(run["idle_ms"] > 30_000 for run in runs) == 5
    assert sum(run["score"] is not None for run in runs) == 10
    assert len(refund) == 1
    replays = Counter(run["task_key"] for run in runs)
    assert sorted(replays.values())[-2:] == [2, 2]


def test_langsmith_file_keeps_run_tree_invariants():
    runs = [json.loads(line) for line in (SAMPLES / LANGSMITH_FILE).read_text().splitlines()]
    ids = {run["id"] for run in runs}
    for run in runs:
        segments = run["dotted_order"].split(".")
        assert segments[-1].endswith(run["id"]) and segments[0].endswith(run["trace_id"])
        if run["parent_run_id"]:
            assert segments[-2].endswith(run["parent_run_id"]) and run["parent_run_id"] in ids
        if run["run_type"] == "llm" and run["outputs"]:
            usage = run["outputs"]["usage_metadata"]
            assert usage["input_tokens"] == run["prompt_tokens"]
            assert usage["output_token_details"]["reasoning"] <= usage["output_tokens"]
            assert usage["input_token_details"]["cache_read"] <= usage["input_tokens"]
    assert Counter(run["run_type"] for run in runs) == {"chain": 20, "llm": 52, "tool": 37}
    examples = Counter(run["reference_example_id"] for run in runs if run["reference_example_id"])
    assert sorted(examples.values()) == [2, 2, 3]


def test_langsmith_file_ingests_with_the_designed_counts(con):
    report = ingest_path(con, SAMPLES / LANGSMITH_FILE)
    assert (report.ok, report.format, report.skipped) == (True, "langsmith", [])
    assert (report.spans, report.trajectories) == (109, 20)
    with con.cursor() as cur:
        runs = query(cur, RUNS_SQL)
    assert {run["agent_name"] for run in runs} == {"research-agent"}
    assert sum(run["escalated"] for run in runs) == 1
    assert Counter(run["outcome"] for run in runs) == {"success": 18, "error": 1, "failure": 1}
    eval_keys = Counter(run["task_key"] for run in runs if run["score"] is not None)
    assert sorted(eval_keys.values()) == [1, 2, 2, 3]
