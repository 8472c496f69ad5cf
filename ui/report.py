"""Static HTML reports: one trajectory, or a filtered view's summary, as one self-contained file.

A report is attached to a ticket or a chat and opened later, offline, by someone without
AgentTime: plotly.js is inlined once, figures stay interactive, and every piece of trace
content passes through `html.escape` — nothing from a trace can become markup or script.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from typing import Any

import duckdb
import plotly.graph_objects as go
import polars as pl
from plotly.offline import get_plotlyjs

from analysis import queries
from analysis.filters import TrajectoryFilter
from store.reviews import current_reviews
from ui import format as fmt
from ui.timeline import build_timeline_figure

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #1e293b; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
table { border-collapse: collapse; width: 100%; font-size: .85rem; }
th, td { border-bottom: 1px solid #e2e8f0; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #f8fafc; } .facts td:first-child { color: #64748b; width: 14rem; }
.muted { color: #64748b; font-size: .85rem; } pre { white-space: pre-wrap; word-break: break-all; }
"""
TURN_COLUMNS = (
    "turn",
    "model",
    "input_tokens",
    "cache_read_tokens",
    "output_tokens",
    "reasoning_tokens",
    "cost_usd",
    "tool_calls",
    "waste_tokens",
)
FINDING_COLUMNS = ("turn", "span_id", "category", "tokens", "usd", "evidence")
REVIEW_COLUMNS = ("author", "verdict", "comment", "span_id", "created_at")
LIST_COLUMNS = (
    "trace_id",
    "agent_name",
    "primary_model",
    "task_key",
    "outcome",
    "verdict",
    "wall_ms",
    "turns",
    "cost_usd",
    "waste_tokens",
)


def trajectory_report(con: duckdb.DuckDBPyConnection, trace_id: str) -> str | None:
    """The whole story of one run, or None when the trace id is unknown."""
    run = queries.trajectory(con, trace_id)
    if run is None:
        return None
    verdict = queries.verdict(con, trace_id)
    sections = [
        _facts(run),
        _section("Timeline", _figure(build_timeline_figure(queries.spans(con, trace_id)))),
        _section("Turns", _table(queries.turn_table(con, trace_id), TURN_COLUMNS)),
        _section("Waste findings", _table(queries.findings(con, trace_id), FINDING_COLUMNS)),
        _section("Verdict", _verdict(verdict)),
        _section("Reviews", _table(current_reviews(con, trace_id), REVIEW_COLUMNS)),
    ]
    return _page(f"Trajectory {trace_id}", sections)


def summary_report(
    con: duckdb.DuckDBPyConnection,
    flt: TrajectoryFilter,
    limit: int = 200,
    search: str | None = None,
) -> str:
    """KPIs and the trajectory list of a filtered view; `search` names the phrase whose
    matches `flt.trace_ids` holds."""
    k = queries.kpis(con, flt)
    filters = [f"{key}={value}" for key, value in vars(flt).items() if value and key != "trace_ids"]
    if search is not None:
        filters.append(f"spans containing “{search}”")
    facts = {
        "Filters": ", ".join(filters) or "none",
        "Trajectories": fmt.count(k.trajectories),
        "Success rate": fmt.percent(k.successes / k.judged if k.judged else None),
        "Median wall time": fmt.duration(k.median_wall_ms),
        "Median turns": fmt.count(k.median_turns),
        "Total tokens": fmt.tokens(k.total_tokens),
        "Cost": fmt.usd(k.cost_usd),
        "Wasted tokens": fmt.tokens(k.waste_tokens),
    }
    runs = queries.trajectory_list(con, flt, limit=limit)
    sections = [
        _section("Summary", _facts_table(facts)),
        _section(f"Trajectories (first {limit})", _table(runs, LIST_COLUMNS)),
    ]
    return _page("AgentTime summary", sections)


def _facts(run: dict[str, Any]) -> str:
    facts = {
        "Agent": run.get("agent_name"),
        "Task": run.get("task_id") or run.get("task_key"),
        "Models (in call order)": " → ".join(run.get("models") or []) or None,
        "Outcome": run.get("outcome") + (" (inferred)" if run.get("outcome_inferred") else ""),
        "Score": run.get("score"),
        "Wall time": fmt.duration(run.get("wall_ms")),
        "Model / tool / idle time": " / ".join(
            fmt.duration(run.get(k)) for k in ("model_ms", "tool_ms", "idle_ms")
        ),
        "Turns": run.get("turns"),
        "Input / output tokens": f"{fmt.tokens(run.get('input_tokens'))} / {fmt.tokens(run.get('output_tokens'))}",
        "Cost": f"{fmt.usd(run.get('cost_usd'))} ({run.get('cost_source') or 'not recorded'})",
        "Wasted tokens": fmt.tokens(run.get("waste_tokens")),
        "Verdict": run.get("verdict"),
    }
    return _section("Run", _facts_table(facts))


def _verdict(verdict: queries.Verdict | None) -> str:
    if verdict is None:
        return "<p class=muted>No verdict computed.</p>"
    evidence = json.dumps(verdict.evidence, indent=2, sort_keys=True, default=str)
    return f"<p><b>{_text(verdict.verdict)}</b></p><pre>{_text(evidence)}</pre>"


def _facts_table(facts: dict[str, Any]) -> str:
    rows = "".join(f"<tr><td>{_text(k)}</td><td>{_cell(v)}</td></tr>" for k, v in facts.items())
    return f"<table class=facts>{rows}</table>"


def _table(frame: pl.DataFrame, columns: tuple[str, ...]) -> str:
    if frame.is_empty():
        return "<p class=muted>None.</p>"
    shown = [c for c in columns if c in frame.columns]
    head = "".join(f"<th>{_text(c)}</th>" for c in shown)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>"
        for row in frame.select(shown).iter_rows()
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: Any) -> str:
    if value is None:
        return f"<span class=muted>{fmt.NOT_RECORDED}</span>"
    if isinstance(value, float):
        return _text(f"{value:,.6g}")
    return _text(value)


def _text(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _figure(figure: go.Figure) -> str:
    return figure.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False})


def _section(title: str, body: str) -> str:
    return f"<h2>{_text(title)}</h2>{body}"


def _page(title: str, sections: list[str]) -> str:
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        "<!DOCTYPE html><html><head><meta charset=utf-8>"
        f"<title>{_text(title)}</title><style>{STYLE}</style>"
        f"<script>{get_plotlyjs()}</script></head><body>"
        f"<h1>{_text(title)}</h1><p class=muted>AgentTime report, made {made}.</p>"
        + "".join(sections)
        + "</body></html>"
    )
