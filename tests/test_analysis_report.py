"""`python -m analysis report` on the real tau-bench file and on a hand-built store.

tau-bench's historical gpt-4o airline file holds 200 trajectories (50 tasks × 4 trials) with
a 0/1 reward each, OpenAI-style messages and tool calls, and no timestamps, token counts or
model name. So outcomes and scores are known; times, tokens, cost and tiers must read
"unknown", never 0. Expected facts are recomputed from the file itself below.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from analysis.__main__ import main
from analysis.pipeline import ingest_path
from store import db
from tests.analysis_builders import ROOT, Call, T, ingest_spans, rows, trajectory, use_acme_prices
from tests.live_server import running_server

ERROR_PREFIXES = ("error:", "error -", "exception:", "traceback (most recent call last)")


@pytest.fixture
def tau_records(shared_traces):
    return json.loads((shared_traces / "other" / "tau-bench_gpt-4o-airline.json").read_text())


@pytest.fixture
def tau_store(con, shared_traces):
    report = ingest_path(con, shared_traces / "other" / "tau-bench_gpt-4o-airline.json")
    assert report.ok, report.error
    return con


def oracle_call_waste(records) -> tuple[int, int]:
    """Turns repeating an earlier call / re-issuing a call that failed the turn before,
    read straight from the messages (the one stuck window, record 109 turns 25–30, excluded)."""
    repeated = retried = 0
    for index, record in enumerate(records):
        results = {
            m["tool_call_id"]: m.get("content") for m in record["traj"] if m["role"] == "tool"
        }
        seen, failed_before, turn = set(), set(), 0
        for message in (m for m in record["traj"] if m["role"] == "assistant"):
            turn, failed_now = turn + 1, set()
            for call in message.get("tool_calls") or []:
                args = json.dumps(json.loads(call["function"]["arguments"]), sort_keys=True)
                signature = (call["function"]["name"], args)
                output = results.get(call["id"])
                stuck = index == 109 and 25 <= turn <= 30
                if signature in failed_before:
                    retried += not stuck
                elif signature in seen:
                    repeated += not stuck
                seen.add(signature)
                if isinstance(output, str) and output.strip().lower().startswith(ERROR_PREFIXES):
                    failed_now.add(signature)
            failed_before = failed_now
    return repeated, retried


def test_json_report_on_tau_bench_says_unknown_not_zero(tau_store, tau_records, db_path, capsys):
    assert main(["report", "--db", str(db_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    summary = report["summary"]
    successes = sum(1 for r in tau_records if r["reward"] >= 0.5)
    assert (summary["trajectories"], summary["judged"], summary["successes"]) == (
        200,
        200,
        successes,
    )
    assert successes == 84
    assert summary["mean_score"] == pytest.approx(sum(r["reward"] for r in tau_records) / 200)
    assert round(summary["mean_score"], 2) == 0.42
    assert (summary["total_tokens"], summary["cost_usd"], summary["waste_share"]) == (
        None,
        None,
        None,
    )
    trajectories = report["trajectories"]
    assert len({t["task_key"] for t in trajectories}) == 50
    for key in (
        "wall_ms",
        "model_ms",
        "tool_ms",
        "idle_ms",
        "input_tokens",
        "cost_usd",
        "escalated",
    ):
        assert {t[key] for t in trajectories} == {None}, key
    assert {t["verdict"] for t in trajectories} == {"undetermined"}  # no model name, no tier
    assert sum(t["llm_calls"] for t in trajectories) == sum(
        1 for r in tau_records for m in r["traj"] if m["role"] == "assistant"
    )
    assert report["price_reversals"]["comparable_pairs"] == 0
    assert report["routing"] == []


def test_tau_bench_findings_match_the_messages(tau_store, tau_records):
    repeated, retried = oracle_call_waste(tau_records)
    counts = dict(rows(tau_store, "SELECT category, count(*) FROM findings GROUP BY category"))
    assert counts == {"repeated_tool_call": repeated, "stagnation": 6} and retried == 0
    # record 109 (task 9, trial 2): book_reservation fails, a "think" call, the same booking
    # fails again ... from turn 24 to 30: an A-B-A-B alternation, stagnation on turns 25–30
    stuck = rows(
        tau_store,
        "SELECT t.task_key, t.llm_calls, f.turn, f.evidence->>'rule' FROM findings f"
        " JOIN trajectories t USING (trace_id) WHERE f.category = 'stagnation' ORDER BY f.turn",
    )
    assert stuck == [("task:9", 30, turn, "alternation") for turn in range(25, 31)]
    assert tau_records[109]["task_id"] == 9 and tau_records[109]["trial"] == 2
    tool_errors = sum(
        1
        for r in tau_records
        for m in r["traj"]
        if m["role"] == "tool" and str(m.get("content")).strip().lower().startswith(ERROR_PREFIXES)
    )
    assert rows(tau_store, "SELECT sum(tool_errors) FROM trajectories") == [(tool_errors,)]


def test_text_report_prints_unknown_for_missing_figures(tau_store, db_path, capsys):
    assert main(["report", "--db", str(db_path), "--limit", "3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("200 trajectories; 84 successes of 200 judged (42.0%); mean score 0.42")
    assert "tokens unknown (known for 0); cost unknown USD (known for 0)" in out
    table = out.split("Trajectories\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len(table) == 1 + 3
    assert all(" unknown " in line for line in table[1:])
    assert "Routing: no task_key has non-escalated small and large runs" in out


def test_fail_on_waste_exits_3_above_the_limit(con, db_path, tmp_path, capsys):
    use_acme_prices(con)
    # turn 2 repeats turn 1's call: 1100 of 2200 tokens wasted (no cache reads, turn 1 has
    # no earlier prefix, turn 2's whole turn is already claimed as a repeat)
    turns = [T(calls=[Call("read", {"f": "a"}, "A")]), T(calls=[Call("read", {"f": "a"}, "A")])]
    ingest_spans(con, tmp_path, "w.jsonl", trajectory("w", turns, score=1))
    assert main(["report", "--db", str(db_path), "--fail-on-waste", "0.4"]) == 3
    assert capsys.readouterr().err == (
        "waste share 50.00% is above the limit 40.00% "
        "(over the 1 of 1 trajectories whose waste is known)\n"
    )
    assert main(["report", "--db", str(db_path), "--fail-on-waste", "0.5"]) == 0


def test_text_report_keeps_every_model_in_call_order_and_costs_in_fixed_places(
    con, db_path, tmp_path, capsys
):
    use_acme_prices(con)
    # acme-mini turn: (1000·$1 + 100·$4)/1e6; acme-max turn: (1000·$4 + 100·$16)/1e6
    ingest_spans(con, tmp_path, "e.jsonl", trajectory("esc", [T(), T(model="acme-max")]))
    assert main(["report", "--db", str(db_path)]) == 0
    header, row = capsys.readouterr().out.split("Trajectories\n", 1)[1].splitlines()[:2]
    assert header.split()[-2:] == ["uncached", "models"]
    assert row.endswith(" acme-mini → acme-max")
    assert " 0.007000 " in row


def test_unknown_waste_never_fails_the_gate(tau_store, db_path, capsys):
    assert main(["report", "--db", str(db_path), "--fail-on-waste", "0"]) == 0
    assert "waste share unknown" in capsys.readouterr().err


def test_cli_runs_as_a_module_and_rejects_a_missing_store(tmp_path):
    missing = tmp_path / "nothing.duckdb"
    result = subprocess.run(
        [sys.executable, "-m", "analysis", "report", "--db", str(missing)],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert f"{missing}: no AgentTime store here" in result.stderr
    assert not missing.exists()


def report_cli(db_file) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "analysis", "report", "--db", str(db_file)]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_cli_says_which_server_holds_the_store(tmp_path):
    held = tmp_path / "held.duckdb"
    with running_server(held) as base:
        result = report_cli(held)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith(f"error: cannot open the store at {held}: ")
    assert result.stderr.endswith(f"; the server at {base} holds it: stop the server first\n")


def test_cli_on_a_file_that_is_not_a_store_is_a_clear_error(tmp_path):
    garbage = tmp_path / "garbage.duckdb"
    garbage.write_text("not a db\n")
    result = report_cli(garbage)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: cannot open the store at {garbage}: ")
    assert "Traceback" not in result.stderr
    assert garbage.read_text() == "not a db\n"


def test_cli_subprocess_prints_json(con, db_path, tmp_path):
    use_acme_prices(con)
    ingest_spans(con, tmp_path, "x.jsonl", trajectory("x", [T()], score=1))
    db.close(db_path)
    result = subprocess.run(
        [sys.executable, "-m", "analysis", "report", "--db", str(db_path), "--json"],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["trajectories"][0]["trace_id"] == "x"


def test_the_report_reads_beside_another_reader_of_the_store(con, db_path, tmp_path):
    """Read-only: a CI job's report runs while another process has the file open read-only
    (two read-write opens would conflict)."""
    uuid = "1005a154-0a33-4539-959b-dbf5a5e7c2d1"  # a LangSmith run id: printed whole
    ingest_spans(con, tmp_path, "x.jsonl", trajectory(uuid, [T()], score=1))
    db.close(db_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1], "
         "read_only=True); print('open', flush=True); sys.stdin.read()", str(db_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline() == "open\n"
        result = subprocess.run(
            [sys.executable, "-m", "analysis", "report", "--db", str(db_path)],
            capture_output=True, text=True, cwd=ROOT, check=False,
        )  # fmt: skip
    finally:
        holder.communicate("")
    assert result.returncode == 0, result.stderr
    assert f"\n{uuid} " in result.stdout


@pytest.mark.parametrize("limit", ["0", "-1", "many"])
def test_a_limit_below_one_is_a_usage_error(con, db_path, limit, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["report", "--db", str(db_path), "--limit", limit])
    assert exited.value.code == 2
    assert "expected a whole number of 1 or more" in capsys.readouterr().err
