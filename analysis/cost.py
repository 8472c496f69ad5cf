"""Prices, tiers and the cost of one LLM call, as SQL fragments every rollup shares.

Prices live in the editable `models` table, never in `spans`: a call's cost is computed
from whatever the table says now, so editing a price and running `refresh_all` changes
every figure. Where a model has no price, the cost the source reported is used instead
and `cost_source` says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import duckdb

from analysis.sqlread import read_frame

if TYPE_CHECKING:
    import polars as pl

TIER_RANKS = {"small": 1, "medium": 2, "large": 3}
TIER_NAMES = {rank: name for name, rank in TIER_RANKS.items()}

# A `models` row without a tier gets one from its listed price (input + output $/Mtok),
# or, for a self-hosted row without token prices, from its VRAM footprint.
SMALL_BELOW_USD_PER_MTOK = 3.0
MEDIUM_BELOW_USD_PER_MTOK = 10.0
SMALL_UP_TO_VRAM_GB = 40.0
MEDIUM_UP_TO_VRAM_GB = 100.0

EFFECTIVE_TIER_SQL = f"""coalesce(m.tier, CASE
    WHEN m.input_per_mtok IS NOT NULL AND m.output_per_mtok IS NOT NULL THEN CASE
        WHEN m.input_per_mtok + m.output_per_mtok < {SMALL_BELOW_USD_PER_MTOK} THEN 'small'
        WHEN m.input_per_mtok + m.output_per_mtok < {MEDIUM_BELOW_USD_PER_MTOK} THEN 'medium'
        ELSE 'large' END
    WHEN m.vram_gb IS NOT NULL THEN CASE
        WHEN m.vram_gb <= {SMALL_UP_TO_VRAM_GB} THEN 'small'
        WHEN m.vram_gb <= {MEDIUM_UP_TO_VRAM_GB} THEN 'medium'
        ELSE 'large' END
END)"""

# Longest matching LIKE pattern wins; a provider prefix ("openai/gpt-4o") is also tried
# without the prefix so routed model names still find their price.
MATCH_MODELS_SQL = f"""
SELECT d.model, m.pattern, {EFFECTIVE_TIER_SQL} AS tier,
       m.input_per_mtok, m.cached_input_per_mtok, m.cache_write_per_mtok,
       m.output_per_mtok, m.gpu_usd_per_hour, m.vram_gb,
       m.input_per_mtok + m.output_per_mtok AS listed_per_mtok
FROM (SELECT DISTINCT model FROM {{names}} WHERE model IS NOT NULL) d
JOIN models m ON lower(d.model) LIKE lower(m.pattern)
              OR regexp_replace(lower(d.model), '^.*/', '') LIKE lower(m.pattern)
QUALIFY row_number() OVER (PARTITION BY d.model ORDER BY length(m.pattern) DESC, m.pattern) = 1
"""

TIER_RANK_SQL = "CASE {col} WHEN 'small' THEN 1 WHEN 'medium' THEN 2 WHEN 'large' THEN 3 END"
TIER_NAME_SQL = "CASE {col} WHEN 1 THEN 'small' WHEN 2 THEN 'medium' WHEN 3 THEN 'large' END"


def model_prices_cte(names_relation: str) -> str:
    """`model_prices AS (...)`: the price row of every model named in `names_relation`."""
    match = MATCH_MODELS_SQL.format(names=names_relation)
    rank = TIER_RANK_SQL.format(col="tier")
    return f"model_prices AS (SELECT *, {rank} AS tier_rank FROM ({match}))"


# Cost of one call (span alias `s`, price alias `p`). Input includes cache reads and
# writes (DESIGN §2), so only the remainder is billed at the plain input price; output
# includes reasoning. A self-hosted model without token prices costs GPU time.
COMPUTED_COST_SQL = """CASE
    WHEN p.input_per_mtok IS NOT NULL AND p.output_per_mtok IS NOT NULL
         AND s.input_tokens IS NOT NULL AND s.output_tokens IS NOT NULL THEN (
        greatest(s.input_tokens - coalesce(s.cache_read_tokens, 0)
                 - coalesce(s.cache_write_tokens, 0), 0) * p.input_per_mtok
        + coalesce(s.cache_read_tokens, 0) * coalesce(p.cached_input_per_mtok, p.input_per_mtok)
        + coalesce(s.cache_write_tokens, 0) * coalesce(p.cache_write_per_mtok, p.input_per_mtok)
        + s.output_tokens * p.output_per_mtok
    ) / 1e6
    WHEN p.input_per_mtok IS NULL AND p.gpu_usd_per_hour IS NOT NULL AND s.duration_ms IS NOT NULL
        THEN p.gpu_usd_per_hour * s.duration_ms / 3.6e6
END"""

# A call that failed and recorded no token counts and no cost was refused (a rate limit, a
# timeout, a bad request): the provider processed and billed nothing, so it costs $0 and
# wastes nothing (metrics.md, "Refused calls").
REFUSED_CALL_SQL = """({s}kind = 'llm' AND {s}status = 'error' AND {s}input_tokens IS NULL
    AND {s}output_tokens IS NULL AND {s}cost_usd IS NULL)"""
CALL_COST_SQL = (
    f"coalesce({COMPUTED_COST_SQL}, s.cost_usd, "
    f"CASE WHEN {REFUSED_CALL_SQL.format(s='s.')} THEN 0.0 END)"
)
CALL_COST_SOURCE_SQL = f"""CASE
    WHEN ({COMPUTED_COST_SQL}) IS NOT NULL THEN 'computed'
    WHEN s.cost_usd IS NOT NULL THEN 'reported'
    WHEN {REFUSED_CALL_SQL.format(s="s.")} THEN 'computed'
END"""
VRAM_GB_MIN_SQL = "p.vram_gb * s.duration_ms / 60000.0"

# Time to first token, read from the attribute each convention records it in. The attributes
# are parsed once for all keys, and only when their text can hold one of them: every key
# contains "irst" or "ompletionStart", and the text is always written by an adapter's
# canonical JSON, which spells ASCII letters as themselves (never as \\u escapes).
TTFT_KEYS = (
    "gen_ai.response.time_to_first_chunk",
    "gen_ai.response.time_to_first_token",
    "ai.response.msToFirstChunk",
    "timeToFirstToken",
    "first_token_time",
    "completionStartTime",
)
_TTFT_PATHS = ", ".join(f"'$.\"{key}\"'" for key in TTFT_KEYS)
TTFT_ATTRS_SQL = (
    "CASE WHEN contains({col}::VARCHAR, 'irst') OR contains({col}::VARCHAR, 'ompletionStart')"
    " THEN json_extract_string({col}, ["
    + _TTFT_PATHS.replace("{", "{{").replace("}", "}}")
    + "]) END"
)
TTFT_FROM_ATTRS_SQL = """coalesce(
    try_cast({attrs}[1] AS DOUBLE) * 1000,
    try_cast({attrs}[2] AS DOUBLE) * 1000,
    try_cast({attrs}[3] AS DOUBLE),
    try_cast({attrs}[4] AS DOUBLE) * 1000,
    (epoch_us(try_cast({attrs}[5] AS TIMESTAMPTZ)) - epoch_us(s.start_time)) / 1000.0,
    (epoch_us(try_cast({attrs}[6] AS TIMESTAMPTZ)) - epoch_us(s.start_time)) / 1000.0
)"""

CALL_COSTS_SQL = f"""
WITH scoped AS (SELECT * FROM spans WHERE trace_id = ? AND kind = 'llm'),
{model_prices_cte("scoped")}
SELECT s.span_id, s.model, p.pattern AS price_pattern, p.tier,
       s.input_tokens, s.output_tokens, s.reasoning_tokens, s.cache_read_tokens,
       s.cache_write_tokens, s.duration_ms,
       ({COMPUTED_COST_SQL}) AS computed_usd, s.cost_usd AS reported_usd,
       {CALL_COST_SQL} AS cost_usd, {CALL_COST_SOURCE_SQL} AS cost_source
FROM scoped s LEFT JOIN model_prices p USING (model)
ORDER BY s.start_time NULLS LAST, s.seq NULLS LAST, s.span_id
"""

MODEL_TABLE_SQL = f"""
SELECT m.pattern, m.tier AS listed_tier, {EFFECTIVE_TIER_SQL} AS tier,
       m.input_per_mtok, m.cached_input_per_mtok, m.cache_write_per_mtok, m.output_per_mtok,
       m.input_per_mtok + m.output_per_mtok AS listed_per_mtok,
       m.gpu_usd_per_hour, m.vram_gb, m.source, m.as_of
FROM models m ORDER BY m.pattern
"""


def call_costs(con: duckdb.DuckDBPyConnection, trace_id: str) -> pl.DataFrame:
    """Every LLM call of one trajectory priced now: computed, reported, and which was used."""
    return read_frame(con, CALL_COSTS_SQL, [trace_id])


def price_table(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The `models` table with each row's effective tier (listed, or derived from price)."""
    return read_frame(con, MODEL_TABLE_SQL)
