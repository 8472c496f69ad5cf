"""Write N spans of synthetic agent trajectories in every benchmarked format, plus a manifest.

    python -m bench.generate --spans 1000000 --out bench/out/data-1000000

The manifest records the exact span and trajectory counts (and each file's size), so the
benchmark and the smoke test can check an ingest against what was generated. Two processes
write two formats each (the trajectories are made from the same seed in both).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench.formats import WRITERS
from bench.synth import trajectories

MANIFEST = "manifest.json"
HALVES = (("otlp_json", "span_jsonl"), ("otlp_protobuf", "langsmith"))


def generator_version() -> str:
    """Changes whenever the generator's code does, so stale data is never reused."""
    digest = hashlib.sha256()
    for name in ("synth.py", "formats.py"):
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.hexdigest()[:12]


def write_formats(out: Path, spans: int, seed: int, formats: tuple[str, ...]) -> dict:
    """Write `formats` under `out`; returns the counts and file sizes."""
    out.mkdir(parents=True, exist_ok=True)
    writers = {name: WRITERS[name][1](out / WRITERS[name][0]) for name in formats}
    counts = {"spans": 0, "trajectories": 0, "llm": 0, "tool": 0, "agent": 0}
    for trace in trajectories(spans, seed):
        counts["trajectories"] += 1
        counts["spans"] += len(trace.spans)
        for span in trace.spans:
            counts[span.kind] += 1
        for writer in writers.values():
            writer.add(trace)
    for writer in writers.values():
        writer.close()
    files = {
        name: {"file": WRITERS[name][0], "bytes": (out / WRITERS[name][0]).stat().st_size}
        for name in formats
    }
    return {**counts, "files": files}


def generate(
    out: Path,
    spans: int,
    seed: int = 7,
    parallel: bool = True,
    formats: tuple[str, ...] = tuple(WRITERS),
) -> dict:
    """`formats` under `out` and manifest.json; two processes share the work if `parallel`."""
    started = time.perf_counter()
    halves = [tuple(f for f in half if f in formats) for half in HALVES]
    halves = [half for half in halves if half]
    if parallel and len(halves) > 1:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(len(halves), mp_context=context) as pool:
            jobs = [pool.submit(write_formats, out, spans, seed, half) for half in halves]
            parts = [job.result() for job in jobs]
    else:
        parts = [write_formats(out, spans, seed, formats)]
    manifest = {key: value for key, value in parts[0].items() if key != "files"}
    manifest.update(
        seed=seed,
        generator=generator_version(),
        seconds=round(time.perf_counter() - started, 2),
        files={name: info for part in parts for name, info in part["files"].items()},
    )
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest


def load_manifest(out: Path) -> dict | None:
    try:
        return json.loads((out / MANIFEST).read_text())
    except (OSError, ValueError):
        return None


def ensure(out: Path, spans: int, formats: tuple[str, ...], seed: int = 7) -> dict:
    """`formats` under `out`, generated unless an identical data set is already there."""
    manifest = load_manifest(out)
    if _reusable(out, manifest, spans, seed) and set(formats) <= set(manifest["files"]):
        return manifest
    return generate(out, spans, seed, formats=formats)


def _reusable(out: Path, manifest: dict | None, spans: int, seed: int) -> bool:
    if not manifest or (manifest["spans"], manifest["seed"]) != (spans, seed):
        return False
    return manifest.get("generator") == generator_version() and _files_exist(out, manifest)


def _files_exist(out: Path, manifest: dict) -> bool:
    return all((out / f["file"]).exists() for f in manifest["files"].values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__)
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("bench/out/data"))
    args = parser.parse_args(argv)
    print(json.dumps(generate(args.out, args.spans, args.seed), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
