"""Price reversal: the model with the lower listed price costing more per task in practice.

Following the Price Reversal paper (Chen et al., arXiv 2603.23971): listed price
L = input + output $/Mtok; two models are compared on the task_keys both ran (single-model
trajectories with known tokens and cost, each task weighted equally); the pair is reversed
when the lower-listed model's mean cost per task is higher. Reversal rate = reversed pairs /
comparable pairs (pairs with different listed prices and at least one shared task).

Which factor drives the gap: mean cost per task is written exactly as
    C = T · (I · p_in + (O + R) · p_out)
with T turns per task, I input (context) tokens per turn, O visible output and R reasoning
tokens per turn, p_out the listed output price and p_in the effective input price that
makes the identity exact (it absorbs cache discounts and reported costs). The gap
C_cheaper − C_pricier is split over the five factors (turns, context, output, reasoning,
price) by their Shapley values in the hybrid-cost game of the paper's v2: a coalition takes
the cheaper-listed model's values, the rest the other's. The values add up to the gap.

The per-(model, task_key) means and every pair's means over its shared task_keys are one
SQL query, so Python only splits a few dozen pairs, whatever the number of runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from math import factorial

import duckdb
import polars as pl

from analysis.cost import model_prices_cte
from analysis.sqlread import read_frame

FACTORS = ("turns", "context", "output", "reasoning", "price")

MODEL_TASKS_SQL = f"""
WITH runs AS (
    SELECT primary_model AS model, task_key, cost_usd, llm_calls, input_tokens,
           output_tokens, coalesce(reasoning_tokens, 0) AS reasoning_tokens
    FROM trajectories
    WHERE task_key IS NOT NULL AND primary_model IS NOT NULL AND len(models) = 1
      AND cost_usd IS NOT NULL AND input_tokens IS NOT NULL AND output_tokens IS NOT NULL
      AND token_calls = llm_calls AND llm_calls > 0
), {model_prices_cte("runs")}
SELECT r.model, r.task_key, count(*) AS runs, avg(r.cost_usd) AS cost,
       avg(r.llm_calls) AS turns, avg(r.input_tokens) AS input_tokens,
       avg(r.output_tokens - r.reasoning_tokens) AS visible_output_tokens,
       avg(r.reasoning_tokens) AS reasoning_tokens,
       any_value(p.listed_per_mtok) AS listed_per_mtok,
       any_value(p.output_per_mtok) AS output_per_mtok
FROM runs r JOIN model_prices p USING (model)
WHERE p.listed_per_mtok IS NOT NULL
GROUP BY r.model, r.task_key
"""

# Each pair of models with different listed prices, cheaper-listed first, with both sides'
# means over the task_keys both ran (each task weighted equally).
PAIR_MEANS = ", ".join(
    f"avg({side}.{column}) AS {side}_{column}"
    for side in ("a", "b")
    for column in ("cost", "turns", "input_tokens", "visible_output_tokens", "reasoning_tokens")
)
PAIRS_SQL = f"""
WITH tasks AS ({MODEL_TASKS_SQL})
SELECT a.model AS cheaper_model, b.model AS pricier_model,
    any_value(a.listed_per_mtok) AS cheaper_listed_per_mtok,
    any_value(b.listed_per_mtok) AS pricier_listed_per_mtok,
    any_value(a.output_per_mtok) AS a_output_per_mtok,
    any_value(b.output_per_mtok) AS b_output_per_mtok,
    count(*) AS shared_tasks, count(*) FILTER (WHERE a.cost > b.cost) AS tasks_reversed,
    sum(a.runs) AS cheaper_runs, sum(b.runs) AS pricier_runs, {PAIR_MEANS}
FROM tasks a JOIN tasks b ON a.task_key = b.task_key AND a.listed_per_mtok < b.listed_per_mtok
GROUP BY a.model, b.model
ORDER BY least(a.model, b.model), greatest(a.model, b.model)
"""


@dataclass(frozen=True)
class Profile:
    """A model's mean task on a set of task_keys, in the factors of the cost identity."""

    cost: float
    turns: float
    context: float
    output: float
    reasoning: float
    p_in: float
    p_out: float

    def cost_with(self, other: Profile, mine: frozenset[str]) -> float:
        pick = {f: (self if f in mine else other) for f in FACTORS}
        turns, context = pick["turns"].turns, pick["context"].context
        output, reasoning = pick["output"].output, pick["reasoning"].reasoning
        p_in, p_out = pick["price"].p_in, pick["price"].p_out
        return turns * (context * p_in + (output + reasoning) * p_out)


def profile(pair: dict, side: str) -> Profile:
    """One side ("a" cheaper-listed, "b" pricier) of a pair row of PAIRS_SQL: the model's
    mean task over the shared task_keys, in the factors of the cost identity."""
    cost, turns = pair[f"{side}_cost"], pair[f"{side}_turns"]
    context = pair[f"{side}_input_tokens"] / turns
    output = pair[f"{side}_visible_output_tokens"] / turns
    reasoning = pair[f"{side}_reasoning_tokens"] / turns
    p_out = pair[f"{side}_output_per_mtok"] / 1e6
    billed_output = turns * (output + reasoning) * p_out
    p_in = (cost - billed_output) / (turns * context) if context else 0.0
    return Profile(cost, turns, context, output, reasoning, p_in, p_out)


def shapley(cheaper: Profile, pricier: Profile) -> dict[str, float]:
    """Each factor's share of cost(cheaper) − cost(pricier); the shares add up to it."""
    n = len(FACTORS)
    values = {}
    for factor in FACTORS:
        others = [f for f in FACTORS if f != factor]
        total = 0.0
        for size in range(n):
            weight = factorial(size) * factorial(n - size - 1) / factorial(n)
            for coalition in combinations(others, size):
                with_f = cheaper.cost_with(pricier, frozenset(coalition) | {factor})
                without = cheaper.cost_with(pricier, frozenset(coalition))
                total += weight * (with_f - without)
        values[factor] = total
    return values


def compare(pair: dict) -> dict:
    """One comparable pair (a row of PAIRS_SQL) with the factor split of its cost gap."""
    cheaper, pricier = profile(pair, "a"), profile(pair, "b")
    parts = shapley(cheaper, pricier)
    gap = cheaper.cost - pricier.cost
    driver = max(parts, key=lambda f: parts[f] if gap >= 0 else -parts[f])
    return {
        "cheaper_model": pair["cheaper_model"],
        "pricier_model": pair["pricier_model"],
        "cheaper_listed_per_mtok": pair["cheaper_listed_per_mtok"],
        "pricier_listed_per_mtok": pair["pricier_listed_per_mtok"],
        "shared_tasks": pair["shared_tasks"],
        # how far the mean can be trusted: on how many tasks it holds, over how many runs
        "tasks_reversed": pair["tasks_reversed"],
        "cheaper_runs": pair["cheaper_runs"],
        "pricier_runs": pair["pricier_runs"],
        "cheaper_cost_per_task": cheaper.cost,
        "pricier_cost_per_task": pricier.cost,
        "reversed": cheaper.cost > pricier.cost,
        "magnitude": cheaper.cost / pricier.cost if pricier.cost else None,
        "driver": driver,
        **{f"gap_{f}": parts[f] for f in FACTORS},
    }


def model_tasks(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return read_frame(con, MODEL_TASKS_SQL)


def reversal_matrix(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every comparable model pair, cheaper-listed first, with the factor split of the gap."""
    pairs = read_frame(con, PAIRS_SQL)
    rows = [compare(pair) for pair in pairs.iter_rows(named=True)]
    return pl.DataFrame(rows, schema=_EMPTY_SCHEMA) if rows else pl.DataFrame(schema=_EMPTY_SCHEMA)


@dataclass(frozen=True)
class ReversalSummary:
    comparable_pairs: int
    reversed_pairs: int

    @property
    def reversal_rate(self) -> float | None:
        return self.reversed_pairs / self.comparable_pairs if self.comparable_pairs else None


def summary(matrix: pl.DataFrame) -> ReversalSummary:
    return ReversalSummary(matrix.height, int(matrix["reversed"].sum()) if matrix.height else 0)


_EMPTY_SCHEMA = {
    "cheaper_model": pl.String,
    "pricier_model": pl.String,
    "cheaper_listed_per_mtok": pl.Float64,
    "pricier_listed_per_mtok": pl.Float64,
    "shared_tasks": pl.Int64,
    "tasks_reversed": pl.Int64,
    "cheaper_runs": pl.Int64,
    "pricier_runs": pl.Int64,
    "cheaper_cost_per_task": pl.Float64,
    "pricier_cost_per_task": pl.Float64,
    "reversed": pl.Boolean,
    "magnitude": pl.Float64,
    "driver": pl.String,
    **{f"gap_{f}": pl.Float64 for f in FACTORS},
}
