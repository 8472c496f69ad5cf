"""Default model prices and tiers, shipped so cost works out of the box; users edit them.

Prices are USD per million tokens as listed by each provider on the date in `as_of`;
`source` names the page they were read from. A NULL cached or cache-write price bills those
tokens at the input price (no discount assumed). Tiers are a capability judgement; a row
added without one gets a tier from its listed price (analysis.cost). Self-hosted rows price
GPU time instead of tokens: gpu_usd_per_hour × model time, and VRAM GB × minutes.
A pattern matches a model name by SQL LIKE (`%` wildcard); the longest matching pattern
wins, so `gpt-4o-mini%` beats `gpt-4o%`.
"""

from __future__ import annotations

import duckdb

PRICE_COLUMNS = (
    "pattern",
    "tier",
    "input_per_mtok",
    "cached_input_per_mtok",
    "cache_write_per_mtok",
    "output_per_mtok",
    "gpu_usd_per_hour",
    "vram_gb",
    "source",
    "as_of",
)

_OPENAI = "openai.com/api/pricing"
_ANTHROPIC = "anthropic.com/pricing"
_GOOGLE = "ai.google.dev/pricing"
_DEEPSEEK = "api-docs.deepseek.com/quick_start/pricing (quoted by benchlm.ai)"
_MISTRAL = "mistral.ai/pricing"
_QWEN = "alibabacloud.com/help/en/model-studio/models"
_TOGETHER = "together.ai/pricing"
# Newer rows were read from secondary pages quoting the provider's own table; the page is named.
_OPENAI_2026 = "openai.com/api/pricing (quoted by evolink.ai, nicolalazzari.ai)"
_GOOGLE_2026 = "ai.google.dev/pricing (quoted by verdent.ai; prompts <= 200k tokens)"
_GOOGLE_FLASH = "ai.google.dev/pricing (quoted by factquire.com)"

# pattern, tier, input, cached input, cache write, output, gpu $/h, vram GB, source, as of
# fmt: off
DEFAULT_PRICES: list[tuple] = [
    ("gpt-5.4%", "large", 2.50, 0.25, None, 15.00, None, None, _OPENAI_2026, "2026-03"),
    ("gpt-5.2%", "large", 1.75, 0.175, None, 14.00, None, None, _OPENAI_2026, "2026-03"),
    ("gpt-5-nano%", "small", 0.05, 0.005, None, 0.40, None, None, _OPENAI, "2025-08"),
    ("gpt-5-mini%", "small", 0.25, 0.025, None, 2.00, None, None, _OPENAI, "2025-08"),
    ("gpt-5%", "large", 1.25, 0.125, None, 10.00, None, None, _OPENAI, "2025-08"),
    ("gpt-4.1-nano%", "small", 0.10, 0.025, None, 0.40, None, None, _OPENAI, "2025-04"),
    ("gpt-4.1-mini%", "small", 0.40, 0.10, None, 1.60, None, None, _OPENAI, "2025-04"),
    ("gpt-4.1%", "large", 2.00, 0.50, None, 8.00, None, None, _OPENAI, "2025-04"),
    ("gpt-4o-mini%", "small", 0.15, 0.075, None, 0.60, None, None, _OPENAI, "2024-07"),
    ("gpt-4o%", "large", 2.50, 1.25, None, 10.00, None, None, _OPENAI, "2024-10"),
    ("o4-mini%", "medium", 1.10, 0.275, None, 4.40, None, None, _OPENAI, "2025-04"),
    ("o3-mini%", "medium", 1.10, 0.55, None, 4.40, None, None, _OPENAI, "2025-01"),
    ("o3%", "large", 2.00, 0.50, None, 8.00, None, None, _OPENAI, "2025-06"),
    ("o1-mini%", "medium", 1.10, 0.55, None, 4.40, None, None, _OPENAI, "2024-12"),
    ("o1%", "large", 15.00, 7.50, None, 60.00, None, None, _OPENAI, "2024-12"),
    ("claude-opus-4-5%", "large", 5.00, 0.50, 6.25, 25.00, None, None, _ANTHROPIC, "2025-11"),
    ("claude-opus-4%", "large", 15.00, 1.50, 18.75, 75.00, None, None, _ANTHROPIC, "2025-05"),
    ("claude-sonnet-4%", "medium", 3.00, 0.30, 3.75, 15.00, None, None, _ANTHROPIC, "2025-05"),
    ("claude-3-7-sonnet%", "medium", 3.00, 0.30, 3.75, 15.00, None, None, _ANTHROPIC, "2025-02"),
    ("claude-3-5-sonnet%", "medium", 3.00, 0.30, 3.75, 15.00, None, None, _ANTHROPIC, "2024-10"),
    ("claude-haiku-4-5%", "small", 1.00, 0.10, 1.25, 5.00, None, None, _ANTHROPIC, "2025-10"),
    ("claude-3-5-haiku%", "small", 0.80, 0.08, 1.00, 4.00, None, None, _ANTHROPIC, "2024-11"),
    ("gemini-3.1-pro%", "large", 2.00, None, None, 12.00, None, None, _GOOGLE_2026, "2026-02"),
    ("gemini-3-pro%", "large", 2.00, None, None, 12.00, None, None, _GOOGLE_2026, "2026-02"),
    ("gemini-3-flash%", "small", 0.50, 0.05, None, 3.00, None, None, _GOOGLE_FLASH, "2026-07"),
    ("gemini-2.5-pro%", "large", 1.25, 0.31, None, 10.00, None, None, _GOOGLE, "2025-06"),
    ("gemini-2.5-flash-lite%", "small", 0.10, 0.025, None, 0.40, None, None, _GOOGLE, "2025-07"),
    ("gemini-2.5-flash%", "small", 0.30, 0.075, None, 2.50, None, None, _GOOGLE, "2025-06"),
    ("gemini-2.0-flash%", "small", 0.10, 0.025, None, 0.40, None, None, _GOOGLE, "2025-02"),
    # V3.2 behind both endpoints, one price (as quoted from the official page by benchlm.ai)
    ("deepseek-reasoner%", "medium", 0.28, 0.028, None, 0.42, None, None, _DEEPSEEK, "2026-04"),
    ("deepseek-chat%", "small", 0.28, 0.028, None, 0.42, None, None, _DEEPSEEK, "2026-04"),
    ("mistral-large%", "large", 2.00, None, None, 6.00, None, None, _MISTRAL, "2024-11"),
    ("mistral-medium%", "medium", 0.40, None, None, 2.00, None, None, _MISTRAL, "2025-05"),
    ("mistral-small%", "small", 0.10, None, None, 0.30, None, None, _MISTRAL, "2025-03"),
    ("codestral%", "small", 0.30, None, None, 0.90, None, None, _MISTRAL, "2025-01"),
    ("qwen-max%", "large", 1.60, None, None, 6.40, None, None, _QWEN, "2025-01"),
    ("qwen-plus%", "medium", 0.40, None, None, 1.20, None, None, _QWEN, "2025-01"),
    ("qwen-turbo%", "small", 0.05, None, None, 0.20, None, None, _QWEN, "2025-01"),
    ("%llama-3.1-405b%", "large", 3.50, None, None, 3.50, None, None, _TOGETHER, "2025-01"),
    ("%llama-3.3-70b%", "medium", 0.88, None, None, 0.88, None, None, _TOGETHER, "2025-01"),
    ("%llama-3.1-8b%", "small", 0.18, None, None, 0.18, None, None, _TOGETHER, "2025-01"),
    ("qwen3-8b-local%", "small", None, None, None, None, 0.80, 24, "self-hosted example", "2026-11"),
    ("qwen3-80b-local%", "large", None, None, None, None, 4.00, 192, "self-hosted example", "2026-11"),
]
# fmt: on

INSERT_PRICE_SQL = f"""
INSERT INTO models ({", ".join(PRICE_COLUMNS)})
VALUES ({", ".join("?" for _ in PRICE_COLUMNS)})
ON CONFLICT (pattern) DO NOTHING
"""


def seed_default_prices(con: duckdb.DuckDBPyConnection) -> None:
    """Insert the defaults once: a price table a user has edited is left alone."""
    with con.cursor() as cur:
        (count,) = cur.execute("SELECT count(*) FROM models").fetchone()
        if count == 0:
            cur.executemany(INSERT_PRICE_SQL, DEFAULT_PRICES)


def reset_default_prices(con: duckdb.DuckDBPyConnection) -> None:
    with con.cursor() as cur:
        cur.execute("BEGIN TRANSACTION")
        cur.execute("DELETE FROM models")
        cur.executemany(INSERT_PRICE_SQL, DEFAULT_PRICES)
        cur.execute("COMMIT")
