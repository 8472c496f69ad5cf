"""Every waste detector on a hand-built trajectory, with the exact tokens and dollars expected.

Prices (tests.analysis_builders.ACME_PRICES): acme-mini input $1.00, cached input $0.10,
output $4.00 per Mtok. Unless a test says otherwise a turn reads 1000 input tokens (1000 of
them from cache after the first turn) and writes 100, so it costs
(0 × 1.00 + 1000 × 0.10 + 100 × 4.00) / 1e6 = $0.0005 and has no uncached prefix:
min(1000, 1000 + 100) − 1000 = 0.
"""

from __future__ import annotations

import json

import pytest

from tests.analysis_builders import Call, T, ingest_spans, row, rows, trajectory, use_acme_prices

TURN_USD = 0.0005


@pytest.fixture
def store(con):
    use_acme_prices(con)
    return con


def cached_turns(turns: list[T]) -> list[T]:
    for index, turn in enumerate(turns):
        turn.cache_read = 0 if index == 0 else 1000
    return turns


def findings(con, trace_id: str) -> list[tuple]:
    return rows(
        con,
        "SELECT turn, category, tokens, usd, evidence FROM findings WHERE trace_id = ? ORDER BY turn, category",
        [trace_id],
    )


def waste_row(con, trace_id: str) -> tuple:
    return row(
        con,
        "SELECT waste_stagnation_tokens, waste_error_retry_tokens, waste_repeated_tokens,"
        " waste_uncached_tokens, waste_tokens, waste_usd, waste_turns FROM trajectories WHERE trace_id = ?",
        [trace_id],
    )


def stagnation(con, tmp_path, trace_id: str, turns: list[T]) -> list[tuple]:
    ingest_spans(con, tmp_path, f"{trace_id}.jsonl", trajectory(trace_id, cached_turns(turns)))
    return [
        (turn, tokens, json.loads(evidence)["rule"])
        for turn, category, tokens, _, evidence in findings(con, trace_id)
        if category == "stagnation"
    ]


def test_same_action_and_result_four_times_is_stagnation_after_the_first(store, tmp_path):
    turns = [T(calls=[Call("search", {"q": "x"}, "nothing")]) for _ in range(5)] + [
        T(message="done")
    ]
    got = stagnation(store, tmp_path, "s1", turns)
    assert got == [(i, 1100, "same_action_same_result") for i in (2, 3, 4, 5)]
    # stagnation outranks repeated_tool_call for the same turns
    assert waste_row(store, "s1") == (4400, 0, 0, 0, 4400, pytest.approx(4 * TURN_USD), 4)
    evidence = json.loads(findings(store, "s1")[0][4])
    assert evidence["first_span_id"] == "s1-llm1"
    assert evidence["window_span_ids"] == [f"s1-llm{i}" for i in range(1, 6)]


def test_parallel_calls_issued_in_another_order_are_the_same_action_and_result(store, tmp_path):
    ab = [Call("read", {"f": "a"}, "A"), Call("read", {"f": "b"}, "B")]
    turns = [T(calls=ab if i % 2 else ab[::-1]) for i in range(4)] + [T(message="done")]
    got = stagnation(store, tmp_path, "s9", turns)
    assert got == [(i, 1100, "same_action_same_result") for i in (2, 3, 4)]


def test_same_action_ending_in_error_three_times(store, tmp_path):
    turns = [
        T(calls=[Call("run", {"cmd": "make"}, f"error {n}", status="error")]) for n in (1, 2, 3)
    ] + [T(message="giving up")]
    got = stagnation(store, tmp_path, "s2", turns)
    assert got == [(2, 1100, "same_action_error"), (3, 1100, "same_action_error")]
    assert waste_row(store, "s2")[:5] == (2200, 0, 0, 0, 2200)


def test_same_assistant_message_three_times(store, tmp_path):
    turns = [T(message="I am not sure.") for _ in range(3)]
    assert stagnation(store, tmp_path, "s3", turns) == [
        (2, 1100, "same_message"),
        (3, 1100, "same_message"),
    ]


def test_a_b_alternation_over_six_turns(store, tmp_path):
    a, b = Call("read", {"f": "a"}, "x"), Call("read", {"f": "b"}, "y")
    turns = [T(calls=[a if i % 2 == 0 else b]) for i in range(6)] + [T(message="done")]
    got = stagnation(store, tmp_path, "s4", turns)
    assert got == [(i, 1100, "alternation") for i in (2, 3, 4, 5, 6)]


def test_three_empty_replies(store, tmp_path):
    turns = [T(message="") for _ in range(3)] + [T(message="hello")]
    assert stagnation(store, tmp_path, "s5", turns) == [
        (2, 1100, "empty_replies"),
        (3, 1100, "empty_replies"),
    ]


def test_error_retry_is_the_turn_reissuing_a_call_that_just_failed(store, tmp_path):
    turns = cached_turns(
        [
            T(calls=[Call("fetch", {"id": 1}, "boom", status="error")]),
            T(calls=[Call("fetch", {"id": 1}, "data")]),
            T(message="done"),
        ]
    )
    ingest_spans(store, tmp_path, "r.jsonl", trajectory("r", turns))
    [(turn, category, tokens, usd, evidence)] = findings(store, "r")
    assert (turn, category, tokens, usd) == (2, "error_retry", 1100, pytest.approx(TURN_USD))
    assert json.loads(evidence)["calls"] == [
        {"span_id": "r-tool2.1", "tool_name": "fetch", "failed_span_id": "r-tool1.1"}
    ]
    assert waste_row(store, "r")[:5] == (0, 1100, 0, 0, 1100)


def test_repeated_tool_calls_compare_canonical_arguments_and_split_parallel_turns(store, tmp_path):
    turns = cached_turns(
        [
            T(calls=[Call("read", {"path": "a", "mode": "r"}, "A")]),
            T(calls=[Call("read", {"path": "b"}, "B")]),
            T(calls=[Call("read", {"mode": "r", "path": "a"}, "A")]),  # repeats turn 1
            T(calls=[Call("read", {"path": "c"}, "C"), Call("read", {"path": "d"}, "D")]),
            T(
                calls=[
                    Call("read", {"path": "a", "mode": "r"}, "A"),
                    Call("read", {"path": "e"}, "E"),
                ]
            ),
            T(message="done"),
        ]
    )
    turns[4].cache_read = 800  # uncached prefix min(1000, 1100) − 800 = 200, half of it free
    ingest_spans(store, tmp_path, "rep.jsonl", trajectory("rep", turns))
    got = [(t, c, tok, u) for t, c, tok, u, _ in findings(store, "rep")]
    # turn 5 costs (200 × 1.00 + 800 × 0.10 + 100 × 4.00) / 1e6 = $0.00068; half is a repeat
    assert got == [
        (3, "repeated_tool_call", 1100, pytest.approx(TURN_USD)),
        (5, "repeated_tool_call", 550, pytest.approx(0.00034)),
        (5, "uncached_context", 100, pytest.approx(100 * 0.9 / 1e6)),
    ]
    evidence = json.loads(findings(store, "rep")[0][4])
    assert evidence["calls"] == [
        {"span_id": "rep-tool3.1", "tool_name": "read", "earlier_span_id": "rep-tool1.1"}
    ]
    assert waste_row(store, "rep") == (0, 0, 1650, 100, 1750, pytest.approx(0.00093), 2)


def growth_turns(last_cache_read: int | None) -> list[T]:
    return [
        T(input=1000, output=200, reasoning=50, cache_read=0, message="a"),
        T(input=1500, output=100, cache_read=1000, message="b"),
        T(input=2000, output=100, cache_read=last_cache_read, message="c"),
    ]


def test_uncached_context_is_the_prefix_sent_before_minus_cache_reads(store, tmp_path):
    ingest_spans(store, tmp_path, "u.jsonl", trajectory("u", growth_turns(0)))
    got = [(t, c, tok, u) for t, c, tok, u, _ in findings(store, "u")]
    # turn 2: min(1500, 1000 + 200) − 1000 = 200; turn 3: min(2000, 1500 + 100) − 0 = 1600
    assert got == [
        (2, "uncached_context", 200, pytest.approx(200 * 0.9 / 1e6)),
        (3, "uncached_context", 1600, pytest.approx(1600 * 0.9 / 1e6)),
    ]
    assert json.loads(findings(store, "u")[1][4])["previous_span_id"] == "u-llm2"
    assert waste_row(store, "u")[3:6] == (1800, 1800, pytest.approx(1800 * 0.9 / 1e6))


def test_unknown_cache_data_gives_unknown_uncached_context_not_zero(store, tmp_path):
    ingest_spans(store, tmp_path, "uu.jsonl", trajectory("uu", growth_turns(None)))
    assert [(t, c, tok) for t, c, tok, _, _ in findings(store, "uu")] == [
        (2, "uncached_context", 200)
    ]
    assert waste_row(store, "uu")[3:6] == (None, None, None)
    per_turn = rows(
        store, "SELECT turn, uncached_tokens FROM turns WHERE trace_id = 'uu' ORDER BY turn"
    )
    assert per_turn == [(1, 0), (2, 200), (3, None)]


def test_indicators_shown_beside_waste(store, tmp_path):
    ingest_spans(store, tmp_path, "u.jsonl", trajectory("u", growth_turns(0)))
    got = row(
        store,
        "SELECT cache_hit_rate, reasoning_share, context_growth, io_ratio FROM trajectories",
    )
    # cache 1000 / input 4500; reasoning 50 / output 200 (only turn 1 records reasoning);
    # context growth (500 + 500) / 2; input 4500 / output 400
    assert got == pytest.approx((1000 / 4500, 0.25, 500.0, 11.25))


def test_waste_of_turns_without_token_counts_is_unknown(store, tmp_path):
    turns = [T(input=None, output=None, cache_read=None, message="same") for _ in range(3)]
    ingest_spans(store, tmp_path, "n.jsonl", trajectory("n", turns))
    assert [(t, c, tok) for t, c, tok, _, _ in findings(store, "n")] == [
        (2, "stagnation", None),
        (3, "stagnation", None),
    ]
    assert waste_row(store, "n")[0] is None
    assert waste_row(store, "n")[6] == 2


def test_a_refused_call_wastes_and_costs_nothing_and_is_skipped_as_the_previous_turn(
    store, tmp_path
):
    """A 429 between two calls: failed, no token counts, no cost. The call after it re-sends
    what the call before it had: min(1500, 1000 + 100) − 0 = 1100 uncached tokens."""
    refused = T(input=None, output=None, cache_read=None, status="error", message=None)
    turns = [T(cache_read=0), refused, T(input=1500, cache_read=0), refused]
    ingest_spans(store, tmp_path, "r.jsonl", trajectory("r", turns))
    assert [(t, c, tok) for t, c, tok, _, _ in findings(store, "r")] == [
        (3, "uncached_context", 1100)
    ]
    assert json.loads(findings(store, "r")[0][4])["previous_span_id"] == "r-llm1"
    assert waste_row(store, "r")[3:5] == (1100, 1100)
    per_turn = rows(
        store,
        "SELECT turn, cost_usd, cost_source, uncached_tokens, waste_tokens FROM turns"
        " WHERE trace_id = 'r' ORDER BY turn",
    )
    assert [r[:1] + r[2:] for r in per_turn] == [
        (1, "computed", 0, 0),
        (2, "computed", 0, 0),
        (3, "computed", 1100, 1100),
        (4, "computed", 0, 0),
    ]
    assert (per_turn[1][1], per_turn[3][1]) == (0.0, 0.0)
    assert row(store, "SELECT cost_source, context_growth FROM trajectories") == ("computed", 500.0)


def test_a_failed_call_that_recorded_tokens_is_not_refused(store, tmp_path):
    failed = T(input=1000, output=None, cache_read=0, status="error", message=None)
    ingest_spans(store, tmp_path, "f.jsonl", trajectory("f", [T(cache_read=0), failed, T()]))
    assert waste_row(store, "f")[3:5] == (None, None)  # turn 3's previous output is unknown
    assert row(store, "SELECT cost_source FROM trajectories") == ("partial",)


def test_a_trajectory_without_llm_calls_wastes_nothing(store, tmp_path):
    root_only = [trajectory("bare", [])[0]]
    ingest_spans(store, tmp_path, "bare.jsonl", root_only)
    assert waste_row(store, "bare") == (0, 0, 0, 0, 0, 0.0, 0)
    assert findings(store, "bare") == []


def categories(con, trace_id: str) -> list[tuple[int, str]]:
    return [(turn, category) for turn, category, *_ in findings(con, trace_id)]


def test_windows_one_turn_short_of_a_stuck_rule_are_not_stagnation(store, tmp_path):
    search = Call("search", {"q": "x"}, "nothing")
    failing = Call("run", {"cmd": "make"}, "Error: 2", status="error")
    a, b = Call("read", {"f": "a"}, "x"), Call("read", {"f": "b"}, "y")
    runs = {
        "three_same": [T(calls=[search]) for _ in range(3)],
        "two_errors": [T(calls=[failing]) for _ in range(2)],
        "two_messages": [T(message="same") for _ in range(2)],
        "two_empty": [T(message="") for _ in range(2)],
        "five_alternating": [T(calls=[a if i % 2 == 0 else b]) for i in range(5)],
    }
    spans = [s for name, turns in runs.items() for s in trajectory(name, cached_turns(turns))]
    ingest_spans(store, tmp_path, "short.jsonl", spans)
    assert categories(store, "three_same") == [(2, "repeated_tool_call"), (3, "repeated_tool_call")]
    assert categories(store, "two_errors") == [(2, "error_retry")]
    assert categories(store, "two_messages") == []
    assert categories(store, "two_empty") == []
    assert categories(store, "five_alternating") == [
        (3, "repeated_tool_call"),
        (4, "repeated_tool_call"),
        (5, "repeated_tool_call"),
    ]
