"""The ingest rollup (SQL, analysis.turn_sql) against the per-trace reference (analysis.turns,
stuck, waste) on random trajectories: same turns, same findings, same trajectory totals.

Trajectories go through the real write path (store.writes.write_spans with the ingest
refresh) into a DuckDB file; their stored spans are then read back, priced and ordered here
in Python, and handed to the reference. Every value is compared exactly, floats included:
the SQL promises the very floats the reference computes.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from analysis.refresh import refresh_for_traces
from analysis.stage import SHORT_OUTPUT_CHARS
from analysis.turns import TraceTurns, Turn, group_rows
from analysis.waste import CATEGORIES, TRAJECTORY_COLUMNS, TraceWaste, analyse
from ingest.canonical import to_table
from store import db
from store.writes import UploadMeta, write_spans
from tests.analysis_builders import ACME_PRICES, use_acme_prices

# "a b" sorts differently as a tuple than as JSON text; a tool span without tool_name is
# named by its span name, here "run", so it equals a "run" call.
TOOLS = ["read", "run", "a b", None]
ARGS = [
    '{"f": "a"}', '{"f":"a"}', '{"a": 1, "b": 2}', '{"b":2,"a":1}', "not json", " not json ",
    '{"n": 1}', '{"n": 1.0}', '{"n": NaN}', "12345678901234567890", '{"x": 1e-05}',
    '{"q": "\\u00e9"}', '{"q": "é"}', '{"x": 1e400}', '{"x": Infinity}', "", "  ", None,
]  # fmt: skip
TOOL_OUTPUTS = ["A", "A", "B", "", None]
LONG = "x" * (SHORT_OUTPUT_CHARS + 1)
REPLIES = [
    "I am stuck", '{"content": "I am stuck"}', '{"id": "r1", "content": "hi"}',
    '{"id": "r2", "content": "hi"}', '{"choices": [{"message": {"content": "hi"}}]}', "hi",
    "", "   ", '{"content": ""}', "null", "[]", "42", '{"tool_calls": [{"name": "read"}]}',
    " I am stuck\n", '{"role": "assistant"}', '{"function_call": {"name": "read"}}',
    LONG, LONG + "y", None,
]  # fmt: skip
MODELS = ["acme-mini", "acme-mini-2024", "ACME-MID", "openai/acme-max", "tiny", "acme-local",
          "mystery", None]  # fmt: skip
STATUSES = ["ok", "ok", "error", "unset"]
BASE_NS = int(datetime(2025, 3, 1, 12, tzinfo=UTC).timestamp()) * 1_000_000_000
STEP_NS = 1_000_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Call:
    tool: str | None
    args: str | None
    output: str | None = "A"
    status: str = "ok"


@dataclass(frozen=True)
class Step:
    """One LLM call and the tool calls issued after it."""

    reply: str | None = "hi"
    calls: tuple[Call, ...] = ()
    status: str = "ok"
    model: str | None = "acme-mini"
    input: int | None = 1000
    output: int | None = 100
    cache_read: int | None = 0
    reasoning: int | None = None
    cache_write: int | None = None
    cost: float | None = None


@dataclass(frozen=True)
class Timing:
    """How one span's start and seq relate to the span before it."""

    start: str = "next"  # next | tie (same as the span before) | none
    seq: str = "next"  # next | tie | none
    duration_ms: int | None = 50


@dataclass(frozen=True)
class TraceSpec:
    steps: tuple[Step, ...]
    early: tuple[Call, ...] = ()  # tool calls before the first LLM call
    root: bool = True
    timings: tuple[Timing, ...] = ()  # per span in order; missing ones are Timing()
    order: tuple[int, ...] = ()  # a permutation numbering the span ids; default 0, 1, …


# ---- strategies ---------------------------------------------------------------------------

# A few negative counts too: the claims' floor division must round as Python's does.
tokens = st.one_of(st.none(), st.integers(-3, 4000), st.integers(0, 4000), st.integers(0, 4000))
calls = st.builds(
    Call,
    st.sampled_from(TOOLS),
    st.sampled_from(ARGS),
    st.sampled_from(TOOL_OUTPUTS),
    st.sampled_from(STATUSES),
)
# Calls whose signature and result are both recorded: the only turns that can alternate.
known_calls = st.builds(
    Call,
    st.sampled_from(TOOLS),
    st.sampled_from([a for a in ARGS if a is not None]),
    st.sampled_from([o for o in TOOL_OUTPUTS if o is not None]),
    st.sampled_from(STATUSES),
)


@st.composite
def trace_specs(draw) -> TraceSpec:
    """A few turn shapes, repeated and alternated so the stuck rules have runs to find;
    token counts, costs and timings vary per turn."""
    shapes = draw(
        st.lists(
            st.tuples(
                st.sampled_from(REPLIES),
                st.one_of(
                    st.just([]),
                    st.lists(calls, max_size=3),
                    st.lists(known_calls, min_size=1, max_size=2),
                ).map(tuple),
                st.sampled_from(STATUSES),
                st.sampled_from(MODELS),
            ),
            min_size=2,
            max_size=3,
        )
    )
    if draw(st.booleans()):  # the same action with another result: only the result alternates
        reply, tool_calls, status, model = shapes[0]
        outputs = st.sampled_from(TOOL_OUTPUTS)
        shapes[1] = (
            reply,
            tuple(replace(c, output=draw(outputs)) for c in tool_calls),
            status,
            model,
        )
    blocks = draw(
        st.lists(
            st.tuples(
                st.one_of(
                    st.lists(st.integers(0, len(shapes) - 1), min_size=1, max_size=2),
                    st.just([0, 1]),  # A-B alternation
                ),
                st.integers(1, 7),
            ),
            max_size=4,
        )
    )
    sequence = [i for pattern, times in blocks for _ in range(times) for i in pattern][:14]
    steps = []
    for i in sequence:
        reply, tool_calls, status, model = shapes[i]
        steps.append(
            Step(
                reply,
                tool_calls,
                status,
                model,
                draw(tokens),
                draw(tokens),
                draw(st.one_of(st.none(), st.integers(0, 3000), st.integers(0, 300))),
                draw(st.one_of(st.none(), st.integers(0, 100))),
                draw(st.one_of(st.none(), st.integers(0, 500))),
                draw(st.one_of(st.none(), st.floats(0, 1, allow_subnormal=False))),
            )
        )
    early = tuple(draw(st.lists(calls, max_size=2)))
    root = draw(st.booleans()) or not (steps or early)
    n_spans = int(root) + len(early) + sum(1 + len(s.calls) for s in steps)
    timing = st.builds(
        Timing,
        st.sampled_from(["next", "next", "tie", "none"]),
        st.sampled_from(["next", "tie", "none"]),
        st.sampled_from([50, 0, None]),
    )
    messy = draw(st.sampled_from([False, False, True]))  # reordered spans break runs
    timings = draw(st.lists(timing, min_size=n_spans, max_size=n_spans)) if messy else []
    order = draw(st.permutations(range(n_spans)))
    return TraceSpec(tuple(steps), early, root, tuple(timings), tuple(order))


# ---- spans --------------------------------------------------------------------------------


def span_rows(trace_id: str, spec: TraceSpec) -> list[dict]:
    """The spec as span dicts for ingest.canonical.to_table, in the order they happened."""
    parts: list[tuple[str, Step | Call | None]] = [("agent", None)] if spec.root else []
    parts += [("tool", call) for call in spec.early]
    for step in spec.steps:
        parts += [("llm", step)] + [("tool", call) for call in step.calls]
    span_ids = [f"{trace_id}/{spec.order[n] if spec.order else n:02d}" for n in range(len(parts))]
    root_id = span_ids[0] if spec.root else None
    rows: list[dict] = []
    start, seq = None, None
    for n, (kind, part) in enumerate(parts):
        timing = spec.timings[n] if n < len(spec.timings) else Timing()
        start = {"next": BASE_NS + n * STEP_NS, "tie": start, "none": None}[timing.start]
        seq = {"next": n, "tie": seq, "none": None}[timing.seq]
        row = {
            "trace_id": trace_id,
            "span_id": span_ids[n],
            "parent_id": None if kind == "agent" else root_id,
            "source": "test",
            "name": kind,
            "kind": kind,
            "start_ns": start,
            "end_ns": None
            if timing.duration_ms is None
            else (BASE_NS + n * STEP_NS if start is None else start)
            + timing.duration_ms * 1_000_000,
            "status": "ok",
            "seq": seq,
        }
        if isinstance(part, Call):
            row |= {
                "name": f"execute_tool {part.tool}" if part.tool else "run",
                "status": part.status,
                "tool_name": part.tool,
                "tool_args": part.args,
                "output": part.output,
            }
        elif isinstance(part, Step):
            row |= {
                "name": "chat",
                "status": part.status,
                "model": part.model,
                "output": part.reply,
                "input_tokens": part.input,
                "output_tokens": part.output,
                "cache_read_tokens": part.cache_read,
                "reasoning_tokens": part.reasoning,
                "cache_write_tokens": part.cache_write,
                "cost_usd": part.cost,
            }
        rows.append(row)
    return rows


# ---- the reference, from the stored spans -------------------------------------------------

SPANS_SQL = """
SELECT trace_id, span_id, kind, name, status, model, start_time, end_time, duration_ms, seq,
       input_tokens, output_tokens, reasoning_tokens, cache_read_tokens, cache_write_tokens,
       cost_usd, tool_name, tool_args, output
FROM spans WHERE list_contains(?, trace_id)
"""


def epoch_us(moment: datetime | None) -> int | None:
    return None if moment is None else (moment - EPOCH) // timedelta(microseconds=1)


def _like(pattern: str, text: str) -> bool:
    regex = "".join(
        ".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern.lower()
    )
    return re.fullmatch(regex, text, re.DOTALL) is not None


def price_of(model: str | None) -> tuple | None:
    """The ACME_PRICES row that prices `model`: longest matching pattern, also without a
    provider prefix (analysis.cost.MATCH_MODELS_SQL)."""
    if model is None:
        return None
    names = (model.lower(), re.sub(r"^.*/", "", model.lower()))
    matches = [p for p in ACME_PRICES if any(_like(p[0], name) for name in names)]
    return min(matches, key=lambda p: (-len(p[0]), p[0]), default=None)


def call_cost(span: dict, price: tuple | None) -> float | None:
    """DESIGN §2 cost of one LLM call, computed where priced, else the reported cost."""
    if price is not None:
        _, _, given, cached, write, made, gpu, _ = price
        tin, tout = span["input_tokens"], span["output_tokens"]
        if given is not None and made is not None and tin is not None and tout is not None:
            cr, cw = span["cache_read_tokens"] or 0, span["cache_write_tokens"] or 0
            return (
                max(tin - cr - cw, 0) * given
                + cr * (given if cached is None else cached)
                + cw * (given if write is None else write)
                + tout * made
            ) / 1e6
        if given is None and gpu is not None and span["duration_ms"] is not None:
            return gpu * span["duration_ms"] / 3.6e6
    refused = span["status"] == "error" and span["input_tokens"] is None
    if refused and span["output_tokens"] is None and span["cost_usd"] is None:
        return 0.0  # a refused call: nothing processed, nothing billed
    return span["cost_usd"]


def load_traces(con, trace_ids: list[str]) -> list[TraceTurns]:
    """Stored spans as the rows analysis.turns.group_rows reads, in trajectory order:
    start time, then seq, LLM before tool, then span id (NULLs last)."""
    with con.cursor() as cur:
        result = cur.execute(SPANS_SQL, [trace_ids])
        names = [column[0] for column in result.description]
        spans = [dict(zip(names, values, strict=True)) for values in result.fetchall()]
    starts: dict[str, list[int]] = {}
    for span in spans:
        start = epoch_us(span["start_time"])
        starts.setdefault(span["trace_id"], [])
        if start is not None:
            starts[span["trace_id"]].append(start)
    rows = []
    for span in spans:
        if span["kind"] not in ("llm", "tool"):
            continue
        output, price = span["output"], price_of(span["model"])
        given, cached = (None, None) if price is None else (price[2], price[3])
        rows.append(
            span
            | {
                "start_us": epoch_us(span["start_time"]),
                "end_us": epoch_us(span["end_time"]),
                "trace_start_us": min(starts[span["trace_id"]], default=None),
                "tool_name": span["tool_name"] if span["tool_name"] is not None else span["name"],
                "output_hash": None if output is None else hashlib.md5(output.encode()).hexdigest(),
                "short_output": output
                if output is not None and len(output) <= SHORT_OUTPUT_CHARS
                else None,
                "cost_usd": call_cost(span, price) if span["kind"] == "llm" else None,
                "reported_usd": span["cost_usd"],
                "input_per_mtok": given,
                "cached_per_mtok": given if cached is None else cached,
            }
        )
    rows.sort(
        key=lambda r: (
            r["trace_id"],
            r["start_us"] is None,
            r["start_us"] or 0,
            r["seq"] is None,
            r["seq"] or 0,
            r["kind"] != "llm",
            r["span_id"],
        )
    )
    found = {trace.trace_id: trace for trace in group_rows(rows)}
    return [found.get(t, TraceTurns(t, min(starts[t], default=None), [], [])) for t in trace_ids]


def _growth(turn: Turn, previous: Turn | None) -> int | None:
    if previous is None:
        return None
    now, before = turn.get("input_tokens"), previous.get("input_tokens")
    return None if now is None or before is None else now - before


def reference_turns(trace: TraceTurns, waste: TraceWaste) -> list[tuple]:
    out, previous = [], None
    for tw in waste.turns:
        turn, claims, usd = tw.turn, list(tw.claims.values()), list(tw.usd.values())
        end = turn.end_us()
        offset = None if end is None or trace.start_us is None else (end - trace.start_us) / 1000.0
        out.append(
            (
                trace.trace_id,
                turn.index,
                turn.span_id,
                turn.get("cost_usd"),
                len(turn.tools),
                sum(1 for tool in turn.tools if tool.failed),
                _growth(turn, previous),
                tw.uncached,
                None if None in claims else sum(claims),
                None if None in usd else sum(usd),
                tw.stalled,
                offset,
            )
        )
        previous = turn if not turn.refused else previous
    return out


def reference_findings(waste: TraceWaste) -> list[tuple]:
    return [
        (
            f.trace_id,
            f.turn,
            f.category,
            f.span_id,
            f.tokens,
            f.usd,
            json.dumps(f.evidence, sort_keys=True),
        )
        for f in waste.findings
    ]


def _ratio(turns: list[Turn], top: str, bottom: str) -> float | None:
    known = [(t.get(top), t.get(bottom)) for t in turns]
    known = [(a, b) for a, b in known if a is not None and b is not None]
    total = sum(b for _, b in known)
    return sum(a for a, _ in known) / total if total else None


def reference_trajectory(trace: TraceTurns, waste: TraceWaste) -> tuple:
    totals = waste.category_totals()
    turns = trace.turns
    growth, previous = [], None
    for turn in turns:
        if (g := _growth(turn, previous)) is not None:
            growth.append(g)
        previous = turn if not turn.refused else previous
    return (
        trace.trace_id,
        waste.waste_tokens(),
        waste.waste_usd(),
        waste.waste_turns(),
        *(totals[c] for c in CATEGORIES),
        _ratio(turns, "cache_read_tokens", "input_tokens") if turns else None,
        _ratio(turns, "reasoning_tokens", "output_tokens") if turns else None,
        sum(growth) / len(growth) if growth else None,
        _ratio(turns, "input_tokens", "output_tokens") if turns else None,
    )


def reference(con, trace_ids: list[str]) -> dict[str, list[tuple]]:
    got: dict[str, list[tuple]] = {"turns": [], "findings": [], "trajectories": []}
    for trace in load_traces(con, trace_ids):
        waste = analyse(trace)
        got["turns"] += reference_turns(trace, waste)
        got["findings"] += reference_findings(waste)
        got["trajectories"].append(reference_trajectory(trace, waste))
    return {name: sorted(values, key=repr) for name, values in got.items()}


# ---- the production rollup ----------------------------------------------------------------

SQL = {
    "turns": """
        SELECT trace_id, turn, span_id, cost_usd, tool_calls, tool_errors, context_growth,
               uncached_tokens, waste_tokens, waste_usd, stalled, end_offset_ms
        FROM turns WHERE list_contains(?, trace_id)""",
    "findings": """
        SELECT trace_id, turn, category, span_id, tokens, usd, evidence
        FROM findings WHERE list_contains(?, trace_id)""",
    "trajectories": f"""
        SELECT trace_id, waste_tokens, waste_usd, waste_turns,
               {", ".join(TRAJECTORY_COLUMNS[c] for c in CATEGORIES)},
               cache_hit_rate, reasoning_share, context_growth, io_ratio
        FROM trajectories WHERE list_contains(?, trace_id)""",
}


def stored(con, trace_ids: list[str]) -> dict[str, list[tuple]]:
    out = {}
    with con.cursor() as cur:
        for name, sql in SQL.items():
            values = cur.execute(sql, [trace_ids]).fetchall()
            if name == "findings":  # evidence as the reference writes it: json.dumps
                values = [(*r[:6], json.dumps(json.loads(r[6]), sort_keys=True)) for r in values]
            out[name] = sorted(values, key=repr)
    return out


# ---- the tests ----------------------------------------------------------------------------

_uploads = itertools.count()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("differential") / "store.duckdb"
    con = db.connect(path)
    use_acme_prices(con)
    yield con
    db.close(path)


def ingest(con, specs: list[TraceSpec]) -> list[str]:
    """Write the trajectories in one upload through the production write path."""
    number = next(_uploads)
    trace_ids = [f"u{number}t{i}" for i in range(len(specs))]
    rows = [
        row
        for trace_id, spec in zip(trace_ids, specs, strict=True)
        for row in span_rows(trace_id, spec)
    ]
    meta = UploadMeta(f"upload{number}.jsonl", f"sha-{number}", "span_jsonl", 1)
    write_spans(con, to_table(rows), meta, refresh=refresh_for_traces)
    return trace_ids


def assert_same(con, specs: list[TraceSpec]) -> list[tuple]:
    trace_ids = ingest(con, specs)
    got, expected = stored(con, trace_ids), reference(con, trace_ids)
    assert got["turns"] == expected["turns"]
    assert got["findings"] == expected["findings"]
    assert got["trajectories"] == expected["trajectories"]
    return got["findings"]


SEARCH = Call("search", '{"q": "x"}', "nothing")
FAIL = Call("run", '{"cmd": "make"}', "Error: 2", "error")
A, B = Call("read", '{"f": "a"}', "x"), Call("read", '{"f": "b"}', "y")
# Every stuck rule and every waste category at least once, whatever Hypothesis draws.
EVERY_RULE = TraceSpec(
    steps=(
        *(Step(None, (SEARCH,), cache_read=1000) for _ in range(4)),  # same action+result
        *(Step(None, (FAIL,), cache_read=1000) for _ in range(3)),  # same action, error
        Step(None, (Call("fetch", '{"id": 1}', "boom", "error"),)),
        Step(None, (Call("fetch", '{"id":1}', "data"), A), cache_read=500),  # retry + uncached
        *(Step(None, (A if i % 2 == 0 else B,), cache_read=1000) for i in range(6)),  # A-B-A-B
        *(Step("I am not sure.", cache_read=1000) for _ in range(3)),  # same message
        *(Step("", cache_read=1000) for _ in range(3)),  # empty replies
    )
)


# The same failing action with alternating results: same_action_error and alternation both
# hold turns 2-6, and same_action_error comes first.
ERRORS_ALTERNATING = TraceSpec(
    steps=tuple(Step(None, (replace(FAIL, output=f"Error: {i % 2}"),)) for i in range(6))
)


@settings(max_examples=60, deadline=None)
@example([EVERY_RULE, ERRORS_ALTERNATING])
@given(st.lists(trace_specs(), min_size=1, max_size=3))
def test_sql_rollup_equals_the_python_reference(store, specs):
    findings = assert_same(store, specs)
    for _, _, category, _, _, _, evidence in findings:  # --hypothesis-show-statistics
        rule = json.loads(evidence).get("rule")
        event(f"finding: {category}" + (f" ({rule})" if rule else ""))


def test_tool_arguments_escaping_a_lone_surrogate(con):
    """JSON text "\\ud800" (a JavaScript string cut mid-emoji) decodes to a lone surrogate,
    which Arrow cannot hold: the second call is still found a repeat of the first."""
    use_acme_prices(con)
    first = Call("read", '{"q": "\\ud800"}')
    spec = TraceSpec((Step(None, (first,)), Step(None, (replace(first, args='{"q":"\\ud800"}'),))))
    trace_id = ingest(con, [spec])[0]
    calls = [
        {"earlier_span_id": f"{trace_id}/02", "span_id": f"{trace_id}/04", "tool_name": "read"}
    ]
    evidence = {"calls": calls, "tool_calls_in_turn": 1}
    # turn 2: (1000 × $1.00 + 100 × $4.00) / 1e6; its only call is a repeat, so no uncached share
    expected = [(trace_id, 2, "repeated_tool_call", f"{trace_id}/03", 1100, 0.0014, evidence)]
    got = stored(con, [trace_id])["findings"]
    assert [(*f[:6], json.loads(f[6])) for f in got] == expected
    assert reference(con, [trace_id])["findings"] == got


def test_replies_escaping_a_lone_surrogate_are_fingerprinted_like_any_other(con):
    """Three equal replies whose JSON escapes a lone surrogate: the same-message rule holds
    turns 1-3 on both sides (the fingerprint hashed the text's UTF-8 and raised before)."""
    use_acme_prices(con)
    reply = '{"content": "half an emoji \\ud83d"}'
    (trace_id,) = ingest(con, [TraceSpec(tuple(Step(reply, cache_read=1000) for _ in range(3)))])
    got = stored(con, [trace_id])
    assert [(f[2], f[1], json.loads(f[6])["rule"]) for f in got["findings"]] == [
        ("stagnation", 2, "same_message"),
        ("stagnation", 3, "same_message"),
    ]
    assert reference(con, [trace_id]) == got
