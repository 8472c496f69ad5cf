"""The live OTLP endpoint under exporters sending at once, beside one exporter alone.

A team points many agent processes at one server; each OpenTelemetry SDK exports batches of
up to 512 spans and gives up on a request after 10 s (the exporter's default timeout). The
real server (`streamlit run server.py`) runs on a copy of the bench's store, and protobuf
exports of new trajectories (another seed of the same generator, so no span is already
stored) are posted first by one exporter, one request at a time (the baseline), then by
several at once. Both are measured in the same run, on the same server.
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from bench import generate

ROOT = Path(__file__).resolve().parent.parent
FRAMES_SEED = 8  # the store's data is seed 7: these spans are all new to it
EXPORTER_TIMEOUT_S = 10.0
PROTOBUF = "application/x-protobuf"


def measure(store: Path, out: Path, exporters: int, requests_each: int, log) -> dict:
    serial_requests = exporters
    needed = serial_requests + exporters * requests_each
    data = generate.ensure(out / "endpoint-frames", needed * 512, ("otlp_protobuf",), FRAMES_SEED)
    frames = collector_frames(out / "endpoint-frames" / data["files"]["otlp_protobuf"]["file"])
    if len(frames) < needed:
        raise RuntimeError(f"{len(frames)} exports generated, {needed} needed")
    with tempfile.TemporaryDirectory(prefix="agenttime-endpoint-") as folder:
        copy = Path(folder) / "store.duckdb"
        shutil.copyfile(store, copy)
        with _server(copy) as url:
            log(f"  endpoint: 1 exporter, {serial_requests} exports")
            alone = _post_all(url, [frames[:serial_requests]])
            log(f"  endpoint: {exporters} exporters, {requests_each} exports each")
            rest = frames[serial_requests:needed]
            together = _post_all(url, [rest[k::exporters] for k in range(exporters)])
    return {"exporters": exporters, "alone": alone, "together": together}


def collector_frames(path: Path) -> list[bytes]:
    """The export requests of a Collector-framed file (4-byte big-endian length + message)."""
    data, frames, offset = path.read_bytes(), [], 0
    while offset < len(data):
        length = int.from_bytes(data[offset : offset + 4], "big")
        frames.append(data[offset + 4 : offset + 4 + length])
        offset += 4 + length
    return frames


def _post_all(url: str, per_exporter: list[list[bytes]]) -> dict:
    """Each list of exports posted in order by its own thread; timings of every request."""
    latencies: list[float] = []
    spans = sum(_span_count(body) for bodies in per_exporter for body in bodies)
    lock = threading.Lock()

    def exporter(bodies: list[bytes]) -> None:
        for body in bodies:
            request = urllib.request.Request(url, data=body, headers={"Content-Type": PROTOBUF})
            started = time.perf_counter()
            with urllib.request.urlopen(request, timeout=600) as response:
                response.read()
            with lock:
                latencies.append(time.perf_counter() - started)

    threads = [threading.Thread(target=exporter, args=(bodies,)) for bodies in per_exporter]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "spans": spans,
        "seconds": seconds,
        "spans_per_s": spans / seconds,
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": latencies[round(0.95 * (len(latencies) - 1))] * 1000,
        "max_ms": latencies[-1] * 1000,
        "over_timeout": sum(latency > EXPORTER_TIMEOUT_S for latency in latencies),
    }


def _span_count(body: bytes) -> int:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest.FromString(body)
    return sum(len(scope.spans) for rs in request.resource_spans for scope in rs.scope_spans)


class _server:
    """The real server on a free port against `store`, stopped on exit."""

    def __init__(self, store: Path):
        self.store = store

    def __enter__(self) -> str:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        command = [
            sys.executable, "-m", "streamlit", "run", "server.py", "--server.headless=true",
            f"--server.port={port}", "--server.address=127.0.0.1",
            "--server.fileWatcherType=none", "--browser.gatherUsageStats=false",
        ]  # fmt: skip
        env = {**os.environ, "AGENTTIME_DB": str(self.store)}
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with code {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                    return f"{base}/v1/traces"
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("the server did not become healthy in 120 s")

    def __exit__(self, *exc) -> None:
        self.process.kill()
        self.process.wait()


def report_lines(measured: dict, spans: int) -> list[str]:
    alone, together = measured["alone"], measured["together"]
    ratio = together["spans_per_s"] / alone["spans_per_s"]
    rows = [
        "| exporters | exports | spans | s | spans/s | p50 ms | p95 ms | max ms | over 10 s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for count, run in ((1, alone), (measured["exporters"], together)):
        rows.append(
            f"| {count} | {run['requests']} | {run['spans']:,} | {run['seconds']:.1f} | "
            f"{run['spans_per_s']:,.0f} | {run['p50_ms']:,.0f} | {run['p95_ms']:,.0f} | "
            f"{run['max_ms']:,.0f} | {run['over_timeout']} |"
        )
    return [
        f"## The OTLP endpoint, exporters at once ({spans:,}-span store)",
        "",
        "`POST /v1/traces` on the real server, on a copy of the store above: protobuf exports "
        "of about 512 spans of new trajectories (batches cut across runs, as an SDK's batch "
        "processor cuts them), first from one exporter waiting for each answer, then from "
        f"{measured['exporters']} exporters at once. An SDK gives up on a request after 10 s.",
        "",
        *rows,
        "",
        f"{measured['exporters']} exporters at once: {ratio:.1f}x the spans/s of one. "
        "Exports that arrive while another is being written are committed together, with one "
        "refresh of the rollups for all of them (`store.writes.write_spans`): the refresh "
        "of a 1M-span store costs about as much for one export as for eight. A/B on the "
        "1M-span store (2026-11-29, two runs each, back to back, with other work on the machine): "
        "each export committed on its own, 8 exporters reached 886-1,062 spans/s with a p95 "
        "of 4.5-5.1 s (slowest 8.8 s, near the SDK's timeout); committed in groups, "
        "2,243-2,387 spans/s with a p95 of 2.0-2.1 s. One exporter alone was not changed "
        "(571-1,009 spans/s in the four runs).",
        "",
    ]
