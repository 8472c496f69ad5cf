"""What each page asks the server for: the named reads it runs and the figures it builds.

Pages are UI only (DESIGN §1), so a page's server time is the time of the typed reads in
store/ and analysis/ and the pure figure builders in ui/ that its script calls on a first,
uncached view. The views below follow pages/*.py read for read (default controls, no
filter); a function missing from the checkout is skipped and listed, never faked. Pages
that only write (upload, settings) or show one person's reviews are not measured.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

OVERVIEW_LIST_ROWS, TRAJECTORIES_PAGE_ROWS, WASTE_TOP_ROWS = 10, 100, 50  # as in pages/
TABLE_ROWS = 500  # ui.fleet_common.TABLE_ROWS: one page of a long fleet table
HISTOGRAMS = (("wall_ms", "wall time (s)", 1 / 1000), ("turns", "turns", 1.0), ("cost_usd", "cost (USD)", 1.0))  # fmt: skip
WASTE_GROUPS = ("category", "agent", "model", "day")
ROUTING_K = 2


@dataclass
class Context:
    """Ids the reads need, picked from the store being measured."""

    typical_trace: str
    largest_trace: str
    model: str | None
    agent: str | None


@dataclass
class Recorder:
    """Runs and times one page view's steps; keeps results for the payload sizes."""

    timings: dict[str, float] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)

    def call(self, label: str, kind: str, where: str, *args, **kwargs) -> Any:
        """`kind`: list (list/KPI read), trajectory (one trajectory's read), span (the read a
        click on a span adds), figure, query."""
        module, _, name = where.rpartition(".")
        function = _resolve(module, name)
        if function is None:
            self.missing.append(where)
            return None
        started = time.perf_counter()
        result = function(*args, **kwargs)
        self.timings[label] = (time.perf_counter() - started) * 1000
        self.kinds[label], self.results[label] = kind, result
        return result


def _resolve(module: str, name: str) -> Callable | None:
    try:
        return getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None


def _no_filter():
    from analysis.filters import NO_FILTER

    return NO_FILTER


def overview(rec: Recorder, con, ctx: Context) -> None:
    flt = _no_filter()
    k = rec.call("kpis", "list", "analysis.queries.kpis", con, flt)
    rec.call("escalation_count", "list", "analysis.fleet_queries.escalation_count", con, flt)
    waste = rec.call("waste_by(category)", "query", "analysis.fleet.waste_by", con, "category", flt)
    rec.call("over_provisioned_summary", "list", "analysis.fleet_queries.over_provisioned_summary", con, flt)  # fmt: skip
    rec.call("over_provisioned 1", "list", "analysis.fleet_queries.over_provisioned", con, flt, limit=1)  # fmt: skip
    daily = rec.call("daily", "query", "analysis.fleet_queries.daily", con, flt)
    if daily is not None:
        rec.call("trend figure", "figure", "ui.fleet_figures.build_trend_figure", daily)
    for measure, title, scale in HISTOGRAMS:
        bins = rec.call(f"histogram({measure})", "query", "analysis.fleet_queries.histogram", con, measure, flt)  # fmt: skip
        if bins is not None and bins.height:
            rec.call(f"histogram({measure}) figure", "figure", "ui.fleet_figures.build_histogram_figure", bins, title, scale)  # fmt: skip
    if waste is not None and k is not None:
        rec.call("waste share figure", "figure", "ui.fleet_figures.build_waste_category_figure", waste, k.waste_base_tokens)  # fmt: skip
    counts = rec.call("verdict_counts", "query", "analysis.fleet_queries.verdict_counts", con, flt)
    if counts is not None:
        rec.call("verdict figure", "figure", "ui.fleet_figures.build_verdict_figure", counts)
    for sort in ("waste_usd", "wall_ms"):
        rec.call(f"trajectory_list({sort}) {OVERVIEW_LIST_ROWS}", "list", "analysis.queries.trajectory_list", con, flt, sort=sort, limit=OVERVIEW_LIST_ROWS)  # fmt: skip


def trajectories(rec: Recorder, con, ctx: Context) -> None:
    flt = _no_filter()
    rec.call("kpis", "list", "analysis.queries.kpis", con, flt)
    rec.call("trajectory_count", "list", "analysis.queries.trajectory_count", con, flt)
    rec.call(f"trajectory_list {TRAJECTORIES_PAGE_ROWS}", "list", "analysis.queries.trajectory_list", con, flt, "start_time", True, TRAJECTORIES_PAGE_ROWS, 0)  # fmt: skip


def trajectory(which: str) -> Callable[[Recorder, Any, Context], None]:
    def view(rec: Recorder, con, ctx: Context) -> None:
        trace = getattr(ctx, which)
        run = rec.call("trajectory", "trajectory", "analysis.queries.trajectory", con, trace)
        rec.call("trajectory_count", "list", "analysis.queries.trajectory_count", con)
        detail = {
            name: rec.call(name, "trajectory", where, con, trace)
            for name, where in (
                ("timeline_spans", "analysis.trajectory_queries.timeline_spans"),
                ("turn_rows", "analysis.trajectory_queries.turn_rows"),
                ("finding_rows", "analysis.trajectory_queries.finding_rows"),
                ("verdict", "analysis.queries.verdict"),
                ("siblings", "analysis.trajectory_queries.siblings"),
            )
        }
        for name, source in (("models_in_order", "turn_rows"), ("context_growth", "turn_rows"),
                             ("waste_summary", "finding_rows")):  # fmt: skip
            if detail[source] is not None:  # derived from a read, as the page does
                where = f"analysis.trajectory_queries.{name}"
                detail[name] = rec.call(name, "trajectory", where, detail[source])
        spans = detail["timeline_spans"]
        if spans is not None and spans.height:
            rec.call("span (inspector)", "span", "analysis.trajectory_queries.span", con, trace, spans["span_id"][0])  # fmt: skip
            rec.call("timeline figure", "figure", "ui.timeline.build_timeline_figure", spans)
        if detail["turn_rows"] is not None and detail["turn_rows"].height:
            rec.call("turn cost figure", "figure", "ui.trajectory_figures.build_turn_cost_figure", detail["turn_rows"])  # fmt: skip
        split = rec.call("time split frame", "figure", "ui.trajectory_figures.time_split_frame", run) if run else None  # fmt: skip
        if split is not None and not split.is_empty():
            rec.call("time split figure", "figure", "ui.trajectory_figures.build_time_split_figure", split)  # fmt: skip
        if detail["context_growth"] is not None and not detail["context_growth"].is_empty():
            rec.call("context growth figure", "figure", "ui.trajectory_figures.build_context_growth_figure", detail["context_growth"])  # fmt: skip

    return view


def waste(rec: Recorder, con, ctx: Context) -> None:
    flt = _no_filter()
    k = rec.call("kpis", "list", "analysis.queries.kpis", con, flt)
    for by in WASTE_GROUPS:
        frame = rec.call(f"waste_by({by})", "query", "analysis.fleet.waste_by", con, by, flt)
        if frame is None or k is None:
            continue
        if by == "category":
            rec.call("waste category figure", "figure", "ui.fleet_figures.build_waste_category_figure", frame, k.waste_base_tokens)  # fmt: skip
        else:
            rec.call(f"waste by {by} figure", "figure", "ui.fleet_figures.build_waste_by_figure", frame, "usd", by)  # fmt: skip
    if ctx.agent is not None:  # the drill-down a click on a bar opens
        rec.call("waste_behind(agent)", "query", "analysis.fleet_queries.waste_behind", con, "agent", ctx.agent, flt, limit=200)  # fmt: skip
    rec.call(f"trajectory_list(waste_usd) {WASTE_TOP_ROWS}", "list", "analysis.queries.trajectory_list", con, flt, sort="waste_usd", limit=WASTE_TOP_ROWS)  # fmt: skip


def models(rec: Recorder, con, ctx: Context) -> None:
    flt = _no_filter()
    rec.call("kpis", "list", "analysis.queries.kpis", con, flt)
    stats = rec.call("model_stats", "query", "analysis.fleet.model_stats", con, flt)
    if stats is not None:
        for name in ("build_spend_figure", "build_tokens_by_kind_figure", "build_price_figure"):
            rec.call(name.removeprefix("build_"), "figure", f"ui.model_figures.{name}", stats)
    matrix = rec.call("reversal_matrix", "query", "analysis.reversal.reversal_matrix", con)
    if matrix is not None and matrix.height:
        rec.call("reversal summary", "query", "analysis.reversal.summary", matrix)
        rec.call("reversal figure", "figure", "ui.model_figures.build_reversal_figure", matrix)


def escalation(rec: Recorder, con, ctx: Context) -> None:
    flt = _no_filter()
    rec.call("kpis", "list", "analysis.queries.kpis", con, flt)
    counts = rec.call("verdict_counts", "query", "analysis.fleet_queries.verdict_counts", con, flt)
    if counts is not None:
        rec.call("verdict figure", "figure", "ui.fleet_figures.build_verdict_figure", counts)
    rec.call("over_provisioned_summary", "list", "analysis.fleet_queries.over_provisioned_summary", con, flt)  # fmt: skip
    rec.call(f"over_provisioned {TABLE_ROWS}", "list", "analysis.fleet_queries.over_provisioned", con, flt, TABLE_ROWS, 0)  # fmt: skip
    rec.call("escalation_event_count", "list", "analysis.fleet.escalation_event_count", con, flt)
    rec.call(f"escalations {TABLE_ROWS}", "list", "analysis.fleet_queries.escalations", con, flt, TABLE_ROWS, 0)  # fmt: skip
    rec.call("tier_pair_count", "list", "analysis.fleet_queries.tier_pair_count", con, flt)
    rec.call(f"tier_pairs {TABLE_ROWS}", "list", "analysis.fleet_queries.tier_pairs", con, flt, TABLE_ROWS, 0)  # fmt: skip
    table = rec.call("routing_table", "query", "analysis.routing.routing_table", con)
    if table is not None and table.height:
        rec.call("frontier (cost) figure", "figure", "ui.fleet_figures.build_frontier_figure", table, "cost_per_task", ROUTING_K, "cost per task (USD)")  # fmt: skip
        rec.call("frontier (time) figure", "figure", "ui.fleet_figures.build_frontier_figure", table, "wall_ms_per_task", ROUTING_K, "wall time per task (s)", 1 / 1000)  # fmt: skip


@dataclass
class Page:
    name: str
    view: Callable[[Recorder, Any, Context], None]


def pages() -> list[Page]:
    return [
        Page("overview", overview),
        Page("trajectories", trajectories),
        Page("trajectory (typical)", trajectory("typical_trace")),
        Page("trajectory (largest)", trajectory("largest_trace")),
        Page("waste", waste),
        Page("models", models),
        Page("escalation", escalation),
    ]


CONTEXT_SQL = """
WITH ranked AS (
    SELECT trace_id, span_count,
           row_number() OVER (ORDER BY span_count, trace_id) AS r, count(*) OVER () AS n
    FROM trajectories WHERE trace_id NOT LIKE '%~%'  -- a copy made by bench.scale has no content
)
SELECT (SELECT trace_id FROM ranked WHERE r = n // 2 + 1),
       (SELECT trace_id FROM ranked ORDER BY span_count DESC, trace_id LIMIT 1),
       (SELECT primary_model FROM trajectories WHERE primary_model IS NOT NULL
        GROUP BY ALL ORDER BY count(*) DESC, primary_model LIMIT 1),
       (SELECT agent_name FROM trajectories WHERE agent_name IS NOT NULL
        GROUP BY ALL ORDER BY count(*) DESC, agent_name LIMIT 1)
"""


def context(con) -> Context:
    with con.cursor() as cur:
        return Context(*cur.execute(CONTEXT_SQL).fetchone())
