"""Cost per call from the models table (cached and reasoning tokens), reported-cost fallback,
self-hosted GPU time, tiers, and recomputation after a price edit."""

from __future__ import annotations

import pytest

from analysis.cost import TIER_RANKS, call_costs, price_table
from analysis.rollup import refresh_all
from store.db import transaction
from store.prices import DEFAULT_PRICES
from tests.analysis_builders import T, ingest_spans, row, rows, trajectory, use_acme_prices


@pytest.fixture
def store(con):
    use_acme_prices(con)
    return con


def test_cost_prices_uncached_cached_write_and_output_including_reasoning(store, tmp_path):
    turn = T(input=10_000, cache_read=6_000, cache_write=1_000, output=2_000, reasoning=1_500)
    ingest_spans(store, tmp_path, "c.jsonl", trajectory("c", [turn]))
    # (10000 − 6000 − 1000) × 1.00 + 6000 × 0.10 + 1000 × 1.25 + 2000 × 4.00 = 12850 / 1e6
    assert row(store, "SELECT cost_usd, cost_source FROM trajectories") == (
        pytest.approx(0.01285),
        "computed",
    )
    frame = call_costs(store, "c")
    assert frame.select("computed_usd", "reported_usd", "cost_source").row(0) == (
        pytest.approx(0.01285),
        None,
        "computed",
    )


def test_reported_cost_is_the_fallback_and_flagged(store, tmp_path):
    turns = [T(model="unlisted-model", cost=0.5), T(input=1000, output=100, cache_read=0)]
    ingest_spans(store, tmp_path, "r.jsonl", trajectory("r", turns))
    frame = call_costs(store, "r")
    assert frame.select("model", "cost_usd", "cost_source").rows() == [
        ("unlisted-model", 0.5, "reported"),
        ("acme-mini", pytest.approx(0.0014), "computed"),
    ]
    # one computed and one reported call make a partial mix at trajectory level
    assert row(store, "SELECT cost_usd, cost_source FROM trajectories") == (
        pytest.approx(0.5014),
        "partial",
    )


def test_unknown_tokens_and_no_reported_cost_leave_cost_unknown(store, tmp_path):
    ingest_spans(store, tmp_path, "u.jsonl", trajectory("u", [T(input=None, output=None)]))
    assert row(store, "SELECT cost_usd, cost_source FROM trajectories") == (None, None)


def test_self_hosted_model_costs_gpu_time_and_vram_time(store, tmp_path):
    ingest_spans(store, tmp_path, "g.jsonl", trajectory("g", [T(), T()], model="acme-local-8b"))
    # two 100 ms calls at $3.60/h: 2 × 3.60 × 0.1 / 3600; VRAM 24 GB × 2 × 0.1 s / 60
    assert row(store, "SELECT cost_usd, cost_source, vram_gb_min FROM trajectories") == (
        pytest.approx(0.0002),
        "computed",
        pytest.approx(0.08),
    )


def test_provider_prefixed_model_names_find_their_price(store, tmp_path):
    ingest_spans(
        store, tmp_path, "p.jsonl", trajectory("p", [T(cache_read=0)], model="openai/acme-mini-2")
    )
    assert row(store, "SELECT cost_usd, tier FROM trajectories") == (pytest.approx(0.0014), "small")


def test_editing_a_price_recomputes_every_rollup(store, tmp_path):
    turns = [T(cache_read=0, message="a"), T(input=2000, cache_read=0, message="b")]
    ingest_spans(store, tmp_path, "e.jsonl", trajectory("e", turns))
    before = row(store, "SELECT cost_usd, waste_usd FROM trajectories")
    with store.cursor() as cur, transaction(cur):
        cur.execute("UPDATE models SET input_per_mtok = 2.0 WHERE pattern = 'acme-mini%'")
        refresh_all(cur)
    after = row(store, "SELECT cost_usd, waste_usd FROM trajectories")
    # calls: 1000 + 2000 input, 200 output; uncached prefix of turn 2 = min(2000, 1100) = 1100
    assert before == pytest.approx(((3000 * 1.0 + 200 * 4.0) / 1e6, 1100 * 0.9 / 1e6))
    assert after == pytest.approx(((3000 * 2.0 + 200 * 4.0) / 1e6, 1100 * 1.9 / 1e6))
    assert row(store, "SELECT sum(cost_usd) FROM turns") == pytest.approx((after[0],))


def test_a_models_row_without_tier_gets_one_from_price_or_vram(store):
    with store.cursor() as cur:
        cur.executemany(
            "INSERT INTO models (pattern, input_per_mtok, output_per_mtok, vram_gb) VALUES (?, ?, ?, ?)",
            [("p-cheap%", 0.5, 2.0, None), ("p-mid%", 2.0, 6.0, None), ("p-big%", 5.0, 20.0, None),
             ("v-small%", None, None, 24), ("v-large%", None, None, 192)],
        )  # fmt: skip
    tiers = dict(price_table(store).select("pattern", "tier").rows())
    assert [tiers[p] for p in ("p-cheap%", "p-mid%", "p-big%", "v-small%", "v-large%")] == [
        "small",
        "medium",
        "large",
        "small",
        "large",
    ]


def test_escalation_is_a_higher_tier_call_after_a_lower_tier_call(store, tmp_path):
    up = [T(model="acme-mini"), T(model="acme-max")]
    down = [T(model="acme-max"), T(model="acme-mini")]
    ingest_spans(store, tmp_path, "up.jsonl", trajectory("up", up) + trajectory("down", down))
    got = rows(
        store, "SELECT trace_id, escalated, tier, models FROM trajectories ORDER BY trace_id"
    )
    assert got == [
        ("down", False, "large", ["acme-max", "acme-mini"]),
        ("up", True, "large", ["acme-mini", "acme-max"]),
    ]


def test_the_primary_model_makes_most_calls_and_ties_go_to_the_first_seen(store, tmp_path):
    tie = [T(model="acme-max"), T(model="acme-mini"), T(model="acme-mini"), T(model="acme-max")]
    most = [T(model="acme-max"), T(model="acme-mini"), T(model="acme-mini")]
    late = [T(model="acme-mini"), T(model="acme-max"), T(model="acme-mini")]
    spans = trajectory("tie", tie) + trajectory("most", most) + trajectory("late", late)
    ingest_spans(store, tmp_path, "primary.jsonl", spans)
    got = rows(
        store,
        "SELECT trace_id, primary_model, models, escalated FROM trajectories ORDER BY trace_id",
    )
    assert got == [
        ("late", "acme-mini", ["acme-mini", "acme-max"], True),
        ("most", "acme-mini", ["acme-max", "acme-mini"], False),
        ("tie", "acme-max", ["acme-max", "acme-mini"], True),
    ]


def test_a_call_without_a_response_model_counts_under_the_model_its_request_resolved_to(
    store, tmp_path
):
    """OpenAI answers "acme-mini" with a dated model; a refused call records only the request.
    In another run the bare name is the only one recorded, and stays."""
    dated = {"request_model": "acme-mini"}
    served = T(model="acme-mini-0807", extra=dated)
    refused = T(model="acme-mini", extra=dated, input=None, output=None, status="error")
    spans = trajectory("dated", [served, served, refused]) + trajectory(
        "bare", [T(model="acme-mini", extra=dated)]
    )
    ingest_spans(store, tmp_path, "dated.jsonl", spans)
    assert rows(store, "SELECT trace_id, models, escalated FROM trajectories ORDER BY 1") == [
        ("bare", ["acme-mini"], False),
        ("dated", ["acme-mini-0807"], False),
    ]
    assert rows(store, "SELECT model, count(*) FROM turns GROUP BY model ORDER BY 1") == [
        ("acme-mini", 1),
        ("acme-mini-0807", 3),
    ]
    # the span keeps what was recorded
    assert row(store, "SELECT model FROM spans WHERE span_id = 'dated-llm3'") == ("acme-mini",)


def test_shipped_default_prices_have_a_source_a_date_and_a_valid_tier():
    patterns = [entry[0] for entry in DEFAULT_PRICES]
    assert len(patterns) == len(set(patterns))
    for pattern, tier, *_, source, as_of in DEFAULT_PRICES:
        assert tier in TIER_RANKS, pattern
        assert source and as_of, pattern
    providers = {entry[8] for entry in DEFAULT_PRICES}
    assert len(providers) >= 7
