"""The typed reads pages call: KPIs, filters, one trajectory's detail, waste breakdowns,
per-model statistics and escalation events, on three hand-built runs.

q1 (agent-a, acme-mini, 3 turns, score 1): read a, read a again, a message. No cache reads,
   so turn 2 (a repeat, $0.0014) is repeated_tool_call waste (1100 tokens) and turn 3 has an
   uncached prefix of min(1000, 1100) = 1000 tokens ($0.0009 at 1.00 − 0.10).
q2 (agent-b, acme-max, 1 turn, score 0), one day later, in its own upload.
q3 (agent-a, acme-mini then acme-max, score 1): escalated with no prior signal; its second
   turn has 1000 uncached tokens valued at (4.00 − 0.40) → $0.0036.
Each turn reads 1000 tokens and writes 100: $0.0014 on acme-mini, $0.0056 on acme-max.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

from analysis import fleet, queries
from analysis import trajectory_queries as tq
from analysis.filters import TrajectoryFilter
from tests.analysis_builders import BASE, Call, T, ingest_spans, trajectory, use_acme_prices

DAY_MS = 86_400_000


@pytest.fixture
def store(con, tmp_path):
    use_acme_prices(con)
    q1 = [
        T(calls=[Call("read", {"f": "a"}, "A")]),
        T(calls=[Call("read", {"f": "a"}, "A")]),
        T(message="done"),
    ]
    q3 = [T(model="acme-mini", message="a"), T(model="acme-max", message="b")]
    ingest_spans(
        con, tmp_path, "q1.jsonl", trajectory("q1", q1, task_id="T1", score=1, session="s1")
    )
    ingest_spans(
        con,
        tmp_path,
        "rest.jsonl",
        trajectory(
            "q2", [T()], model="acme-max", task_id="T1", score=0, agent="agent-b", start_ms=DAY_MS
        )
        + trajectory("q3", q3, task_id="T3", score=1),
    )
    return con


@pytest.fixture
def first_upload(store) -> str:
    with store.cursor() as cur:
        return cur.execute("SELECT upload_id FROM uploads WHERE filename = 'q1.jsonl'").fetchone()[
            0
        ]


def ids(frame) -> list[str]:
    return sorted(frame["trace_id"].to_list())


def test_kpis(store):
    k = queries.kpis(store)
    assert (k.trajectories, k.judged, k.successes, k.scored, k.escalated) == (3, 3, 2, 3, 1)
    assert k.mean_score == pytest.approx(2 / 3)
    assert (k.with_tokens, k.total_tokens) == (3, 6600)
    assert k.cost_usd == pytest.approx(0.0042 + 0.0056 + 0.007)
    assert (k.with_waste, k.waste_tokens, k.waste_base_tokens) == (3, 3100, 6600)
    assert k.waste_share == pytest.approx(3100 / 6600)
    assert k.waste_usd == pytest.approx(0.0014 + 0.0009 + 0.0036)


def test_trajectory_list_filters_are_bound_parameters(store, first_upload):
    def listed(**kw):
        return ids(queries.trajectory_list(store, TrajectoryFilter(**kw)))

    assert listed(agent="agent-a") == ["q1", "q3"]
    assert listed(model="acme-max") == ["q2", "q3"]
    assert listed(session="s1") == ["q1"]
    assert listed(task="task:T1") == ["q1", "q2"]
    assert listed(outcome="failure") == ["q2"]
    assert listed(verdict="escalation_premature") == ["q3"]
    assert listed(since=BASE + timedelta(hours=12)) == ["q2"]
    assert listed(until=BASE + timedelta(hours=12)) == ["q1", "q3"]
    assert listed(upload=first_upload) == ["q1"]
    assert listed(agent="agent-a'; DROP TABLE spans; --") == []
    assert queries.trajectory_count(store, TrajectoryFilter(agent="agent-a")) == 2


def test_trajectory_list_sorts_from_an_allow_list(store):
    frame = queries.trajectory_list(store, sort="cost_usd", descending=True)
    assert frame["trace_id"].to_list() == ["q3", "q2", "q1"]
    with pytest.raises(ValueError, match="cannot sort by"):
        queries.trajectory_list(store, sort="cost_usd; DROP TABLE spans")


def test_one_trajectory_detail(store):
    assert queries.trajectory(store, "q1")["turns"] == 3
    assert queries.trajectory(store, "missing") is None
    assert queries.spans(store, "q1").height == 6  # root, 3 LLM calls, 2 tool calls
    turns = queries.turn_table(store, "q1")
    assert turns.select("turn", "tool_calls", "waste_tokens").rows() == [
        (1, 1, 0),
        (2, 1, 1100),
        (3, 0, 1000),
    ]
    growth = tq.context_growth(tq.turn_rows(store, "q1"))
    assert growth["cumulative_input_tokens"].to_list() == [1000, 2000, 3000]
    assert queries.findings(store, "q1").select("turn", "category", "tokens").rows() == [
        (2, "repeated_tool_call", 1100),
        (3, "uncached_context", 1000),
    ]
    found = queries.verdict(store, "q3")
    assert (found.verdict, found.evidence["escalation_span_id"]) == (
        "escalation_premature",
        "q3-llm2",
    )


def test_waste_by_category_agent_and_day(store):
    by_category = fleet.waste_by(store, "category").select("key", "findings", "tokens").rows()
    assert by_category == [("repeated_tool_call", 1, 1100), ("uncached_context", 2, 2000)]
    by_agent = fleet.waste_by(store, "agent").select("key", "category", "tokens").rows()
    assert by_agent == [
        ("agent-a", "repeated_tool_call", 1100),
        ("agent-a", "uncached_context", 2000),
    ]
    by_day = fleet.waste_by(store, "day", TrajectoryFilter(agent="agent-a"))
    assert {str(d) for d in by_day["key"]} == {"2025-03-01"}
    with pytest.raises(ValueError):
        fleet.waste_by(store, "agent_name; --")


def test_model_stats(store):
    stats = {r["model"]: r for r in fleet.model_stats(store).iter_rows(named=True)}
    mini = stats["acme-mini"]
    assert (mini["calls"], mini["input_tokens"], mini["output_tokens"]) == (4, 4000, 400)
    assert mini["cache_hit_rate"] == 0.0
    assert (mini["trajectories"], mini["successes"]) == (2, 2)  # q3 ties 1:1, first model wins
    assert mini["cost_per_trajectory"] == pytest.approx((0.0042 + 0.007) / 2)
    assert mini["cost_per_success"] == pytest.approx((0.0042 + 0.007) / 2)
    assert mini["score_per_1k_tokens"] == pytest.approx(100 / 2750 * 1000)
    assert mini["listed_per_mtok"] == 5.0
    assert mini["effective_usd_per_mtok"] == pytest.approx(4 * 0.0014 / 4400 * 1e6)
    assert stats["acme-max"]["cost_per_success"] is None


def test_escalation_events(store):
    events = fleet.escalation_events(store)
    assert events.select(
        "trace_id",
        "verdict",
        "from_model",
        "to_model",
        "signal_turns",
        "turns_before",
        "turns_after",
    ).rows() == [("q3", "escalation_premature", "acme-mini", "acme-max", 0, 1, 1)]


def test_waste_breakdowns_count_only_the_runs_the_kpis_measure(con, tmp_path):
    """A run with a turn lacking token counts has unknown waste: its repeated call (1100
    tokens, $0.0014) is a finding the tiles leave out, so every breakdown leaves it out of
    its amounts too, counting it as a finding not counted."""
    use_acme_prices(con)
    repeat = [T(calls=[Call("read", {"f": "a"}, "A")]), T(calls=[Call("read", {"f": "a"}, "A")])]
    ingest_spans(
        con,
        tmp_path,
        "runs.jsonl",
        trajectory("measured", [*repeat, T(message="done")])
        + trajectory("unmeasured", [*repeat, T(input=None, output=None)]),
    )
    k = queries.kpis(con)
    assert (k.with_waste, k.waste_tokens, k.with_waste_usd) == (1, 2100, 1)
    for by in ("category", "agent", "model", "day"):
        totals = fleet.waste_by(con, by).select(
            pl.col("findings", "findings_with_tokens", "findings_with_usd").sum(),
            pl.col("tokens").cast(pl.Int64).sum(),
            pl.col("usd").sum(),
        )
        assert totals.rows() == [(3, 2, 2, k.waste_tokens, pytest.approx(k.waste_usd))], by
