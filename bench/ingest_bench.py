"""Ingest throughput per format, each beside its ceiling measured in the same run.

Every measurement runs in a fresh process (`bench.probe`) several times; the median is
reported. The ceiling for a JSON file is DuckDB's bare `count(*)` over `read_ndjson` of the
same file (parse only, both cores); for protobuf it is the bare upb decode of every request.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CEILINGS = {
    "otlp_json": "duckdb_count",
    "otlp_protobuf": "protobuf_parse",
    "span_jsonl": "duckdb_count",
    "langsmith": "duckdb_count",
}


def probe(*args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "bench.probe", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.probe {' '.join(args)} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def median_run(runs: int, *args: str) -> dict:
    """The run with the median time (so its RSS and counts belong to one real run)."""
    results = sorted((probe(*args) for _ in range(runs)), key=lambda r: r["seconds"])
    chosen = dict(results[len(results) // 2])
    chosen["all_seconds"] = [round(r["seconds"], 3) for r in results]
    chosen["peak_mb"] = max(r["peak_mb"] for r in results)
    chosen["anon_peak_mb"] = max(r.get("anon_peak_mb", 0.0) for r in results)
    return chosen


def format_row(name: str, path: Path, runs: int, log, targeted: bool = False) -> dict:
    ceiling = median_run(runs, CEILINGS[name], str(path))
    log(f"  {name}: ceiling {ceiling['all_seconds']} s")
    decoded = median_run(runs, "decode", str(path))
    log(f"  {name}: decode {decoded['all_seconds']} s")
    mb = path.stat().st_size / 1e6
    command = None
    if targeted:  # the measure: the whole `python -m ingest` command, on a new store
        store = path.with_name(f"cli-{name}.duckdb")
        command = median_run(runs, "cli", str(path), str(store))
        log(f"  {name}: python -m ingest {command['all_seconds']} s")
        for leftover in (store, store.with_name(store.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return {
        "cli": command,
        "format": name,
        "file": path.name,
        "mb": mb,
        "spans": decoded["records"],
        "decode": decoded,
        "ceiling": {**ceiling, "kind": CEILINGS[name]},
        "mb_per_s": mb / decoded["seconds"],
        "spans_per_s": decoded["records"] / decoded["seconds"],
        "ceiling_mb_per_s": mb / ceiling["seconds"],
        "ratio": ceiling["seconds"] / decoded["seconds"],
    }


TARGETED = ("otlp_json", "otlp_protobuf")  # the formats with a throughput target


def ingest_formats(folder: Path, files: dict[str, str], runs: int, log) -> list[dict]:
    """Each format `runs` times if it has a target, once otherwise (it is only reported)."""
    return [
        format_row(name, folder / file, runs if name in TARGETED else 1, log, name in TARGETED)
        for name, file in files.items()
    ]


def split_upload(source: Path, first: Path, rest: Path, limit_bytes: int) -> int:
    """Cut a JSON Lines file at a line boundary: `first` holds at most `limit_bytes`."""
    size = 0
    with source.open("rb") as lines, first.open("wb") as head, rest.open("wb") as tail:
        for line in lines:
            if size + len(line) <= limit_bytes and tail.tell() == 0:
                head.write(line)
                size += len(line)
            else:
                tail.write(line)
    return size


def build_store(data: Path, db_file: Path, upload_bytes: int, log) -> dict:
    """The N-span store, built the user's way: one upload of at most `upload_bytes`
    (the "1 GB upload" measurement), then the rest of the file as a second upload."""
    for stale in (db_file, db_file.with_name(db_file.name + ".wal")):
        stale.unlink(missing_ok=True)
    first, rest = data / "upload_first.jsonl", data / "upload_rest.jsonl"
    split_upload(data / "otlp.jsonl", first, rest, upload_bytes)
    upload = probe("ingest", str(first), str(db_file))
    log(f"  first upload {upload['bytes'] / 1e6:.0f} MB: {upload['seconds']:.1f} s")
    second = probe("ingest", str(rest), str(db_file)) if rest.stat().st_size else None
    if second:
        log(f"  second upload {second['bytes'] / 1e6:.0f} MB: {second['seconds']:.1f} s")
    first.unlink()
    rest.unlink()
    return {"upload": upload, "second": second}
