"""analysis.fleet_queries on five hand-built trajectories, every expected figure by hand.

Prices (tests.analysis_builders.ACME_PRICES): acme-mini (small) $1 input, $0.10 cached,
$4 output per Mtok; acme-max (large) $4 input, $0.40 cached, $16 output. Every turn reads
1,000 input tokens (none cached) and writes 100, so an acme-mini turn costs
(1000·1 + 100·4)/1e6 = $0.0014 and an acme-max turn (1000·4 + 100·16)/1e6 = $0.0056.
A turn takes 150 ms. From the second turn on, the 1,000-token prefix sent before is
uncached waste, worth 1000·(input − cached price)/1e6: $0.0009 on acme-mini, $0.0036 on
acme-max.

- small-ok   task t1, acme-mini, 2 turns, no score (inferred success), day 1
- large-ok   task t1, acme-max, 1 turn, score 1, day 1            -> over_provisioned
- esc        task t3, 3 acme-mini turns whose tool call fails the same way, then acme-max
             (turns 2-3 are stagnation: same action ending in error 3x), day 1
- small-fail task t2, acme-mini, 1 turn, score 0, day 2            -> large_needed
- large-t2   task t2, acme-max, 1 turn, score 1, day 2             -> large_needed
"""

from __future__ import annotations

from datetime import date

import pytest

from analysis import fleet
from analysis import fleet_queries as q
from analysis.filters import TrajectoryFilter
from tests.analysis_builders import Call, T, ingest_spans, trajectory, use_acme_prices

DAY_MS = 86_400_000
MINI_TURN, MAX_TURN = 0.0014, 0.0056


@pytest.fixture
def fleet_con(con, tmp_path):
    use_acme_prices(con)
    fail = Call("run", {"a": 1}, output="boom", status="error")
    spans = (
        trajectory("small-ok", [T(), T()], task_id="t1")
        + trajectory("large-ok", [T()], model="acme-max", task_id="t1", score=1.0)
        + trajectory(
            "esc",
            [T(calls=[fail]), T(calls=[fail]), T(calls=[fail]), T(model="acme-max")],
            task_id="t3",
        )
        + trajectory("small-fail", [T()], task_id="t2", score=0.0, start_ms=DAY_MS)
        + trajectory("large-t2", [T()], model="acme-max", task_id="t2", score=1.0, start_ms=DAY_MS)
    )
    ingest_spans(con, tmp_path, "fleet.jsonl", spans)
    return con


def test_daily_counts_costs_and_waste_per_utc_day(fleet_con):
    frame = q.daily(fleet_con)
    assert frame["day"].to_list() == [date(2025, 3, 1), date(2025, 3, 2)]
    assert frame["trajectories"].to_list() == [3, 2]
    assert frame["judged"].to_list() == [3, 2]
    assert frame["successes"].to_list() == [3, 1]
    day1_cost = 2 * MINI_TURN + MAX_TURN + (3 * MINI_TURN + MAX_TURN)
    assert frame["cost_usd"].to_list() == pytest.approx([day1_cost, MINI_TURN + MAX_TURN])
    # small-ok: one uncached prefix; esc: two stagnation turns + one uncached prefix on acme-max
    day1_waste = 0.0009 + (2 * MINI_TURN + 0.0036)
    assert frame["waste_usd"].to_list() == pytest.approx([day1_waste, 0.0])
    assert frame["waste_tokens"].to_list() == [1000 + 2 * 1100 + 1000, 0]


def test_daily_respects_the_filter(fleet_con):
    frame = q.daily(fleet_con, TrajectoryFilter(task="task:t2"))
    assert frame["day"].to_list() == [date(2025, 3, 2)]
    assert frame["trajectories"].to_list() == [2]


def test_turn_histogram_uses_whole_turn_bins(fleet_con):
    # turns: 2, 1, 4, 1, 1
    frame = q.histogram(fleet_con, "turns")
    assert frame.rows() == [(1.0, 2.0, 3, False), (2.0, 3.0, 1, False), (4.0, 5.0, 1, False)]
    frame = q.histogram(fleet_con, "turns", bins=2)
    assert frame.rows() == [(1.0, 3.0, 4, False), (3.0, 5.0, 1, False)]


def test_wall_time_histogram_has_equal_bins_and_keeps_the_maximum(fleet_con):
    # wall: 300, 150, 600, 150, 150 ms -> bins of (600 - 150) / 3 = 150 ms
    frame = q.histogram(fleet_con, "wall_ms", bins=3)
    assert frame.rows() == [
        (150.0, 300.0, 3, False),
        (300.0, 450.0, 1, False),
        (450.0, 600.0, 1, False),
    ]


@pytest.mark.parametrize(("measure", "whole"), [("wall_ms", False), ("turns", True)])
def test_a_long_tail_goes_into_an_open_ended_last_bin(con, measure, whole):
    """Two runs of 1.5 h among 20-second runs put every other run in one bar of 30."""
    values = [*range(1, 199), 5000, 6000]  # 200 runs: the top two over 3x the 99th percentile
    column = "wall_ms" if measure == "wall_ms" else "turns"
    with con.cursor() as cur:
        cur.execute(
            f"INSERT INTO trajectories (trace_id, {column}) SELECT 'r' || v, v FROM unnest(?) t(v)",
            [values],
        )
    frame = q.histogram(con, measure, bins=10)
    assert frame["trajectories"].sum() == 200
    assert frame["open_ended"].to_list() == [False] * (frame.height - 1) + [True]
    last = frame.row(-1, named=True)
    assert last["bin_end"] < 1000  # the bins stop near the 99th percentile, not at 6,000
    assert last["trajectories"] >= 2  # and the last one holds the two beyond


def test_histogram_refuses_an_unknown_measure(fleet_con):
    with pytest.raises(ValueError, match="no histogram of 'score'"):
        q.histogram(fleet_con, "score")


def test_verdict_counts_in_definition_order(fleet_con):
    frame = q.verdict_counts(fleet_con)
    assert frame.select("verdict", "trajectories").rows() == [
        ("escalation_needed", 1),
        ("large_needed", 2),
        ("over_provisioned", 1),
        ("small_sufficient", 1),
    ]
    assert frame["cost_usd"].to_list() == pytest.approx(
        [3 * MINI_TURN + MAX_TURN, MINI_TURN + MAX_TURN, MAX_TURN, 2 * MINI_TURN]
    )


def test_waste_behind_a_category_lists_only_its_trajectories(fleet_con):
    frame = q.waste_behind(fleet_con, "category", "stagnation")
    assert frame["trace_id"].to_list() == ["esc"]
    assert frame["findings"].to_list() == [2]
    assert frame["group_waste_tokens"].to_list() == [2 * 1100]
    assert frame["group_waste_usd"].to_list() == pytest.approx([2 * MINI_TURN])
    assert frame["waste_usd"].to_list() == pytest.approx([2 * MINI_TURN + 0.0036])


def test_waste_behind_an_agent_and_a_day_most_wasteful_first(fleet_con):
    for by, key in (("agent", "agent-a"), ("day", "2025-03-01")):
        frame = q.waste_behind(fleet_con, by, key)
        assert frame["trace_id"].to_list() == ["esc", "small-ok"], by
        assert frame["group_waste_usd"].to_list() == pytest.approx([2 * MINI_TURN + 0.0036, 0.0009])
    assert q.waste_behind(fleet_con, "day", "2025-03-02").is_empty()
    with pytest.raises(ValueError, match="cannot group waste by 'tier'"):
        q.waste_behind(fleet_con, "tier", "small")


def test_waste_by_model_charges_each_finding_to_the_model_of_the_wasted_call(fleet_con):
    # esc ran 3 acme-mini turns (its most-called model) then one acme-max turn: its
    # stagnation was spent on acme-mini, its last turn's uncached prefix on acme-max
    rows = fleet.waste_by(fleet_con, "model").select(
        "key", "category", "findings", "trajectories", "usd"
    )
    assert rows.rows() == [
        ("acme-max", "uncached_context", 1, 1, pytest.approx(0.0036)),
        ("acme-mini", "stagnation", 2, 1, pytest.approx(2 * MINI_TURN)),
        ("acme-mini", "uncached_context", 1, 1, pytest.approx(0.0009)),
    ]
    frame = q.waste_behind(fleet_con, "model", "acme-max")
    assert frame["trace_id"].to_list() == ["esc"]
    assert frame["group_waste_usd"].to_list() == pytest.approx([0.0036])
    frame = q.waste_behind(fleet_con, "model", "acme-mini")
    assert frame["trace_id"].to_list() == ["esc", "small-ok"]
    assert frame["group_waste_usd"].to_list() == pytest.approx([2 * MINI_TURN, 0.0009])
    only_esc = TrajectoryFilter(task="task:t3")
    assert fleet.waste_by(fleet_con, "model", only_esc)["key"].to_list() == [
        "acme-max", "acme-mini",
    ]  # fmt: skip


def test_over_provisioned_run_beside_the_smaller_run_of_its_task(fleet_con):
    frame = q.over_provisioned(fleet_con)
    (row,) = frame.iter_rows(named=True)
    assert (row["trace_id"], row["task_key"], row["model"], row["tier"]) == (
        "large-ok",
        "task:t1",
        "acme-max",
        "large",
    )
    assert (row["smaller_runs"], row["smaller_successes"]) == (1, 1)
    assert (row["smaller_trace_id"], row["smaller_model"]) == ("small-ok", "acme-mini")
    assert row["cost_usd"] == pytest.approx(MAX_TURN)
    assert row["smaller_cost_usd"] == pytest.approx(2 * MINI_TURN)
    assert row["extra_cost_usd"] == pytest.approx(MAX_TURN - 2 * MINI_TURN)
    assert (row["wall_ms"], row["smaller_wall_ms"]) == (150.0, 300.0)
    assert q.over_provisioned(fleet_con, TrajectoryFilter(task="task:t2")).is_empty()


def test_tier_pairs_put_both_tiers_of_a_task_side_by_side(fleet_con):
    frame = q.tier_pairs(fleet_con)
    assert frame["task_key"].to_list() == ["task:t1", "task:t2"]  # t3 ran on one trajectory
    t1, t2 = frame.iter_rows(named=True)
    assert (t1["smaller_trace_id"], t1["larger_trace_id"]) == ("small-ok", "large-ok")
    assert (t1["smaller_tier"], t1["larger_tier"]) == ("small", "large")
    assert (t1["smaller_successes"], t1["larger_successes"]) == (1, 1)
    assert t1["larger_verdicts"] == ["over_provisioned"]
    assert (t2["smaller_trace_id"], t2["larger_trace_id"]) == ("small-fail", "large-t2")
    assert (t2["smaller_successes"], t2["larger_successes"]) == (0, 1)
    assert (t2["smaller_cost_usd"], t2["larger_cost_usd"]) == pytest.approx((MINI_TURN, MAX_TURN))
    assert t2["larger_verdicts"] == ["large_needed"]
    scoped = q.tier_pairs(fleet_con, TrajectoryFilter(verdict="over_provisioned"))
    assert scoped["task_key"].to_list() == ["task:t1"]


def test_escalation_split_at_the_first_larger_call(fleet_con):
    (row,) = q.escalations(fleet_con).iter_rows(named=True)
    assert (row["trace_id"], row["verdict"], row["escalation_span_id"]) == (
        "esc",
        "escalation_needed",
        "esc-llm4",
    )
    assert (row["from_model"], row["to_model"]) == ("acme-mini", "acme-max")
    assert (row["turns_before"], row["signal_turns"], row["turns_after"]) == (3, 3, 1)
    assert row["cost_before_usd"] == pytest.approx(3 * MINI_TURN)
    assert row["cost_after_usd"] == pytest.approx(MAX_TURN)
    assert (row["ms_before"], row["ms_after"]) == (450.0, 150.0)  # turn 3 ends at 450 of 600 ms
    assert (row["waste_tokens_before"], row["waste_tokens_after"]) == (2200, 1000)
    assert (row["tool_errors_before"], row["tool_errors_after"]) == (3, 0)
    assert q.escalations(fleet_con, TrajectoryFilter(task="task:t1")).is_empty()


def test_escalation_count_says_how_many_runs_could_be_judged(fleet_con):
    assert q.escalation_count(fleet_con) == (1, 5)
    assert q.escalation_count(fleet_con, TrajectoryFilter(task="task:t1")) == (0, 2)


# --- paging: a page of rows plus a total, so no page sends every run ----------------------


def test_over_provisioned_summary_adds_up_every_run_the_pages_list(fleet_con):
    summary = q.over_provisioned_summary(fleet_con)
    assert (summary.trajectories, summary.known_extra_runs) == (1, 1)
    assert summary.cost_usd == pytest.approx(MAX_TURN)
    assert summary.smaller_cost_usd == pytest.approx(2 * MINI_TURN)
    assert summary.extra_cost_usd == pytest.approx(MAX_TURN - 2 * MINI_TURN)
    assert q.over_provisioned(fleet_con, limit=1)["trace_id"].to_list() == ["large-ok"]
    assert q.over_provisioned(fleet_con, limit=1, offset=1).is_empty()
    none = q.over_provisioned_summary(fleet_con, TrajectoryFilter(task="task:t2"))
    assert (none.trajectories, none.cost_usd, none.extra_cost_usd) == (0, None, None)


def test_tier_pairs_page_through_the_tasks_by_task_key(fleet_con):
    assert q.tier_pair_count(fleet_con) == 2
    assert q.tier_pairs(fleet_con, limit=1)["task_key"].to_list() == ["task:t1"]
    second = q.tier_pairs(fleet_con, limit=1, offset=1)
    assert second["task_key"].to_list() == ["task:t2"]
    assert second["larger_verdicts"].to_list() == [["large_needed"]]
    assert q.tier_pair_count(fleet_con, TrajectoryFilter(verdict="over_provisioned")) == 1


def test_escalations_page_and_count(fleet_con):
    from analysis.fleet import escalation_event_count

    assert escalation_event_count(fleet_con) == 1
    assert escalation_event_count(fleet_con, TrajectoryFilter(task="task:t1")) == 0
    (row,) = q.escalations(fleet_con, limit=1).iter_rows(named=True)
    assert (row["trace_id"], row["cost_before_usd"]) == ("esc", pytest.approx(3 * MINI_TURN))
    assert (row["ms_before"], row["ms_after"]) == (450.0, 150.0)
    assert q.escalations(fleet_con, limit=1, offset=1).is_empty()


def test_per_task_tier_rows_hold_what_the_tier_comparisons_add_up(fleet_con):
    got = fleet_con.execute(
        "SELECT task_key, tier, rank, runs, successes, cost_usd, success_wall_ms, pick_trace_id"
        " FROM task_tiers ORDER BY task_key, rank"
    ).fetchall()
    assert got == [
        ("task:t1", "small", 1, 1, 1, pytest.approx(2 * MINI_TURN), 300.0, "small-ok"),
        ("task:t1", "large", 3, 1, 1, pytest.approx(MAX_TURN), 150.0, "large-ok"),
        ("task:t2", "small", 1, 1, 0, pytest.approx(MINI_TURN), None, "small-fail"),
        ("task:t2", "large", 3, 1, 1, pytest.approx(MAX_TURN), 150.0, "large-t2"),
    ]  # esc escalated: it is no sibling


def test_waste_and_runs_per_day_are_utc_days_whatever_the_session_time_zone(fleet_con):
    from analysis.fleet import waste_by

    fleet_con.execute("SET GLOBAL TimeZone = 'Pacific/Kiritimati'")  # UTC+14: noon is tomorrow
    try:
        by_day = waste_by(fleet_con, "day")
        daily = q.daily(fleet_con)
    finally:
        fleet_con.execute("SET GLOBAL TimeZone = 'UTC'")
    assert set(by_day["key"].to_list()) == {date(2025, 3, 1)}  # day 2 has no waste
    assert by_day.select("category", "findings", "trajectories").rows() == [
        ("stagnation", 2, 1),
        ("uncached_context", 2, 2),
    ]
    assert daily["day"].to_list() == [date(2025, 3, 1), date(2025, 3, 2)]
