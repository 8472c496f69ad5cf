"""Token waste per turn (DESIGN §3), each token in one category at most.

Categories, in precedence order (a turn's tokens go to the first that claims them):
1. stagnation — a turn inside an OpenHands stuck window, after the window's first turn:
   the whole turn (input + output tokens, and its cost) is waste;
2. error_retry — a tool call identical (tool + canonical arguments) to one that failed in
   the previous turn;
3. repeated_tool_call — a tool call identical to any earlier call in the trajectory
   (re-deriving state: the "amnesia tax");
4. uncached_context — the prefix already sent or generated before,
   min(input_i, input_{i-1} + output_{i-1}), minus cache_read_i; valued at
   (input − cached-input price).
A turn with n tool calls of which e are retries and r repeats gives floor(T·e/n) tokens to
error_retry and floor(T·r/n) to repeated_tool_call (T = its input + output tokens); only the
remaining (n−e−r)/n share of its uncached prefix counts as uncached_context. So claims on a
turn never exceed its tokens. Unknown stays unknown: a claim on a turn whose tokens are not
recorded has NULL tokens, and a turn without cache data has NULL uncached_context. A refused
call (failed, no counts, no cost: `Turn.refused`) processed nothing: its tokens are 0, and the
next turn's uncached prefix is measured against the turn before it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from analysis.stuck import StuckWindow, stagnant_turns
from analysis.turns import ToolCall, TraceTurns, Turn

CATEGORIES = ("stagnation", "error_retry", "repeated_tool_call", "uncached_context")
TRAJECTORY_COLUMNS = {
    "stagnation": "waste_stagnation_tokens",
    "error_retry": "waste_error_retry_tokens",
    "repeated_tool_call": "waste_repeated_tokens",
    "uncached_context": "waste_uncached_tokens",
}


@dataclass
class Finding:
    trace_id: str
    span_id: str
    category: str
    turn: int
    tokens: int | None
    usd: float | None
    evidence: dict[str, Any]


@dataclass
class TurnWaste:
    turn: Turn
    uncached: int | None
    claims: dict[str, int | None] = field(default_factory=dict)
    usd: dict[str, float | None] = field(default_factory=dict)
    stalled: bool = False


@dataclass
class TraceWaste:
    trace_id: str
    turns: list[TurnWaste]
    findings: list[Finding]

    def category_totals(self) -> dict[str, int | None]:
        """Tokens per category; None when any claim in it is unknown."""
        totals: dict[str, int | None] = dict.fromkeys(CATEGORIES, 0)
        for tw in self.turns:
            for category, tokens in tw.claims.items():
                known = totals[category]
                totals[category] = None if known is None or tokens is None else known + tokens
        return totals

    def category_tokens(self, category: str) -> int | None:
        return self.category_totals()[category]

    def waste_tokens(self) -> int | None:
        totals = self.category_totals().values()
        return None if None in totals else sum(totals)

    def waste_usd(self) -> float | None:
        values = [usd for tw in self.turns for usd in tw.usd.values()]
        return None if any(v is None for v in values) else sum(values)

    def waste_turns(self) -> int:
        whole_turn = set(CATEGORIES[:3])
        return sum(1 for tw in self.turns if whole_turn & set(tw.claims))


def analyse(trace: TraceTurns) -> TraceWaste:
    stagnant = stagnant_turns(trace.turns)
    retries, repeats = classify_calls(trace)
    result = TraceWaste(trace.trace_id, [], [])
    previous: Turn | None = None
    for turn in trace.turns:
        waste = TurnWaste(turn, uncached_tokens(turn, previous))
        if turn.index in stagnant:
            _claim_stagnation(result, waste, stagnant[turn.index], trace)
        else:
            _claim_calls(result, waste, retries[turn.index], repeats[turn.index])
            _claim_uncached(
                result, waste, previous, len(retries[turn.index]) + len(repeats[turn.index])
            )
        waste.stalled = turn.index in stagnant or bool(retries[turn.index]) or turn.errored
        result.turns.append(waste)
        if not turn.refused:  # a refused call sent nothing the next call could re-send
            previous = turn
    return result


def classify_calls(trace: TraceTurns) -> tuple[dict, dict]:
    """Turn index -> [(call, earlier span id)] for error retries and for repeated calls."""
    retries: dict[int, list[tuple[ToolCall, str]]] = defaultdict(list)
    repeats: dict[int, list[tuple[ToolCall, str]]] = defaultdict(list)
    first_seen: dict[tuple[str, str], str] = {}
    failed_in: dict[int, dict[tuple[str, str], str]] = defaultdict(dict)
    for index, call in trace.all_tool_calls():
        signature = call.signature
        if signature is None:
            continue
        if index > 0 and signature in failed_in[index - 1]:
            retries[index].append((call, failed_in[index - 1][signature]))
        elif signature in first_seen:
            repeats[index].append((call, first_seen[signature]))
        first_seen.setdefault(signature, call.span_id)
        if call.failed:
            failed_in[index][signature] = call.span_id
    return retries, repeats


def uncached_tokens(turn: Turn, previous: Turn | None) -> int | None:
    """Prefix already sent or generated before, not read from cache; None when unknown.
    `previous` is the last turn before that was not a refused call."""
    if previous is None or turn.refused:
        return 0
    values = (
        turn.get("input_tokens"),
        previous.get("input_tokens"),
        previous.get("output_tokens"),
        turn.get("cache_read_tokens"),
    )
    if any(v is None for v in values):
        return None
    given, before_in, before_out, cached = values
    return max(0, min(given, before_in + before_out) - cached)


def _claim_stagnation(result: TraceWaste, waste: TurnWaste, window: StuckWindow, trace) -> None:
    turn = waste.turn
    span_of = {t.index: t.span_id for t in trace.turns}
    waste.claims["stagnation"] = turn.tokens
    waste.usd["stagnation"] = turn.get("cost_usd")
    evidence = {
        "rule": window.rule,
        "first_span_id": span_of[window.first],
        "window_span_ids": [span_of[i] for i in window.turns],
    }
    _record(result, waste, "stagnation", evidence)


def _claim_calls(result: TraceWaste, waste: TurnWaste, retries: list, repeats: list) -> None:
    calls = len(waste.turn.tools)
    for category, pairs, earlier_key in (
        ("error_retry", retries, "failed_span_id"),
        ("repeated_tool_call", repeats, "earlier_span_id"),
    ):
        if not pairs:
            continue
        waste.claims[category] = _share(waste.turn.tokens, len(pairs), calls)
        cost = waste.turn.get("cost_usd")
        waste.usd[category] = None if cost is None else cost * len(pairs) / calls
        evidence = {
            "tool_calls_in_turn": calls,
            "calls": [
                {"span_id": c.span_id, "tool_name": c.tool_name, earlier_key: e} for c, e in pairs
            ],
        }
        _record(result, waste, category, evidence)


def _claim_uncached(
    result: TraceWaste, waste: TurnWaste, previous: Turn | None, taken: int
) -> None:
    calls = len(waste.turn.tools)
    free, whole = (calls - taken, calls) if calls else (1, 1)
    claim = 0 if free == 0 else _share(waste.uncached, free, whole)
    waste.claims["uncached_context"] = claim
    if claim == 0:
        return
    price, cached_price = waste.turn.get("input_per_mtok"), waste.turn.get("cached_per_mtok")
    known = claim is not None and price is not None
    waste.usd["uncached_context"] = claim * (price - cached_price) / 1e6 if known else None
    if claim is None:
        return
    evidence = {
        "previous_span_id": previous.span_id,
        "input_tokens": waste.turn.get("input_tokens"),
        "previous_input_tokens": previous.get("input_tokens"),
        "previous_output_tokens": previous.get("output_tokens"),
        "cache_read_tokens": waste.turn.get("cache_read_tokens"),
        "uncached_tokens": waste.uncached,
        "share_of_turn": f"{free}/{whole}",
    }
    _record(result, waste, "uncached_context", evidence)


def _share(tokens: int | None, part: int, whole: int) -> int | None:
    return None if tokens is None else tokens * part // whole


def _record(result: TraceWaste, waste: TurnWaste, category: str, evidence: dict) -> None:
    turn = waste.turn
    result.findings.append(
        Finding(
            result.trace_id,
            turn.span_id,
            category,
            turn.index,
            waste.claims[category],
            waste.usd.get(category),
            evidence,
        )
    )
