"""The routing simulation on hand-built small and large runs, every cell derived by hand.

`tiny` is a small-tier and `huge` a large-tier model without token prices, so each call costs
what the trace reports: $0.01 per small turn, $0.10 per large turn. Every turn makes one
tool call and lasts 150 ms, so turn j ends 150·j ms into its run.

Task A: s1 (small, 4 turns, turns 2 and 3 hit tool errors, fails), s2 (small, 2 turns,
succeeds), l1 (large, 1 turn, succeeds). Task B: s3 (small, 3 turns, succeeds), l2 (large,
2 turns, fails).
"""

from __future__ import annotations

import pytest

from analysis.fleet import tasks_on_both_tiers
from analysis.routing import routing_table
from tests.analysis_builders import Call, T, ingest_spans, trajectory, use_acme_prices


def turns(model: str, cost: float, statuses: list[str], tag: str) -> list[T]:
    return [
        T(model=model, cost=cost, calls=[Call("read", {"f": f"{tag}{i}"}, f"out{i}", status=s)])
        for i, s in enumerate(statuses)
    ]


@pytest.fixture
def store(con, tmp_path):
    use_acme_prices(con)
    spans = (
        trajectory(
            "s1", turns("tiny", 0.01, ["ok", "error", "error", "ok"], "a"), task_id="A", score=0
        )
        + trajectory("s2", turns("tiny", 0.01, ["ok", "ok"], "b"), task_id="A", score=1)
        + trajectory("l1", turns("huge", 0.10, ["ok"], "c"), task_id="A", score=1)
        + trajectory("s3", turns("tiny", 0.01, ["ok", "ok", "ok"], "d"), task_id="B", score=1)
        + trajectory("l2", turns("huge", 0.10, ["ok", "ok"], "e"), task_id="B", score=0)
    )
    ingest_spans(con, tmp_path, "routing.jsonl", spans)
    return con


def test_routing_table_matches_the_hand_computed_policies(store):
    table = routing_table(store)
    got = {
        r["policy"]: (
            r["tasks"],
            r["success_rate"],
            r["cost_per_task"],
            r["wall_ms_per_task"],
            r["escalation_rate"],
        )
        for r in table.iter_rows(named=True)
    }
    # K=1: s1 stops at turn 2 (0.02 + 0.10, 300 + 150 ms, large success 1), s2 runs on
    # (0.02, 300 ms, 1) -> task A (1, 0.07, 375); task B never stalls (1, 0.03, 450).
    # K=2: s1 stops at turn 3 (0.13, 600 ms) -> task A (1, 0.075, 450).
    expected = {
        "all_small": (2, 0.75, 0.03, 450.0, 0.0),
        "small_then_large_k1": (2, 1.0, 0.05, 412.5, 0.25),
        "small_then_large_k2": (2, 1.0, 0.0525, 450.0, 0.25),
        "small_then_large_k3": (2, 0.75, 0.03, 450.0, 0.0),
        "small_then_large_k4": (2, 0.75, 0.03, 450.0, 0.0),
        "small_then_large_k5": (2, 0.75, 0.03, 450.0, 0.0),
        "all_large": (2, 0.5, 0.15, 225.0, 0.0),
    }
    assert list(got) == list(expected)
    for policy, values in expected.items():
        assert got[policy] == pytest.approx(values), policy
    assert table["k"].to_list() == [None, 1, 2, 3, 4, 5, None]


def test_stalled_turns_are_the_errored_ones(store):
    with store.cursor() as cur:
        flags = cur.execute(
            "SELECT turn, stalled FROM turns WHERE trace_id = 's1' ORDER BY turn"
        ).fetchall()
    assert flags == [(1, False), (2, True), (3, True), (4, False)]


def test_tasks_on_both_tiers(store):
    got = tasks_on_both_tiers(store).select(
        "task_key", "small_runs", "small_successes", "large_runs", "large_successes"
    )
    assert got.rows() == [("task:A", 2, 1, 1, 1), ("task:B", 1, 1, 1, 0)]


def test_no_task_on_both_tiers_gives_an_empty_table(con, tmp_path):
    use_acme_prices(con)
    ingest_spans(
        con,
        tmp_path,
        "one.jsonl",
        trajectory("x", turns("tiny", 0.01, ["ok"], "x"), task_id="X", score=1),
    )
    assert routing_table(con).height == 0


def test_routing_stops_hold_where_each_run_reaches_k_stalled_turns(store):
    # s1 stalls on turns 2 and 3 (tool errors); the cost and time are up to that turn's end
    got = store.execute("SELECT * FROM routing_stops ORDER BY trace_id, k").fetchall()
    assert got == [
        ("s1", 1, 2, pytest.approx(0.02), 300.0),
        ("s1", 2, 3, pytest.approx(0.03), 450.0),
    ]
