"""Property tests: whatever the trajectory, waste never exceeds the tokens it is drawn from."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.turns import ToolCall, TraceTurns, Turn
from analysis.waste import CATEGORIES, analyse

SIGNATURES = [("read", '{"f":"a"}'), ("read", '{"f":"b"}'), ("run", '{"c":1}'), None]
RESULTS = [("ok", "h1"), ("ok", "h2"), ("error", "h3"), None]
tokens = st.one_of(st.none(), st.integers(0, 50_000))


@st.composite
def tool_calls(draw, turn: int):
    calls = []
    for n in range(draw(st.integers(0, 3))):
        result = draw(st.sampled_from(RESULTS))
        calls.append(
            ToolCall(
                span_id=f"t{turn}.{n}",
                tool_name="read",
                signature=draw(st.sampled_from(SIGNATURES)),
                failed=result is not None and result[0] == "error",
                result=result,
                end_us=None,
            )
        )
    return calls


@st.composite
def trajectories(draw):
    turns = []
    for index in range(1, draw(st.integers(1, 14)) + 1):
        row = {
            "status": draw(st.sampled_from(["ok", "ok", "error"])),
            "model": "m",
            "input_tokens": draw(tokens),
            "output_tokens": draw(tokens),
            "cache_read_tokens": draw(tokens),
            "cost_usd": draw(st.one_of(st.none(), st.floats(0, 1))),
            "input_per_mtok": 1.0,
            "cached_per_mtok": 0.1,
            "end_us": None,
        }
        message = draw(st.sampled_from(["m1", "m2", None]))
        empty = draw(st.sampled_from([True, False, None])) if message else None
        turn = Turn(index, f"l{index}", row, message, empty, draw(tool_calls(index)))
        turns.append(turn)
    return TraceTurns("p", None, turns, [])


@settings(max_examples=400, deadline=None)
@given(trajectories())
def test_claims_on_a_turn_never_exceed_its_tokens(trace):
    waste = analyse(trace)
    for tw in waste.turns:
        known = [v for v in tw.claims.values() if v is not None]
        assert all(v >= 0 for v in known)
        if tw.turn.tokens is not None:
            assert sum(known) <= tw.turn.tokens
        if "stagnation" in tw.claims:
            assert set(tw.claims) == {"stagnation"}
        uncached = tw.claims.get("uncached_context")
        if uncached is not None and tw.turn.get("input_tokens") is not None:
            assert uncached <= tw.turn.get("input_tokens")


@settings(max_examples=400, deadline=None)
@given(trajectories())
def test_trajectory_waste_never_exceeds_its_tokens(trace):
    waste = analyse(trace)
    total = waste.waste_tokens()
    if total is not None and all(t.tokens is not None for t in trace.turns):
        assert total <= sum(t.tokens for t in trace.turns)
    if total is not None:
        assert total == sum(waste.category_tokens(c) for c in CATEGORIES)


@settings(max_examples=200, deadline=None)
@given(trajectories())
def test_each_turn_has_at_most_one_finding_per_category(trace):
    keys = [(f.span_id, f.category) for f in analyse(trace).findings]
    assert len(keys) == len(set(keys))
