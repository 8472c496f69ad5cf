"""One measurement in a fresh process, printed as one JSON line on stdout.

    python -m bench.probe duckdb_count FILE
    python -m bench.probe protobuf_parse FILE
    python -m bench.probe decode FILE
    python -m bench.probe ingest FILE DB
    python -m bench.probe cli FILE DB

A fresh process per measurement makes peak RSS mean something: `baseline_mb` is the
resident size once every import is done (what an idle server already holds), `peak_mb`
the high-water mark of the process and, while it decodes in worker processes, of the
workers too (their resident sizes summed), so peak - baseline is what the work needed.
CPU time includes the workers'. `cli` runs the whole `python -m ingest` command as a child,
so its peak is the command's own resident size, imports included.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import threading
import time
from pathlib import Path


def rss_mb() -> float:
    return _status_kb(os.getpid(), "VmRSS") / 1024


def anon_mb() -> float:
    """The anonymous part of the resident size: what the kernel cannot drop under pressure
    (file pages mapped, such as the decoded parts, can be)."""
    return _status_kb(os.getpid(), "RssAnon") / 1024


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class TreePeak:
    """High-water mark of the resident size of this process plus its descendants (the
    decoding workers of `ingest.otlp.parallel`), sampled every 20 ms while the work runs."""

    def __init__(self) -> None:
        self.peak = 0.0
        self.anon_peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> TreePeak:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        me = os.getpid()
        while not self._stop.wait(0.02):
            pids = _tree(me)
            self.peak = max(self.peak, sum(_status_kb(pid, "VmRSS") for pid in pids) / 1024)
            anon = sum(_status_kb(pid, "RssAnon") for pid in pids) / 1024
            self.anon_peak = max(self.anon_peak, anon)


def _tree(root: int) -> list[int]:
    """`root` and every process below it."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents.get(pid, ()))
    return found


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def duckdb_count(path: str) -> dict:
    """The JSON ceiling: DuckDB parsing the file and counting its records, nothing else."""
    import duckdb

    con = duckdb.connect()
    baseline = rss_mb()
    started = time.perf_counter()
    (records,) = con.execute("SELECT count(*) FROM read_ndjson(?)", [path]).fetchone()
    return {"seconds": time.perf_counter() - started, "records": records, "baseline_mb": baseline}


def protobuf_parse(path: str) -> dict:
    """The protobuf ceiling: upb parsing every framed request, spans counted, no Python walk."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    baseline = rss_mb()
    started = time.perf_counter()
    spans = 0
    with open(path, "rb") as handle:
        while prefix := handle.read(4):
            request = ExportTraceServiceRequest.FromString(
                handle.read(int.from_bytes(prefix, "big"))
            )
            spans += sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)
    return {"seconds": time.perf_counter() - started, "records": spans, "baseline_mb": baseline}


def decode(path: str) -> dict:
    """The adapter alone: bytes on disk -> canonical Arrow table."""
    from ingest.registry import _load_builtin_adapters, decode_file

    _load_builtin_adapters()
    baseline, baseline_anon = rss_mb(), anon_mb()
    started, cpu, children_cpu = time.perf_counter(), time.process_time(), _children_cpu()
    with TreePeak() as tree:
        decoded = decode_file(path)
        seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "cpu_seconds": time.process_time() - cpu + _children_cpu() - children_cpu,
        "records": decoded.spans.num_rows,
        "traces": decoded.trace_count,
        "format": decoded.format,
        "baseline_mb": baseline,
        "baseline_anon_mb": baseline_anon,
        "tree_peak_mb": tree.peak,
        "anon_peak_mb": tree.anon_peak,
    }


def ingest(path: str, db_file: str) -> dict:
    """The user's path, to queryable: decode, write, rollups (`analysis.pipeline.ingest_path`).

    Phases are timed by wrapping the names the pipeline looks up, not by editing it.
    """
    import analysis.pipeline as pipeline
    from ingest.registry import _load_builtin_adapters
    from store import db

    _load_builtin_adapters()
    phases: dict[str, float] = {}
    pipeline.decode_file = _timed(pipeline.decode_file, phases, "decode")
    pipeline.refresh_for_traces = _timed(pipeline.refresh_for_traces, phases, "rollups")
    con = db.connect(db_file)
    baseline, baseline_anon = rss_mb(), anon_mb()
    started = time.perf_counter()
    with TreePeak() as tree:
        report = pipeline.ingest_path(con, path)
        seconds = time.perf_counter() - started
    db.close(db_file)
    if not report.ok:
        raise SystemExit(f"ingest failed: {report.error}")
    # the rest: hashing the file, inserting the spans, recording the upload
    write = seconds - phases.get("decode", 0) - phases.get("rollups", 0)
    return {
        "seconds": seconds,
        "records": report.spans,
        "traces": report.trajectories,
        "phases": {**phases, "write": write},
        "baseline_mb": baseline,
        "baseline_anon_mb": baseline_anon,
        "tree_peak_mb": tree.peak,
        "anon_peak_mb": tree.anon_peak,
    }


def cli(path: str, db_file: str) -> dict:
    """`python -m ingest FILE --db DB` as a user runs it on a new store: the whole command,
    interpreter start and imports included."""
    import subprocess

    for stale in (Path(db_file), Path(db_file + ".wal")):
        stale.unlink(missing_ok=True)
    baseline, baseline_anon = rss_mb(), anon_mb()
    started, children_cpu = time.perf_counter(), _children_cpu()
    with TreePeak() as tree:
        done = subprocess.run(
            [sys.executable, "-m", "ingest", "--json", path, "--db", db_file],
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"python -m ingest failed: {done.stdout[-1000:]} {done.stderr[-1000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "seconds": seconds,
        "cpu_seconds": _children_cpu() - children_cpu,
        "records": report["spans"],
        "traces": report["trajectories"],
        "baseline_mb": baseline,
        "baseline_anon_mb": baseline_anon,
        "tree_peak_mb": tree.peak,
        "anon_peak_mb": tree.anon_peak,
        **_command_baseline(db_file),
    }


def _command_baseline(db_file: str) -> dict:
    """What the command holds before it reads a byte: the interpreter with the ingest path
    imported and the store open (measured in a child like the command itself)."""
    import subprocess

    script = (
        "import analysis.pipeline, ingest.registry, store.db\n"
        "from bench.probe import anon_mb, rss_mb\n"
        "ingest.registry._load_builtin_adapters()\n"
        f"store.db.connect({db_file!r})\n"
        "print(rss_mb(), anon_mb())"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    rss, anon = done.stdout.strip().splitlines()[-1].split()
    return {"command_baseline_mb": float(rss), "command_baseline_anon_mb": float(anon)}


def _timed(function, phases: dict, name: str):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            phases[name] = phases.get(name, 0.0) + time.perf_counter() - started

    return wrapper


def stages(path: str, max_lines: str = "100") -> dict:
    """Where OTLP JSON decode time goes: CPU per span of each pipeline stage, measured by
    running the pipeline cut after each stage (GC paused, as the adapter runs it; best of 2)."""
    import gc
    import itertools
    import tempfile

    from ingest.otlp import adapter
    from ingest.otlp.envelope import JsonSpanReader
    from ingest.otlp.streams import iter_json_values
    from ingest.otlp.table import TableBuilder
    from ingest.source import Source

    with open(path, "rb") as whole, tempfile.NamedTemporaryFile(suffix=".jsonl") as part:
        part.writelines(itertools.islice(whole, int(max_lines)))
        part.flush()

        def spans():
            return JsonSpanReader(Source.open(part.name)).spans()

        def builder(rows):
            table = TableBuilder()
            for seq, span in enumerate(rows):
                table.add(adapter.span_row(span, seq))
            return table

        cuts = {
            "read + parse lines": lambda: sum(1 for _ in iter_json_values(Source.open(part.name))),
            "envelope walk": lambda: sum(1 for _ in spans()),
            "convention mapping": lambda: sum(
                1 for i, s in enumerate(spans()) if adapter.span_row(s, i)
            ),
            "arrow batches": lambda: builder(spans())._flush(),
            "tool/session fills": lambda: builder(spans()).finish(),
        }
        count = adapter.spans_to_table(spans()).num_rows
        gc.disable()
        cumulative = {}
        for name, cut in cuts.items():
            cumulative[name] = min(_cpu_seconds(cut) for _ in range(2)) / count * 1e6
        gc.enable()
    names, previous, per_stage = list(cumulative), 0.0, {}
    for name in names:
        per_stage[name] = max(cumulative[name] - previous, 0.0)
        previous = cumulative[name]
    total = sum(per_stage.values()) * count / 1e6
    return {"seconds": total, "records": count, "us_per_span": per_stage, "baseline_mb": rss_mb()}


def _cpu_seconds(function) -> float:
    started = time.process_time()
    function()
    return time.process_time() - started


PROBES = {
    "duckdb_count": duckdb_count,
    "protobuf_parse": protobuf_parse,
    "decode": decode,
    "ingest": ingest,
    "cli": cli,
    "stages": stages,
}


def main(argv: list[str]) -> int:
    result = PROBES[argv[0]](*argv[1:])
    # with decoding workers, the whole process tree's sampled peak (the larger of the two)
    result["peak_mb"] = max(peak_mb(), result.pop("tree_peak_mb", 0.0))
    result["bytes"] = Path(argv[1]).stat().st_size
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
