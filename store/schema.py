"""The public tables (DESIGN §2), created idempotently.

`spans` is a contract users query with SQL. `trajectories` and `findings` are rollups
maintained at ingest (and when prices change) so pages read small tables, never
recompute per view.
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
    input VARCHAR,
    output VARCHAR,
    attributes JSON,
    seq BIGINT,
    score DOUBLE
"""

SCHEMA_SQL = f"""
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
    verdict VARCHAR
);
"""
