"""A store holding the bundled sample traces, built once per test session and copied per test.

Ingesting the three sample files takes about a second; the pages tests only read (or, on
Settings, rewrite prices), so each test gets its own copy of one prepared DuckDB file.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from itertools import combinations
from pathlib import Path
from statistics import mean

import pytest

from analysis.pipeline import ingest_path
from store import db
from tests.conftest import ROOT

SAMPLE_FILES = (
    "agents.spans.jsonl",
    "support-bot.otlp.jsonl",
    "research-agent.langsmith.jsonl",
)


def sql(db_file, query: str, params: list | None = None) -> list[tuple]:
    with db.connect(db_file).cursor() as cur:
        return cur.execute(query, params or []).fetchall()


LISTED_SQL = """
SELECT input_per_mtok + output_per_mtok FROM models WHERE lower(?) LIKE lower(pattern)
ORDER BY length(pattern) DESC LIMIT 1
"""
SINGLE_MODEL_RUNS_SQL = """
SELECT primary_model, task_key, cost_usd FROM trajectories
WHERE task_key IS NOT NULL AND len(models) = 1 AND cost_usd IS NOT NULL
  AND input_tokens IS NOT NULL AND output_tokens IS NOT NULL AND token_calls = llm_calls
"""


def expected_reversals(db_file) -> tuple[int, int]:
    """(reversed, comparable) pairs, by the definition in docs/metrics.md."""
    costs: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for model, task, cost in sql(db_file, SINGLE_MODEL_RUNS_SQL):
        costs[model][task].append(cost)
    listed = {m: sql(db_file, LISTED_SQL, [m])[0][0] for m in costs}
    reversed_pairs = comparable = 0
    for a, b in combinations(sorted(costs), 2):
        shared = set(costs[a]) & set(costs[b])
        if listed[a] == listed[b] or not shared:
            continue
        cheaper, pricier = sorted((a, b), key=listed.get)
        per_task = {m: mean(mean(costs[m][t]) for t in shared) for m in (cheaper, pricier)}
        comparable += 1
        reversed_pairs += per_task[cheaper] > per_task[pricier]
    return reversed_pairs, comparable


def build_sample_store(path: Path) -> Path:
    con = db.connect(path)
    try:
        for name in SAMPLE_FILES:
            report = ingest_path(con, ROOT / "sample_traces" / name)
            assert report.ok, report.error
    finally:
        db.close(path)
    return path


@pytest.fixture(scope="session")
def sample_store_template(tmp_path_factory) -> Path:
    return build_sample_store(tmp_path_factory.mktemp("sample-store") / "sample.duckdb")


@pytest.fixture
def sample_db(sample_store_template, tmp_path):
    """A private copy of the sample store; the connection a test opens on it is closed after."""
    path = Path(shutil.copy(sample_store_template, tmp_path / "sample.duckdb"))
    yield path
    db.close(path)
