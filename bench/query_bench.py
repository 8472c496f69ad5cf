"""Server-side time of every page's reads, what each page sends, and four users at once.

Times are uncached (the first view after an ingest, or any view Streamlit's cache misses):
each read runs on its own cursor of the one process connection, as pages run them.
"""

from __future__ import annotations

import io
import statistics
import threading
import time
from typing import Any

import pyarrow as pa

from bench.pages import Context, Page, Recorder, context, pages

SESSION_PAGES = ("overview", "trajectories", "trajectory (typical)", "waste")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict:
    return {"p50": statistics.median(values), "p95": percentile(values, 0.95), "n": len(values)}


def run_page(con, page: Page, ctx: Context) -> Recorder:
    """One uncached view of `page`: ms per step, and the results (for payload sizes)."""
    recorder = Recorder()
    page.view(recorder, con, ctx)
    return recorder


def measure_pages(con, repeats: int, log, budget_s: float = 10.0) -> dict:
    """`repeats` views of every page, fewer once a page's views pass `budget_s` (at least 3,
    or 1 when one view alone takes longer than the budget), after one uncounted view of
    each page: the first read of a freshly opened store file is disk, not the page."""
    ctx = context(con)
    for page in pages():  # one uncounted view each: a running server has read the file once
        run_page(con, page, ctx)
    measured = {}
    for page in pages():
        per_step: dict[str, list[float]] = {}
        totals: list[float] = []
        started = time.perf_counter()
        while len(totals) < repeats and not _spent(totals, time.perf_counter() - started, budget_s):
            recorder = run_page(con, page, ctx)
            totals.append(sum(recorder.timings.values()))
            for label, ms in recorder.timings.items():
                per_step.setdefault(label, []).append(ms)
        measured[page.name] = {
            "total": summary(totals),
            "reads": {
                label: {**summary(v), "kind": recorder.kinds[label]}
                for label, v in per_step.items()
            },
            "payload": payload(recorder.results),
            "missing": sorted(set(recorder.missing)),
        }
        log(
            f"  {page.name}: p50 {measured[page.name]['total']['p50']:.0f} ms ({len(totals)} views)"
        )
    return {"context": ctx.__dict__, "pages": measured}


def _spent(totals: list[float], elapsed: float, budget_s: float) -> bool:
    if not totals:
        return False
    return elapsed > budget_s and (len(totals) >= 3 or totals[0] > budget_s * 1000)


def payload(results: dict[str, Any]) -> dict:
    """Rows and Arrow bytes of the tables, JSON bytes of the figures a page would send."""
    tables, figures = {}, {}
    for label, value in results.items():
        if hasattr(value, "to_arrow") and hasattr(value, "height"):
            tables[label] = {"rows": value.height, "bytes": arrow_bytes(value.to_arrow())}
        elif hasattr(value, "to_json") and hasattr(value, "data"):
            figures[label] = {"bytes": len(value.to_json()), "traces": len(value.data)}
    return {"tables": tables, "figures": figures}


def arrow_bytes(table: pa.Table) -> int:
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.tell()


def concurrent_sessions(con, users: int, views_each: int) -> dict:
    """`users` threads each viewing the session pages in turn; page times pooled."""
    ctx = context(con)
    chosen = [p for p in pages() if p.name in SESSION_PAGES]
    times: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def session(offset: int) -> None:
        for view in range(views_each):
            page = chosen[(offset + view) % len(chosen)]
            try:
                recorder = run_page(con, page, ctx)
            except Exception as exc:  # a failure is a result to report, not a crash
                with lock:
                    errors.append(f"{page.name}: {exc}")
                continue
            with lock:
                times.append(sum(recorder.timings.values()))

    threads = [threading.Thread(target=session, args=(i,)) for i in range(users)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "users": users,
        "views": len(times),
        "seconds": time.perf_counter() - started,
        "pages": [p.name for p in chosen],
        **summary(times),
        "errors": errors[:5],
    }
