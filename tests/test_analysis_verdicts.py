"""Every "was a bigger model needed?" verdict on hand-built runs, with its evidence.

acme-mini is the small tier and acme-max the large tier (tests.analysis_builders.ACME_PRICES).
A score of 1 is a success and 0 a failure.
"""

from __future__ import annotations

import json

import pytest

from analysis import queries
from tests.analysis_builders import Call, T, ingest_spans, row, trajectory, use_acme_prices

MINI, MAX = "acme-mini", "acme-max"


@pytest.fixture
def store(con):
    use_acme_prices(con)
    return con


def failing_call(n: int) -> T:
    return T(model=MINI, calls=[Call("fetch", {"id": n}, "Error: timeout", status="error")])


def verdict(con, trace_id: str) -> tuple[str, dict]:
    found = queries.verdict(con, trace_id)
    assert found is not None
    assert row(con, "SELECT verdict FROM trajectories WHERE trace_id = ?", [trace_id]) == (
        found.verdict,
    )
    return found.verdict, found.evidence


def run(trace_id: str, model: str, score: float | None, task: str) -> list[dict]:
    return trajectory(
        trace_id, [T(model=model, message=f"{trace_id} answer")], task_id=task, score=score
    )


def test_escalation_after_a_stall_that_then_succeeds_was_needed(store, tmp_path):
    turns = [failing_call(1), failing_call(2), T(model=MAX, message="done")]
    ingest_spans(store, tmp_path, "need.jsonl", trajectory("need", turns, task_id="e1", score=1))
    name, evidence = verdict(store, "need")
    assert name == "escalation_needed"
    assert evidence["escalation_span_id"] == "need-llm3"
    assert evidence["before_span_ids"] == ["need-llm1", "need-llm2"]
    assert evidence["after_span_ids"] == ["need-llm3"]
    assert evidence["signal_span_ids"] == ["need-llm1", "need-llm2"]
    assert (evidence["from_model"], evidence["to_model"]) == (MINI, MAX)
    assert (evidence["from_tier"], evidence["to_tier"]) == ("small", "large")


def test_escalation_without_a_prior_signal_was_premature(store, tmp_path):
    turns = [T(model=MINI, message="a"), T(model=MINI, message="b"), T(model=MAX, message="c")]
    ingest_spans(store, tmp_path, "pre.jsonl", trajectory("pre", turns, task_id="e2", score=1))
    name, evidence = verdict(store, "pre")
    assert name == "escalation_premature"
    assert evidence["signal_span_ids"] == []
    assert evidence["after_span_ids"] == ["pre-llm3"]


def test_escalation_that_still_failed_was_futile(store, tmp_path):
    turns = [failing_call(1), T(model=MAX, message="no luck")]
    ingest_spans(store, tmp_path, "fut.jsonl", trajectory("fut", turns, task_id="e3", score=0))
    name, evidence = verdict(store, "fut")
    assert name == "escalation_futile"
    assert evidence["signal_span_ids"] == ["fut-llm1"]


def test_task_level_verdicts_compare_siblings_on_other_tiers(store, tmp_path):
    spans = (
        run("sA1", MINI, 0, "A") + run("sA2", MINI, 0, "A") + run("lA", MAX, 1, "A")
        + run("sB", MINI, 1, "B") + run("lB", MAX, 1, "B") + run("lB2", MAX, 0, "B")
        + run("lC", MAX, 1, "C") + run("sD", MINI, 1, "D") + run("sE", MINI, 0, "E")
        + run("xF", "mystery-model", 1, "F")
    )  # fmt: skip
    ingest_spans(store, tmp_path, "tasks.jsonl", spans)
    got = {
        t: verdict(store, t)[0]
        for t in ("sA1", "sA2", "lA", "sB", "lB", "lB2", "lC", "sD", "sE", "xF")
    }
    assert got == {
        "sA1": "large_needed",  # failed; the large tier solved A in 1 of 1 runs
        "sA2": "large_needed",
        "lA": "large_needed",  # succeeded where the small tier solved A in 0 of 2
        "sB": "small_sufficient",
        "lB": "over_provisioned",  # the small tier solved B in 1 of 1
        "lB2": "over_provisioned",
        "lC": "undetermined",  # a large success with no smaller sibling says nothing
        "sD": "small_sufficient",
        "sE": "undetermined",
        "xF": "undetermined",  # tier unknown: the model matches no models row
    }
    evidence = verdict(store, "lA")[1]
    assert evidence["smaller"] == {
        "runs": 2,
        "successes": 0,
        "trace_ids": ["sA1", "sA2"],
        "tiers": ["small"],
    }
    assert verdict(store, "sA1")[1]["larger"]["trace_ids"] == ["lA"]


def test_a_new_sibling_changes_the_verdicts_of_earlier_runs_at_ingest(store, tmp_path):
    ingest_spans(store, tmp_path, "first.jsonl", run("lF", MAX, 1, "F2"))
    assert verdict(store, "lF")[0] == "undetermined"
    ingest_spans(store, tmp_path, "second.jsonl", run("sF", MINI, 1, "F2"))
    name, evidence = verdict(store, "lF")
    assert name == "over_provisioned"
    assert evidence["smaller"]["trace_ids"] == ["sF"]


def test_escalated_runs_are_not_siblings_for_task_verdicts(store, tmp_path):
    escalated = trajectory("esc", [T(model=MINI), T(model=MAX)], task_id="G", score=1)
    ingest_spans(store, tmp_path, "g.jsonl", escalated + run("lG", MAX, 1, "G"))
    assert verdict(store, "lG")[0] == "undetermined"
    assert (
        json.loads(row(store, "SELECT evidence FROM verdicts WHERE trace_id = 'lG'")[0])["smaller"][
            "runs"
        ]
        == 0
    )
