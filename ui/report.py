"""Static HTML reports: one trajectory, or a filtered view's summary, as one self-contained file.

A report is attached to a ticket or a chat and opened later, offline, by someone without
AgentTime: plotly.js is inlined once, figures stay interactive, and every piece of trace
content passes through `html.escape` — nothing from a trace can become markup or script.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import plotly.graph_objects as go
import polars as pl
from plotly.offline import get_plotlyjs

from analysis import queries, search
from analysis import trajectory_queries as tq
from analysis.filters import TrajectoryFilter
from store.reviews import current_reviews
from ui import format as fmt
from ui.names import (
    CATEGORY_LABELS,
    SORT_LABELS,
    VERDICT_TEXT,
    task_names,
    task_text,
    verdict_text,
)
from ui.review_panel import verdict_label
from ui.run_text import cost_source_text, reported_cost_text, waste_tokens_text
from ui.share import PUBLIC_URL_ENV
from ui.text import page_href
from ui.timeline import build_timeline_figure
from ui.trajectory_sections import turn_names

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #1e293b; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
table { border-collapse: collapse; width: 100%; font-size: .85rem; }
th, td { border-bottom: 1px solid #e2e8f0; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #f8fafc; } .facts td:first-child { color: #64748b; width: 14rem; }
td.num { text-align: right; font-variant-numeric: tabular-nums; } td.text { white-space: pre-wrap; }
.muted { color: #64748b; font-size: .85rem; } pre { white-space: pre-wrap; word-break: break-all; }
"""


@dataclass(frozen=True)
class Column:
    """A report table's column: the frame's `key`, its header, and how a value reads (as the
    page shows it); `numeric` right-aligns it."""

    key: str
    label: str
    show: Callable[[Any], str] = str
    numeric: bool = False
    shows_missing: bool = False  # `show` names a missing value itself
    href: Callable[[Any], str | None] | None = None  # a link for the value, if any


def _thousands(value: Any) -> str:
    return f"{value:,}"


TURN_COLUMNS = (
    Column("turn", "Turn", numeric=True),
    Column("model", "Model"),
    Column("input_tokens", "Input tokens", _thousands, numeric=True),
    Column("cache_read_tokens", "Cached input", _thousands, numeric=True),
    Column("output_tokens", "Output tokens", _thousands, numeric=True),
    Column("reasoning_tokens", "Reasoning", _thousands, numeric=True),
    Column("cost_usd", "Cost", fmt.fine_usd, numeric=True),
    Column("tool_calls", "Tool calls", numeric=True),
    Column("waste_tokens", "Wasted tokens", _thousands, numeric=True),
    Column("waste_usd", "Waste", fmt.fine_usd, numeric=True),
)
FINDING_COLUMNS = (
    Column("turn", "Turn", numeric=True),
    Column("category", "Category", lambda key: CATEGORY_LABELS.get(key, key)),
    Column("tokens", "Tokens", _thousands, numeric=True),
    Column("usd", "USD", fmt.fine_usd, numeric=True),
    Column("span_id", "Span"),
    Column("evidence", "Evidence"),
)
REVIEW_COLUMNS = (
    Column("author", "Reviewer"),
    Column("verdict", "Verdict", verdict_label, shows_missing=True),
    Column("comment", "Comment"),
    Column("span_id", "Pinned span"),
    Column("created_at", "When", fmt.minute),
)


def app_link(trace_id: str) -> str | None:
    """The trajectory's page, when AGENTTIME_PUBLIC_URL says where AgentTime is served (a
    report is opened elsewhere, later: a link to localhost would lead nowhere)."""
    base = os.environ.get(PUBLIC_URL_ENV)
    return f"{base.rstrip('/')}/{page_href('trajectory', trace=trace_id)}" if base else None


LIST_COLUMNS = (
    Column("trace_id", "Trace", href=app_link),
    Column("agent_name", "Agent"),
    Column("models", "Models (call order)", " → ".join),
    Column("task_key", "Task"),
    Column("outcome", "Outcome"),
    Column("verdict", "Verdict", lambda key: fmt.VERDICT_NAMES.get(key, key)),
    Column("wall_ms", "Wall time", fmt.duration, numeric=True),
    Column("turns", "Turns", numeric=True),
    Column("cost_usd", "Cost", fmt.fine_usd, numeric=True),
    Column("waste_usd", "Waste", fmt.fine_usd, numeric=True),
    Column("waste_tokens", "Wasted tokens", _thousands, numeric=True),
)

MATCH_COLUMNS = (
    Column("match", "First match"),
    Column("matching_spans", "Spans found", numeric=True),
)


def trajectory_report(con: duckdb.DuckDBPyConnection, trace_id: str) -> str | None:
    """The whole story of one run, as its page tells it, or None when the trace id is unknown."""
    run = queries.trajectory(con, trace_id)
    if run is None:
        return None
    verdict = queries.verdict(con, trace_id)
    turns = queries.turn_table(con, trace_id)
    names = turn_names(turns)
    spans = queries.spans(con, trace_id)
    sections = [
        _facts(run, turns, tq.reported_cost(spans)),
        _section("Timeline", _figure(build_timeline_figure(spans, names))),
        _section("Turns", _table(turns, TURN_COLUMNS)),
        _section("Waste findings", _table(queries.findings(con, trace_id), FINDING_COLUMNS)),
        _section("Verdict", _verdict(verdict)),
        _section("Reviews", _table(current_reviews(con, trace_id), REVIEW_COLUMNS)),
    ]
    if url := app_link(trace_id):
        sections.insert(0, f'<p><a href="{_text(url)}">Open this run in AgentTime</a></p>')
    return _page(f"Trajectory {trace_id}", sections, figures=True)


def summary_report(
    con: duckdb.DuckDBPyConnection,
    flt: TrajectoryFilter,
    limit: int = 200,
    search: str | None = None,
    sort: str = "start_time",
    descending: bool = True,
) -> str:
    """KPIs and the trajectory list of a filtered view, in the page's order; `search` names
    the phrase whose matches `flt.trace_ids` holds."""
    k = queries.kpis(con, flt)
    facts = {
        "Filters": filter_text(flt, search),
        "Sorted by": f"{_lowered(SORT_LABELS.get(sort, sort))}, "
        f"{'descending' if descending else 'ascending'}",
        "Trajectories": fmt.count(k.trajectories),
        "Success rate": fmt.percent(k.successes / k.judged if k.judged else None),
        "Median wall time": fmt.duration(k.median_wall_ms),
        "Median turns": fmt.count(k.median_turns),
        "Total tokens": fmt.tokens(k.total_tokens),
        "Cost": fmt.fine_usd(k.cost_usd),
        "Wasted tokens": fmt.tokens(k.waste_tokens),
        "Waste (USD)": fmt.fine_usd(k.waste_usd),
    }
    runs = queries.trajectory_list(con, flt, sort, descending, limit=limit)
    runs = runs.with_columns(task_names())
    columns = LIST_COLUMNS
    if search is not None:
        runs = runs.join(_first_matches(con, search, runs), on="trace_id", how="left")
        columns = (LIST_COLUMNS[0], *MATCH_COLUMNS, *LIST_COLUMNS[1:])
    shown = f"first {limit:,}" if k.trajectories > limit else "all"
    sections = [
        _section("Summary", _facts_table(facts)),
        _section(f"Trajectories ({shown})", _table(runs, columns)),
    ]
    return _page("AgentTime summary", sections)


def _first_matches(con: duckdb.DuckDBPyConnection, phrase: str, runs: pl.DataFrame) -> pl.DataFrame:
    """Where each listed run first mentions `phrase`, as the Trajectories list shows it."""
    hits = search.search_spans(con, phrase).filter(
        pl.col("trace_id").is_in(runs["trace_id"].implode())
    )
    found = search.match_snippets(con, phrase, hits)
    where = [found.get(pair, "") for pair in hits.select("trace_id", "span_id").iter_rows()]
    return hits.select("trace_id", "matching_spans").with_columns(
        match=pl.Series(where, dtype=pl.String)
    )


def _lowered(label: str) -> str:
    return label[:1].lower() + label[1:]  # "wasted USD"


def filter_text(flt: TrajectoryFilter, search: str | None = None) -> str:
    """The filter as the sidebar shows it: dates as the days chosen (the until day included)."""
    parts = []
    for key, value in vars(flt).items():
        if not value or key == "trace_ids":
            continue
        if key == "since":
            value = value.date().isoformat()
        elif key == "until":
            value = f"{(value - timedelta(days=1)).date().isoformat()} (inclusive)"
        parts.append(f"{key} {value}")
    if search is not None:
        parts.append(f"spans containing “{search}”")
    return ", ".join(parts) or "none"


def _facts(run: dict[str, Any], turns: pl.DataFrame, reported: tuple[float | None, int]) -> str:
    outcome = run.get("outcome") or "unknown"
    waste = fmt.fine_usd(run.get("waste_usd"))
    facts = {
        "Agent": run.get("agent_name"),
        "Task": task_text(run),
        "Models (in call order)": " → ".join(run.get("models") or []) or None,
        "Outcome": outcome + (" (inferred)" if run.get("outcome_inferred") else ""),
        "Score": run.get("score"),
        "Wall time": fmt.duration(run.get("wall_ms")),
        "Model / tool / idle time": " / ".join(
            fmt.duration(run.get(k)) for k in ("model_ms", "tool_ms", "idle_ms")
        ),
        "Turns": run.get("turns"),
        "Input / output tokens": f"{fmt.tokens(run.get('input_tokens'))} / {fmt.tokens(run.get('output_tokens'))}",
        "Cost": fmt.fine_usd(run.get("cost_usd")),
        "Cost source": cost_source_text(turns) + reported_cost_text(turns, reported),
        "Wasted": f"{waste} · {waste_tokens_text(run)}",
        "Verdict": VERDICT_TEXT.get(run.get("verdict"), run.get("verdict")),
    }
    return _section("Run", _facts_table(facts))


def _verdict(verdict: queries.Verdict | None) -> str:
    if verdict is None:
        return "<p class=muted>No verdict computed.</p>"
    evidence = json.dumps(verdict.evidence, indent=2, sort_keys=True, default=str)
    sentence = verdict_text(verdict)
    return (
        f"<p><b>{_text(sentence)}</b></p><details><summary>Evidence, as stored</summary>"
        f"<pre>{_text(evidence)}</pre></details>"
    )


def _facts_table(facts: dict[str, Any]) -> str:
    rows = "".join(f"<tr><td>{_text(k)}</td><td>{_fact(v)}</td></tr>" for k, v in facts.items())
    return f"<table class=facts>{rows}</table>"


def _fact(value: Any) -> str:
    if value is None:
        return f"<span class=muted>{fmt.NOT_RECORDED}</span>"
    return _text(f"{value:,.6g}" if isinstance(value, float) else value)


def _table(frame: pl.DataFrame, columns: tuple[Column, ...]) -> str:
    if frame.is_empty():
        return "<p class=muted>None.</p>"
    shown = [c for c in columns if c.key in frame.columns]
    head = "".join(f"<th>{_text(c.label)}</th>" for c in shown)
    body = "".join(
        "<tr>" + "".join(_cell(column, row[column.key]) for column in shown) + "</tr>"
        for row in frame.select(c.key for c in shown).iter_rows(named=True)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(column: Column, value: Any) -> str:
    kind = "num" if column.numeric else "text"
    if value is None and not column.shows_missing:
        return f"<td class='{kind} muted'>{fmt.MISSING_CELL}</td>"
    text = _text(column.show(value))
    if column.href is not None and (url := column.href(value)):
        text = f'<a href="{_text(url)}">{text}</a>'
    return f"<td class={kind}>{text}</td>"


def _text(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _figure(figure: go.Figure) -> str:
    # plotly's own look: a running app's default template is Streamlit's, made for its pages
    figure.update_layout(template="plotly_white")
    return figure.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False})


def _section(title: str, body: str) -> str:
    return f"<h2>{_text(title)}</h2>{body}"


def _page(title: str, sections: list[str], figures: bool = False) -> str:
    """One self-contained HTML file; plotly.js (4 MB) is inlined only when it draws figures."""
    made = fmt.minute(datetime.now(UTC))
    script = f"<script>{get_plotlyjs()}</script>" if figures else ""
    return (
        "<!DOCTYPE html><html><head><meta charset=utf-8>"
        f"<title>{_text(title)}</title><style>{STYLE}</style>"
        f"{script}</head><body>"
        f"<h1>{_text(title)}</h1><p class=muted>AgentTime report, made {made}.</p>"
        + "".join(sections)
        + "</body></html>"
    )
