"""The benchmark, step by step: data, ingest per format, the store, pages at 1x and 5x.

Each step logs as it goes; the collected numbers go to `bench/RESULTS.md` (and
`bench/out/results.json`). Nothing here asserts a speed: targets are compared and any
shortfall is written down with its measured cause.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench import endpoint_bench, generate, ingest_bench, query_bench, scale

OUT = Path(__file__).resolve().parent / "out"
EXPORTERS = 8  # agent processes exporting to the endpoint at once
FORMAT_FILES = {
    "otlp_json": "otlp.jsonl",
    "otlp_protobuf": "otlp.binpb",
    "span_jsonl": "spans.jsonl",
    "langsmith": "langsmith.jsonl",
}


@dataclass
class Config:
    spans: int
    sample_spans: int
    runs: int
    upload_bytes: int
    scale_factor: int
    query_repeats: int
    views_per_user: int
    users: int = 4
    page_budget_s: float = 10.0  # a page's views stop once they took this long (>= 1 view)
    quick: bool = False

    @classmethod
    def make(cls, quick: bool, spans: int | None) -> Config:
        if quick:
            n = spans or 100_000
            return cls(n, min(n, 30_000), 3, 10**9, 5, 10, 8, quick=True)
        n = spans or 1_000_000
        return cls(n, min(n, 100_000), 3, 10**9, 5, 20, 12)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(config: Config) -> dict:
    started = time.perf_counter()
    results: dict = {"config": asdict(config), "machine": machine(), "load_before": load()}
    log(f"data: {config.spans:,} spans (+ a {config.sample_spans:,}-span sample for ingest runs)")
    data, sample = OUT / f"data-{config.spans}", OUT / f"data-{config.sample_spans}"
    everything = tuple(FORMAT_FILES)
    if sample == data:
        results["data"] = results["sample"] = generate.ensure(data, config.spans, everything)
    else:  # the big set only feeds the store: OTLP JSON, the format OTel exporters write
        results["data"] = generate.ensure(data, config.spans, ("otlp_json",))
        results["sample"] = generate.ensure(sample, config.sample_spans, everything)
    log("ingest per format (fresh process per run)")
    results["formats"] = ingest_bench.ingest_formats(sample, FORMAT_FILES, config.runs, log)
    results["stages"] = ingest_bench.probe("stages", str(sample / "otlp.jsonl"), "24")
    log(f"store: {config.spans:,} spans, first upload <= {config.upload_bytes / 1e9:.1f} GB")
    store = OUT / f"store-{config.spans}.duckdb"
    results["store"] = ingest_bench.build_store(data, store, config.upload_bytes, log)
    log("the OTLP endpoint: exporters at once")
    results["endpoint"] = endpoint_bench.measure(store, OUT, EXPORTERS, 3, log)
    measure_queries(results, store, config)
    return finish(results, started)


def run_pages(previous: dict) -> dict:
    """Page timings again on the store the last run built (pages change more often than
    ingest); every other number is kept from `previous`."""
    started = time.perf_counter()
    config = Config(**previous["config"])
    store = OUT / f"store-{config.spans}.duckdb"
    if not store.exists():
        raise SystemExit(f"{store} is missing: run `python -m bench` first")
    results = {
        **previous,
        "config": asdict(config),
        "ingest_load": previous.get(
            "ingest_load", [previous["load_before"], previous["load_after"]]
        ),
        "load_before": load(),
        "pages_rerun": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    measure_queries(results, store, config)
    results = finish(results, started)
    results["seconds"] = previous["seconds"]
    return results


def measure_queries(results: dict, store: Path, config: Config) -> None:
    results["queries"] = {config.spans: measure_store(store, config)}
    if config.scale_factor > 1:
        big = OUT / f"store-{config.spans * config.scale_factor}.duckdb"
        log(f"store x{config.scale_factor}: copying rows")
        copied = time.perf_counter()
        counts = scale.replicate(store, big, config.scale_factor)
        results["scaled"] = {"rows": counts, "seconds": time.perf_counter() - copied}
        results["queries"][counts["spans"]] = measure_store(big, config)
        big.unlink(missing_ok=True)


def finish(results: dict, started: float) -> dict:
    results["load_after"] = load()
    results["seconds"] = time.perf_counter() - started
    results["finished"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    (OUT / "results.json").write_text(json.dumps(results, indent=2, default=str))
    return results


def measure_store(path: Path, config: Config) -> dict:
    from store import db

    con = db.connect(path)
    try:
        log(f"pages on {path.name}")
        measured = query_bench.measure_pages(con, config.query_repeats, log, config.page_budget_s)
        log(f"{config.users} concurrent sessions")
        measured["concurrent"] = query_bench.concurrent_sessions(
            con, config.users, config.views_per_user
        )
        with con.cursor() as cur:
            measured["rows"] = dict(
                zip(
                    ("spans", "trajectories"),
                    cur.execute(
                        "SELECT (SELECT count(*) FROM spans), (SELECT count(*) FROM trajectories)"
                    ).fetchone(),
                    strict=True,
                )
            )
    finally:
        db.close(path)
    measured["db_mb"] = path.stat().st_size / 1e6
    return measured


def machine() -> dict:
    import duckdb
    import pyarrow

    return {
        "cpu": _cpu_model(),
        "cores": _cores(),
        "ram_gb": _ram_gb(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "pyarrow": pyarrow.__version__,
        "platform": platform.platform(),
    }


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _cores() -> int:
    return len(os.sched_getaffinity(0))


def _ram_gb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024**2, 1)
    return 0.0
