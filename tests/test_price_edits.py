"""analysis.price_edits: a price or tier edit recomputes every figure; a bad edit changes nothing.

Trajectories and prices as in tests/test_fleet_queries.py (acme-mini $1 / $0.10 cached /
$4 output per Mtok, acme-max $4 / $0.40 / $16; every turn 1,000 input tokens, none cached,
and 100 output tokens).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from analysis import price_edits
from analysis.price_edits import PriceEditError, price_rows, reset_prices, save_prices
from store.prices import DEFAULT_PRICES, PRICE_COLUMNS
from tests.analysis_builders import Call, T, ingest_spans, rows, trajectory, use_acme_prices

COSTS_SQL = "SELECT trace_id, cost_usd, waste_usd FROM trajectories ORDER BY trace_id"
TURN_COSTS_SQL = "SELECT trace_id, turn, cost_usd FROM turns ORDER BY trace_id, turn"
VERDICTS_SQL = "SELECT trace_id, tier, escalated, verdict FROM trajectories ORDER BY trace_id"
MODELS_SQL = f"SELECT {', '.join(PRICE_COLUMNS)} FROM models ORDER BY pattern"


@pytest.fixture
def store(con, tmp_path):
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
    )
    ingest_spans(con, tmp_path, "prices.jsonl", spans)
    return con


def edited(con, pattern: str, **changes) -> list[dict]:
    table = price_rows(con).to_dicts()
    for row in table:
        if row["pattern"] == pattern:
            row.update(changes)
    return table


def snapshot(con) -> tuple:
    return tuple(rows(con, sql) for sql in (MODELS_SQL, COSTS_SQL, TURN_COSTS_SQL, VERDICTS_SQL))


def test_editing_a_price_recomputes_every_cost(store):
    steps: list[tuple[str, float]] = []
    result = save_prices(
        store, edited(store, "acme-mini%", input_per_mtok=2.0), lambda *step: steps.append(step)
    )
    assert (result.price_rows, result.trajectories) == (6, 3)
    assert steps == [
        ("Writing 6 price rows…", 0.0),
        (
            "Recomputing cost, waste, tiers and verdicts of 3 trajectories "
            "(about a minute per million spans)…",
            0.05,
        ),
        ("Done.", 1.0),
    ]
    mini, big = (1000 * 2.0 + 100 * 4.0) / 1e6, (1000 * 4.0 + 100 * 16.0) / 1e6
    uncached_mini, uncached_max = 1000 * (2.0 - 0.10) / 1e6, 1000 * (4.0 - 0.40) / 1e6
    got = rows(store, COSTS_SQL)
    assert [r[0] for r in got] == ["esc", "large-ok", "small-ok"]
    assert [r[1] for r in got] == pytest.approx([3 * mini + big, big, 2 * mini])
    # esc: turns 2-3 are stagnation (whole turn), turn 4 an uncached prefix on acme-max
    assert [r[2] for r in got] == pytest.approx([2 * mini + uncached_max, 0.0, uncached_mini])
    turn_costs = [r[2] for r in rows(store, TURN_COSTS_SQL)]
    assert turn_costs == pytest.approx([mini, mini, mini, big, big, mini, mini])
    assert rows(store, "SELECT input_per_mtok FROM models WHERE pattern = 'acme-mini%'") == [(2.0,)]


def test_editing_a_tier_recomputes_escalation_and_verdicts(store):
    assert rows(store, VERDICTS_SQL) == [
        ("esc", "large", True, "escalation_needed"),
        ("large-ok", "large", False, "over_provisioned"),
        ("small-ok", "small", False, "small_sufficient"),
    ]
    save_prices(store, edited(store, "acme-max%", tier="small"))
    assert rows(store, VERDICTS_SQL) == [
        ("esc", "small", False, "small_sufficient"),
        ("large-ok", "small", False, "small_sufficient"),
        ("small-ok", "small", False, "small_sufficient"),
    ]


def test_an_empty_tier_is_derived_from_the_listed_price(store):
    # acme-max lists 4 + 16 = $20 per Mtok: at or above $10 is `large`
    save_prices(store, edited(store, "acme-max%", tier=None))
    assert rows(store, "SELECT tier FROM trajectories WHERE trace_id = 'large-ok'") == [("large",)]
    assert rows(store, "SELECT tier FROM models WHERE pattern = 'acme-max%'") == [(None,)]


def test_reset_restores_the_shipped_defaults_and_recomputes(store):
    save_prices(store, edited(store, "acme-mini%", input_per_mtok=9.0))
    result = reset_prices(store)
    assert result.price_rows == len(DEFAULT_PRICES)
    expected = sorted(DEFAULT_PRICES, key=lambda row: row[0])
    assert rows(store, MODELS_SQL) == [tuple(row) for row in expected]
    # The defaults price no acme model and the spans report no cost: cost is not recorded,
    # and so is the dollar value of waste, except large-ok's: one turn, no prefix, nothing wasted.
    assert rows(store, COSTS_SQL) == [
        ("esc", None, None),
        ("large-ok", None, 0.0),
        ("small-ok", None, None),
    ]
    assert rows(store, "SELECT DISTINCT tier FROM trajectories") == [(None,)]


@pytest.mark.parametrize(
    ("index", "change", "problem"),
    [
        (0, {"pattern": "  "}, "row 1: the model pattern is empty"),
        (1, {"pattern": "ACME-LOCAL%"}, "row 2: pattern 'ACME-LOCAL%' repeats row 1"),
        (1, {"tier": "huge"}, "row 2: tier 'huge' is not one of small, medium, large"),
        (1, {"input_per_mtok": -1.0}, "row 2: input_per_mtok must be a number ≥ 0, not -1.0"),
        (1, {"output_per_mtok": "cheap"}, "row 2: output_per_mtok 'cheap' is not a number"),
        (1, {"vram_gb": float("inf")}, "row 2: vram_gb must be a number ≥ 0, not inf"),
    ],
)
def test_an_invalid_edit_is_refused_and_changes_nothing(store, index, change, problem):
    before = snapshot(store)
    table = price_rows(store).to_dicts()
    assert [r["pattern"] for r in table[:2]] == ["acme-local%", "acme-max%"]
    table[index].update(change)
    with pytest.raises(PriceEditError) as refused:
        save_prices(store, table)
    assert len(refused.value.problems) == 1
    assert refused.value.problems[0].startswith(problem)
    assert snapshot(store) == before


def test_every_problem_is_reported_at_once(store):
    table = price_rows(store).to_dicts()
    table[0]["tier"] = "xl"
    table[1]["input_per_mtok"] = -2
    with pytest.raises(PriceEditError) as refused:
        save_prices(store, table)
    assert refused.value.problems == [
        "row 1: tier 'xl' is not one of small, medium, large (or empty, to derive it from the "
        "listed price)",
        "row 2: input_per_mtok must be a number ≥ 0, not -2",
    ]


def test_an_empty_table_is_refused(store):
    before = snapshot(store)
    with pytest.raises(PriceEditError, match="the price table cannot be empty"):
        save_prices(store, [])
    assert snapshot(store) == before


def test_a_failed_recompute_rolls_the_price_edit_back(store, monkeypatch):
    before = snapshot(store)

    def fail(cur):
        raise RuntimeError("disk full")

    monkeypatch.setattr(price_edits, "refresh_all", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        save_prices(store, edited(store, "acme-mini%", input_per_mtok=5.0))
    assert snapshot(store) == before


STOPS_SQL = "SELECT trace_id, k, turn, cost_usd, end_offset_ms FROM routing_stops ORDER BY 1, 2"
TASK_TIERS_SQL = "SELECT task_key, tier, runs, cost_usd FROM task_tiers ORDER BY 1, 2"


def test_a_price_edit_recomputes_the_routing_stops_and_the_per_task_tiers(store):
    mini, big = (1000 * 2.0 + 100 * 4.0) / 1e6, (1000 * 4.0 + 100 * 16.0) / 1e6
    save_prices(store, edited(store, "acme-mini%", input_per_mtok=2.0))
    # esc: turns 1-3 stall (their tool call fails), each ending 150 ms after the last
    assert rows(store, STOPS_SQL) == [
        ("esc", 1, 1, pytest.approx(mini), 150.0),
        ("esc", 2, 2, pytest.approx(2 * mini), 300.0),
        ("esc", 3, 3, pytest.approx(3 * mini), 450.0),
    ]
    assert rows(store, TASK_TIERS_SQL) == [
        ("task:t1", "large", 1, pytest.approx(big)),
        ("task:t1", "small", 1, pytest.approx(2 * mini)),
    ]
    save_prices(store, edited(store, "acme-max%", tier="small"))  # nothing escalates now
    assert rows(store, TASK_TIERS_SQL) == [
        ("task:t1", "small", 2, pytest.approx(2 * mini + big)),
        ("task:t3", "small", 1, pytest.approx(3 * mini + big)),
    ]


def test_an_edited_price_no_longer_cites_the_provider_s_page(store):
    """A price changed under its listed source is marked as edited, with the day; a row left
    alone keeps its source, a source typed in with the edit is kept, a new row says so."""
    sql = "SELECT pattern, source, as_of FROM models WHERE pattern LIKE 'acme-%' ORDER BY 1"
    store.execute("UPDATE models SET source = 'acme.example/pricing', as_of = '2025-01'")
    table = edited(store, "acme-mini%", input_per_mtok=2.0)
    for row in table:
        if row["pattern"] == "acme-mid%":
            row.update(output_per_mtok=9.0, source="our contract", as_of="2026-11")
    table.append({**table[0], "pattern": "acme-new%", "source": None, "as_of": None})
    save_prices(store, table)
    today = datetime.now(UTC).date().isoformat()
    assert rows(store, sql) == [
        ("acme-local%", "acme.example/pricing", "2025-01"),
        ("acme-max%", "acme.example/pricing", "2025-01"),
        ("acme-mid%", "our contract", "2026-11"),
        ("acme-mini%", "edited in AgentTime", today),
        ("acme-new%", "added in AgentTime", today),
    ]
