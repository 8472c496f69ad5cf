"""The public tables (DESIGN §2), created idempotently.

`spans` is a contract users query with SQL. `trajectories`, `turns`, `findings` and
`verdicts` are rollups maintained at ingest (and when prices change) so pages read small
tables, never recompute per view. Rollup columns added later are applied to older stores
by idempotent ALTERs, so an existing file keeps working. The span text (input, output,
attributes: most of a store) is zstd-compressed: a third of the size of DuckDB's default
string compression and faster to write at commit; reading one trajectory's text costs a
few ms more. `turns`, `findings` and `verdicts` carry no index: their rows are deleted and
rebuilt per trace inside the ingest transaction (unique by construction), and index upkeep
would dominate that rebuild.
"""

from __future__ import annotations

SPAN_COLUMNS_DDL = """
    trace_id VARCHAR NOT NULL,
    span_id VARCHAR NOT NULL,
    parent_id VARCHAR,
    source VARCHAR NOT NULL,
    convention VARCHAR,
    upload_id VARCHAR,
    name VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    start_time TIMESTAMPTZ,
    end_time TIMESTAMPTZ,
    duration_ms DOUBLE,
    status VARCHAR NOT NULL,
    error_type VARCHAR,
    error_message VARCHAR,
    model VARCHAR,
    request_model VARCHAR,
    provider VARCHAR,
    input_tokens BIGINT,
    output_tokens BIGINT,
    reasoning_tokens BIGINT,
    cache_read_tokens BIGINT,
    cache_write_tokens BIGINT,
    cost_usd DOUBLE,
    tool_name VARCHAR,
    tool_call_id VARCHAR,
    tool_args VARCHAR,
    agent_name VARCHAR,
    session_id VARCHAR,
    task_id VARCHAR,
    input VARCHAR USING COMPRESSION zstd,
    output VARCHAR USING COMPRESSION zstd,
    attributes JSON USING COMPRESSION zstd,
    seq BIGINT,
    score DOUBLE
"""

# Columns the analysis engine adds to `trajectories` (beyond DESIGN §2); also applied to
# stores created before they existed, see MIGRATIONS_SQL.
TRAJECTORY_ANALYSIS_COLUMNS = (
    ("upload_ids", "VARCHAR[]"),
    ("tier", "VARCHAR"),
    ("token_calls", "BIGINT"),
    ("ttft_ms", "DOUBLE"),
    ("ttft_calls", "BIGINT"),
    ("vram_gb_min", "DOUBLE"),
    ("waste_turns", "BIGINT"),
    ("waste_stagnation_tokens", "BIGINT"),
    ("waste_error_retry_tokens", "BIGINT"),
    ("waste_repeated_tokens", "BIGINT"),
    ("waste_uncached_tokens", "BIGINT"),
    ("cache_hit_rate", "DOUBLE"),
    ("reasoning_share", "DOUBLE"),
    ("context_growth", "DOUBLE"),
    ("io_ratio", "DOUBLE"),
    ("task_text", "VARCHAR"),
)
TRAJECTORY_ANALYSIS_DDL = ",\n    ".join(
    f"{name} {kind}" for name, kind in TRAJECTORY_ANALYSIS_COLUMNS
)

_TABLES_SQL = f"""
CREATE TABLE IF NOT EXISTS spans ({SPAN_COLUMNS_DDL}, PRIMARY KEY (trace_id, span_id));

CREATE TABLE IF NOT EXISTS uploads (
    upload_id VARCHAR PRIMARY KEY,
    filename VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    format VARCHAR NOT NULL,
    bytes BIGINT NOT NULL,
    span_count BIGINT NOT NULL,
    trace_count BIGINT NOT NULL,
    skipped_count BIGINT NOT NULL,
    warnings JSON,
    who VARCHAR,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS reviews (
    review_id VARCHAR PRIMARY KEY,
    trace_id VARCHAR NOT NULL,
    span_id VARCHAR,
    author VARCHAR NOT NULL,
    verdict VARCHAR,
    comment VARCHAR,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    supersedes VARCHAR
);

CREATE TABLE IF NOT EXISTS models (
    pattern VARCHAR PRIMARY KEY,
    tier VARCHAR,
    input_per_mtok DOUBLE,
    cached_input_per_mtok DOUBLE,
    cache_write_per_mtok DOUBLE,
    output_per_mtok DOUBLE,
    gpu_usd_per_hour DOUBLE,
    vram_gb DOUBLE,
    source VARCHAR,
    as_of VARCHAR
);

CREATE TABLE IF NOT EXISTS trajectories (
    trace_id VARCHAR PRIMARY KEY,
    session_id VARCHAR,
    task_id VARCHAR,
    task_key VARCHAR,
    agent_name VARCHAR,
    source VARCHAR,
    upload_id VARCHAR,
    name VARCHAR,
    start_time TIMESTAMPTZ,
    end_time TIMESTAMPTZ,
    wall_ms DOUBLE,
    span_count BIGINT,
    llm_calls BIGINT,
    tool_calls BIGINT,
    tool_errors BIGINT,
    turns BIGINT,
    models VARCHAR[],
    primary_model VARCHAR,
    escalated BOOLEAN,
    input_tokens BIGINT,
    output_tokens BIGINT,
    reasoning_tokens BIGINT,
    cache_read_tokens BIGINT,
    cache_write_tokens BIGINT,
    cost_usd DOUBLE,
    cost_source VARCHAR,
    model_ms DOUBLE,
    tool_ms DOUBLE,
    idle_ms DOUBLE,
    outcome VARCHAR,
    outcome_inferred BOOLEAN,
    score DOUBLE,
    waste_tokens BIGINT,
    waste_usd DOUBLE,
    verdict VARCHAR,
    {TRAJECTORY_ANALYSIS_DDL}
);

CREATE TABLE IF NOT EXISTS turns (
    trace_id VARCHAR NOT NULL,
    span_id VARCHAR NOT NULL,
    turn BIGINT NOT NULL,
    model VARCHAR,
    tier VARCHAR,
    start_time TIMESTAMPTZ,
    end_time TIMESTAMPTZ,
    duration_ms DOUBLE,
    ttft_ms DOUBLE,
    end_offset_ms DOUBLE,
    status VARCHAR,
    input_tokens BIGINT,
    output_tokens BIGINT,
    reasoning_tokens BIGINT,
    cache_read_tokens BIGINT,
    cache_write_tokens BIGINT,
    cost_usd DOUBLE,
    cost_source VARCHAR,
    vram_gb_min DOUBLE,
    tool_calls BIGINT,
    tool_errors BIGINT,
    context_growth BIGINT,
    uncached_tokens BIGINT,
    waste_tokens BIGINT,
    waste_usd DOUBLE,
    stalled BOOLEAN
);

CREATE TABLE IF NOT EXISTS findings (
    trace_id VARCHAR NOT NULL,
    span_id VARCHAR NOT NULL,
    category VARCHAR NOT NULL,
    turn BIGINT,
    tokens BIGINT,
    usd DOUBLE,
    evidence JSON
);

CREATE TABLE IF NOT EXISTS verdicts (
    trace_id VARCHAR NOT NULL,
    task_key VARCHAR,
    tier VARCHAR,
    verdict VARCHAR NOT NULL,
    evidence JSON
);
"""

# The turn at which each trajectory reaches its K-th stalled turn (K = 1..ROUTING_MAX_K),
# with the cost (NULL when a turn up to it has no cost) and the elapsed time at its end:
# what the routing simulation replays (analysis.routing). Rebuilt with `turns` for the
# traces an ingest or price edit touches (analysis.kept_tables); the table is created
# from `turns` on first use, which also fills it for stores made before it existed.
ROUTING_MAX_K = 5
ROUTING_STOPS_SELECT = f"""
SELECT trace_id, CAST(stalled_so_far AS BIGINT) AS k, turn,
    CASE WHEN unknown_costs = 0 THEN cost_so_far END AS cost_usd, end_offset_ms
FROM (
    SELECT trace_id, turn, stalled, end_offset_ms,
        sum(CAST(coalesce(stalled, false) AS INTEGER)) OVER upto AS stalled_so_far,
        sum(cost_usd) OVER upto AS cost_so_far,
        count(*) OVER upto - count(cost_usd) OVER upto AS unknown_costs
    FROM turns {{where}}
    WINDOW upto AS (PARTITION BY trace_id ORDER BY turn ROWS UNBOUNDED PRECEDING)
)
WHERE stalled AND stalled_so_far <= {ROUTING_MAX_K}
"""
ROUTING_STOPS_SQL = (
    "CREATE TABLE IF NOT EXISTS routing_stops AS " + ROUTING_STOPS_SELECT.format(where="") + ";\n"
)

# Per task_key and tier, the non-escalated runs with a known outcome (the siblings verdicts
# judge a run against): counts, sums with how many values are known, and the run to compare
# with (a success first, then the earliest). Rebuilt for the task_keys an ingest touches
# (analysis.kept_tables) so the tier comparisons read a few rows per task, never every run.
TIER_RANK = "CASE tier WHEN 'small' THEN 1 WHEN 'medium' THEN 2 WHEN 'large' THEN 3 END"
PICK_KEY_SQL = "(outcome <> 'success', start_time, trace_id)"
TASK_TIERS_SELECT = f"""
SELECT task_key, tier, CAST({TIER_RANK} AS INTEGER) AS rank,
    count(*) AS runs, count(*) FILTER (WHERE outcome = 'success') AS successes,
    sum(cost_usd) AS cost_usd, count(cost_usd) AS cost_runs,
    sum(wall_ms) AS wall_ms, count(wall_ms) AS wall_runs,
    sum(cost_usd) FILTER (WHERE outcome = 'success') AS success_cost_usd,
    count(cost_usd) FILTER (WHERE outcome = 'success') AS success_cost_runs,
    sum(wall_ms) FILTER (WHERE outcome = 'success') AS success_wall_ms,
    count(wall_ms) FILTER (WHERE outcome = 'success') AS success_wall_runs,
    arg_min(trace_id, {PICK_KEY_SQL}) AS pick_trace_id,
    arg_min(primary_model, {PICK_KEY_SQL}) AS pick_model,
    arg_min(outcome <> 'success', {PICK_KEY_SQL}) AS pick_failed,
    arg_min(start_time, {PICK_KEY_SQL}) AS pick_start_time
FROM trajectories
WHERE task_key IS NOT NULL AND escalated = false AND outcome IN ('success', 'failure', 'error')
  AND tier IN ('small', 'medium', 'large') {{scope}}
GROUP BY task_key, tier
"""
TASK_TIERS_SQL = (
    "CREATE TABLE IF NOT EXISTS task_tiers AS " + TASK_TIERS_SELECT.format(scope="") + ";\n"
)

# Per trajectory and waste category, its findings summed (with how many have tokens and a
# dollar value): what the fleet waste breakdowns add up, a third of the `findings` rows.
# Rebuilt with `findings` for the touched traces (analysis.kept_tables).
TRACE_WASTE_SELECT = """
SELECT trace_id, category, count(*) AS findings,
    CAST(sum(tokens) AS BIGINT) AS tokens, count(tokens) AS findings_with_tokens,
    sum(usd) AS usd, count(usd) AS findings_with_usd
FROM findings {where}
GROUP BY trace_id, category
"""
TRACE_WASTE_SQL = (
    "CREATE TABLE IF NOT EXISTS trace_waste AS " + TRACE_WASTE_SELECT.format(where="") + ";\n"
)

MIGRATIONS_SQL = "".join(
    f"ALTER TABLE trajectories ADD COLUMN IF NOT EXISTS {name} {kind};\n"
    for name, kind in TRAJECTORY_ANALYSIS_COLUMNS
) + (
    # spans of this upload that went with another upload's delete (store/deletes.py): while
    # any are gone, the same file is not "already ingested", so ingesting it restores them
    "ALTER TABLE uploads ADD COLUMN IF NOT EXISTS deleted_spans BIGINT DEFAULT 0;\n"
)

SCHEMA_SQL = _TABLES_SQL + MIGRATIONS_SQL + ROUTING_STOPS_SQL + TASK_TIERS_SQL + TRACE_WASTE_SQL
