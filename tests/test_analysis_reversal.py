"""Price reversal on shared task_keys, the reversal rate and the Shapley split of the gap.

Listed prices (input + output $/Mtok): acme-mini 1 + 4 = 5, acme-mid 2 + 8 = 10,
acme-max 4 + 16 = 20. Every turn reads 1000 uncached input tokens and writes 100, so a turn
costs $0.0014 on acme-mini, $0.0028 on acme-mid and $0.0056 on acme-max. On both tasks
acme-mini takes 10 turns ($0.014), acme-mid 3 ($0.0084) and acme-max 2 ($0.0112).
"""

from __future__ import annotations

import pytest

from analysis.reversal import FACTORS, reversal_matrix, summary
from tests.analysis_builders import T, ingest_spans, trajectory, use_acme_prices

TURNS = {"acme-mini": 10, "acme-mid": 3, "acme-max": 2}


@pytest.fixture
def matrix(con, tmp_path):
    use_acme_prices(con)
    spans = []
    for model, turns in TURNS.items():
        for task in ("t1", "t2"):
            steps = [T(cache_read=0, message=f"step {i}") for i in range(turns)]
            spans += trajectory(f"{model}-{task}", steps, model=model, task_id=task, score=1)
    ingest_spans(con, tmp_path, "rev.jsonl", spans)
    return reversal_matrix(con)


def pair(matrix, cheaper: str, pricier: str) -> dict:
    rows = [
        r
        for r in matrix.iter_rows(named=True)
        if (r["cheaper_model"], r["pricier_model"]) == (cheaper, pricier)
    ]
    assert len(rows) == 1
    return rows[0]


def test_reversal_flags_the_cheaper_listed_model_that_costs_more(matrix):
    got = pair(matrix, "acme-mini", "acme-max")
    assert (got["cheaper_listed_per_mtok"], got["pricier_listed_per_mtok"]) == (5.0, 20.0)
    assert got["shared_tasks"] == 2
    assert got["cheaper_cost_per_task"] == pytest.approx(0.014)
    assert got["pricier_cost_per_task"] == pytest.approx(0.0112)
    assert got["reversed"] is True
    assert got["magnitude"] == pytest.approx(1.25)


def test_shapley_split_names_turns_as_the_driver_and_adds_up_to_the_gap(matrix):
    got = pair(matrix, "acme-mini", "acme-max")
    # Only turns and price differ. v(∅)=0.0112, v(turns)=10·0.0056=0.056,
    # v(price)=2·0.0014=0.0028, v(both)=0.014 →
    # φ_turns = ½(0.0448 + 0.0112) = 0.028; φ_price = ½(−0.0084 − 0.042) = −0.0252
    assert got["driver"] == "turns"
    assert got["gap_turns"] == pytest.approx(0.028)
    assert got["gap_price"] == pytest.approx(-0.0252)
    for factor in ("context", "output", "reasoning"):
        assert got[f"gap_{factor}"] == pytest.approx(0.0, abs=1e-12)
    total = sum(got[f"gap_{f}"] for f in FACTORS)
    assert total == pytest.approx(got["cheaper_cost_per_task"] - got["pricier_cost_per_task"])


def test_reversal_rate_counts_reversed_pairs_among_comparable_pairs(matrix):
    assert pair(matrix, "acme-mini", "acme-mid")["reversed"] is True  # 0.014 > 0.0084
    assert pair(matrix, "acme-mid", "acme-max")["reversed"] is False  # 0.0084 < 0.0112
    result = summary(matrix)
    assert (result.comparable_pairs, result.reversed_pairs) == (3, 2)
    assert result.reversal_rate == pytest.approx(2 / 3)


def test_models_without_shared_tasks_are_not_compared(con, tmp_path):
    use_acme_prices(con)
    spans = trajectory("a", [T()], model="acme-mini", task_id="x") + trajectory(
        "b", [T()], model="acme-max", task_id="y"
    )
    ingest_spans(con, tmp_path, "apart.jsonl", spans)
    assert reversal_matrix(con).height == 0
    assert summary(reversal_matrix(con)).reversal_rate is None


def test_a_pair_says_on_how_many_tasks_and_runs_its_reversal_rests(con, tmp_path):
    """acme-mini is cheaper on t1 (1 turn against acme-max's 1: $0.0014 vs $0.0056) and dearer
    on t2 (10 turns, twice: $0.014 vs $0.0056): reversed on the mean, on 1 of 2 tasks."""
    use_acme_prices(con)
    runs = {("acme-mini", "t1"): [1], ("acme-mini", "t2"): [10, 10], ("acme-max", "t1"): [1],
            ("acme-max", "t2"): [1]}  # fmt: skip
    spans = []
    for (model, task), counts in runs.items():
        for n, turns in enumerate(counts):
            steps = [T(cache_read=0, message=f"step {i}") for i in range(turns)]
            spans += trajectory(f"{model}-{task}-{n}", steps, model=model, task_id=task, score=1)
    ingest_spans(con, tmp_path, "mixed.jsonl", spans)
    got = pair(reversal_matrix(con), "acme-mini", "acme-max")
    assert (got["reversed"], got["shared_tasks"], got["tasks_reversed"]) == (True, 2, 1)
    assert (got["cheaper_runs"], got["pricier_runs"]) == (3, 2)
