"""The sections of the Trajectory page (and the facts the Compare page sets side by side).

Each `show_*` lays out what `analysis` computed for one run. Trace content — names, ids,
models — only reaches Markdown through `ui.text.escape_markdown`; tables hold it as plain
cells. Clicking a turn or a finding selects its span, the same as clicking its bar.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import polars as pl
import streamlit as st

from ui import format as fmt
from ui.fleet_links import links
from ui.names import (
    CATEGORY_LABELS,
    STUCK_RULE_NAMES,
    category_names,
    models_in_order,
    task_text,
    verdict_names,
    verdict_text,
)
from ui.run_text import (
    cost_source_text,
    models_text,
    reported_cost_text,
    score_text,
    tokens_text,
    waste_share_text,
    waste_tokens_text,
)
from ui.text import escape_markdown, markdown_link, page_href, short_id
from ui.tiles import tile, usd_tile

WASTE_TEXT = {
    "stagnation": "stuck in a loop",
    "error_retry": "retried a failed tool call",
    "repeated_tool_call": "repeated an earlier tool call",
    "uncached_context": "re-sent context without a cache hit",
}
MAX_LINKS = 30
ROW_PX, HEADER_PX = 35, 38


def table_height(rows: int, max_rows: int = 20) -> int:
    """Pixels for a table that shows up to `max_rows` rows without scrolling."""
    return HEADER_PX + ROW_PX * max(1, min(rows, max_rows))


UNTRACED_TOOLS_HELP = (
    "This run has no tool spans: its instrumentation traced the model calls only (an LLM-client "
    "instrumentation, such as the OpenAI client's). The model asked for {n} tool call{s} in its "
    "replies; they ran untraced, so their time counts as idle in the time split and their "
    "arguments are in the model calls' output."
)


def show_header(
    run: dict[str, Any],
    models: pl.DataFrame,
    turns: pl.DataFrame,
    requested_tools: int = 0,
    reported: tuple[float | None, int] = (None, 0),
) -> None:
    st.caption(
        f"{escape_markdown(run.get('agent_name') or 'agent not recorded')} · task "
        f"{escape_markdown(task_text(run))} · started "
        f"{_when(run.get('start_time'))} · trace {escape_markdown(run['trace_id'])}"
        + (f" · session {escape_markdown(session)}" if (session := run.get("session_id")) else "")
    )
    cols = st.columns(6)
    quiet = {"delta_color": "off", "delta_arrow": "off"}
    outcome = escape_markdown(run.get("outcome") or "unknown")
    tile(cols[0], "Outcome", outcome, score_text(run), **quiet)
    short, exact = fmt.short_duration(run.get("wall_ms")), fmt.duration(run.get("wall_ms"))
    tile(cols[1], "Wall time", short, help=exact if exact != short else None)
    tile(cols[2], "Turns", fmt.count(run.get("turns")))
    errors = run.get("tool_errors")
    failed = f"{errors:,} failed" if errors else None  # else only a red outline tells
    if requested_tools and not run.get("tool_calls"):
        tile(
            cols[3],
            "Tool calls",
            fmt.count(run.get("tool_calls")),
            f"{requested_tools:,} requested, untraced",
            help=UNTRACED_TOOLS_HELP.format(n=requested_tools, s="s" * (requested_tools > 1)),
            **quiet,
        )
    else:
        tile(
            cols[3],
            "Tool calls",
            fmt.count(run.get("tool_calls")),
            failed,
            delta_color="red",
            delta_arrow="off",
        )
    partial = run.get("cost_usd") is not None and turns["cost_usd"].null_count() > 0
    usd_tile(cols[4], "Cost", run.get("cost_usd"), "lower bound" if partial else None, **quiet)
    usd_tile(
        cols[5],
        "Wasted",
        run.get("waste_usd"),
        waste_share_text(run),
        help=waste_tokens_text(run) if run.get("waste_tokens") is not None else None,
        **quiet,
    )
    st.markdown(f"**Models, in call order:** {models_text(models)}")
    st.markdown(
        f"**Tokens:** {tokens_text(run, turns)}  \n**Cost source:** {cost_source_text(turns)}"
        + reported_cost_text(turns, reported)
    )


RANGES_SHOWN = 12  # of a long run's turn ranges in a sentence; the tables have them all


def turn_ranges(turns: list[int]) -> str:
    """[5, 6, 7, 8, 11] -> "5–8, 11"; past RANGES_SHOWN ranges, how many turns are left out
    (a 1,381-turn run listed ~940 ranges above its timeline)."""
    ranges: list[list[int]] = []
    for turn in sorted(set(turns)):
        if ranges and turn == ranges[-1][1] + 1:
            ranges[-1][1] = turn
        else:
            ranges.append([turn, turn])
    shown = ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in ranges[:RANGES_SHOWN])
    if len(ranges) <= RANGES_SHOWN:
        return shown
    more = sum(b - a + 1 for a, b in ranges[RANGES_SHOWN:])
    return f"{shown} and {more:,} more"


def unmeasured_turns(turns: pl.DataFrame) -> list[int]:
    """Turns whose waste is unknown: token or cache counts the detectors need are missing."""
    return turns.filter(pl.col("waste_tokens").is_null())["turn"].to_list()


def unmeasured_text(unmeasured: list[int]) -> str:
    word = "turn" if len(unmeasured) == 1 else "turns"
    return f"{word} {turn_ranges(unmeasured)} not measurable (token or cache counts missing)"


def wasted_turns_text(findings: pl.DataFrame, unmeasured: list[int]) -> str:
    """Which turns each category claimed and what they cost, most serious first."""
    parts = []
    for category in WASTE_TEXT:
        rows = findings.filter(pl.col("category") == category)
        if rows.is_empty():
            continue
        dollars = (
            fmt.fine_usd(rows["usd"].sum()) if rows["usd"].null_count() == 0 else fmt.NOT_RECORDED
        )
        word = "turn" if rows.height == 1 else "turns"
        label = CATEGORY_LABELS[category].lower()
        parts.append(f"{label} on {word} {turn_ranges(rows['turn'].to_list())} ({dollars})")
    if unmeasured:
        parts.append(
            unmeasured_text(unmeasured) if parts else f"none found; {unmeasured_text(unmeasured)}"
        )
    return " · ".join(parts) if parts else "none"


def show_headline(verdict, findings: pl.DataFrame, unmeasured: list[int]) -> None:
    """The two answers a reviewer looks for first: wasted turns, and the verdict."""
    lines = [f"**Wasted turns:** {wasted_turns_text(findings, unmeasured)}"]
    if verdict is not None:
        lines.append(f"**Bigger model?** {verdict_text(verdict)}")
    st.markdown("  \n".join(lines))


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value is not None else fmt.NOT_RECORDED


def show_time_split_caption(run: dict[str, Any]) -> None:
    calls, llm_calls = run.get("ttft_calls") or 0, run.get("llm_calls") or 0
    if not calls:
        st.caption("Time to first token: not recorded.")
    else:
        st.caption(
            f"Time to first token: {fmt.duration(run.get('ttft_ms'))} in total, "
            f"recorded on {calls} of {llm_calls} model calls."
        )


TURN_COLUMNS = {
    "turn": st.column_config.NumberColumn("Turn", format="%d"),
    "model": st.column_config.TextColumn("Model"),
    "tier": st.column_config.TextColumn("Tier"),
    "waste_tags": st.column_config.TextColumn("Waste tag"),
    "cost_usd": st.column_config.NumberColumn("Cost (USD)", format="$%.5f"),
    "waste_usd": st.column_config.NumberColumn("Waste (USD)", format="$%.5f"),
    "input_tokens": st.column_config.NumberColumn("Input tokens", format="%,d"),
    "cache_read_tokens": st.column_config.NumberColumn("Cached input", format="%,d"),
    "output_tokens": st.column_config.NumberColumn("Output tokens", format="%,d"),
    "reasoning_tokens": st.column_config.NumberColumn("Reasoning tokens", format="%,d"),
    "tool_calls": st.column_config.NumberColumn("Tool calls", format="%d"),
    "tool_errors": st.column_config.NumberColumn("Tool errors", format="%d"),
    "waste_tokens": st.column_config.NumberColumn("Waste (tokens)", format="%,d"),
    "status": st.column_config.TextColumn("Status"),
    "duration_ms": st.column_config.NumberColumn("Duration (ms)", format="%.0f"),
    "ttft_ms": st.column_config.NumberColumn("First token (ms)", format="%.0f"),
}


def show_turn_table(turns: pl.DataFrame, on_pick: Callable[[str], None]) -> None:
    """The turn table; clicking a row selects that turn's LLM span."""
    st.dataframe(
        turns.select(list(TURN_COLUMNS)).with_columns(category_names("waste_tags")),
        height=table_height(turns.height),
        hide_index=True,
        width="stretch",
        column_config=TURN_COLUMNS,
        key="turn_table",
        on_select=lambda: _picked(turns, "turn_table", on_pick),
        selection_mode=ROW_PICKING,
        placeholder=fmt.MISSING_CELL,
    )
    st.caption(f"Click a row to inspect that call. {fmt.MISSING_CELL}: not recorded.")


# A table's rows open by a click on any cell, not only on the selection box at the left:
# the captions say "click a row", and that is where people click.
ROW_PICKING = ["single-row", "single-cell"]


def picked_row(selection: dict[str, Any], link_columns: Collection[str] = ()) -> int | None:
    """The row a table selection points at: a selected row, or the row of a selected cell
    that is not in one of `link_columns` (a click on a link opens it in a new tab instead)."""
    if selection.get("rows"):
        return selection["rows"][0]
    cells = selection.get("cells", [])
    return next((row for row, column in cells if column not in link_columns), None)


def _picked(
    frame: pl.DataFrame,
    key: str,
    on_pick: Callable[[str], None],
    link_columns: Collection[str] = (),
) -> None:
    row = picked_row(st.session_state[key].selection, link_columns)
    if row is not None:
        on_pick(frame["span_id"][row])


def show_waste_summary(summary: pl.DataFrame, unmeasured: list[int]) -> None:
    """One line per category: how many turns, tokens and dollars; and which turns could not
    be measured, so "no waste found" is never said of a run whose waste is unknown."""
    if summary.is_empty():
        if unmeasured:
            st.info(
                f"No waste found in the turns that could be measured; "
                f"{unmeasured_text(unmeasured)}, so this run's waste is not recorded."
            )
        else:
            st.success("No waste found in this run.")
        return
    if unmeasured:
        st.caption(f"Not in these figures: {unmeasured_text(unmeasured)}.")
    lines = []
    for row in summary.iter_rows(named=True):
        tokens = fmt.tokens(row["tokens"]) if not row["unknown_tokens"] else fmt.NOT_RECORDED
        dollars = fmt.fine_usd(row["usd"]) if not row["unknown_usd"] else fmt.NOT_RECORDED
        label = WASTE_TEXT.get(row["category"], "")
        name = CATEGORY_LABELS.get(row["category"], row["category"])
        lines.append(
            f"- **{name}** ({label}): {fmt.counted(row['turns'], 'turn')}, {tokens}, {dollars}"
        )
    st.markdown("\n".join(lines))


FINDING_COLUMNS = {
    "turn": st.column_config.NumberColumn("Turn", format="%d"),
    "category": st.column_config.TextColumn("Category"),
    "tokens": st.column_config.NumberColumn("Tokens", format="%,d"),
    "usd": st.column_config.NumberColumn("USD", format="$%.5f"),
    "span_link": st.column_config.LinkColumn("Span", display_text=r"span=([^&]*)"),
    "repeats_link": st.column_config.LinkColumn(
        "Earlier span",
        display_text=r"span=([^&]*)",
        help="What this turn did again: the stuck window's first turn, the failed or earlier "
        "call, or the previous call whose context was sent again without a cache hit",
    ),
    "detail": st.column_config.TextColumn("Detail"),
}
FINDING_LINKS = ("span_link", "repeats_link")


def finding_table(findings: pl.DataFrame, trace_id: str) -> pl.DataFrame:
    """Findings with links to their span and to the span they repeat."""

    def link(span_id: str | None) -> str | None:
        return page_href("trajectory", trace=trace_id, span=span_id) if span_id else None

    return findings.with_columns(
        span_link=links(findings, link, "span_id"),
        repeats_link=links(findings, link, "repeats_span_id"),
        category=pl.col("category").replace(CATEGORY_LABELS),
        detail=pl.col("detail").replace(STUCK_RULE_NAMES),
    )


def show_findings(findings: pl.DataFrame, trace_id: str, on_pick: Callable[[str], None]) -> None:
    if findings.is_empty():
        return
    table = finding_table(findings, trace_id)
    st.dataframe(
        table.select(list(FINDING_COLUMNS)),
        height=table_height(table.height),
        hide_index=True,
        width="stretch",
        column_config=FINDING_COLUMNS,
        key="finding_table",
        on_select=lambda: _picked(table, "finding_table", on_pick, FINDING_LINKS),
        selection_mode=ROW_PICKING,
        placeholder=fmt.MISSING_CELL,
    )
    st.caption(
        "Click a row to inspect the wasted call; the links open a span in a new tab. "
        "Detail: the stuck rule, or the repeated tool."
    )


def span_links(trace_id: str, span_ids: list[str], names: dict[str, str] | None = None) -> str:
    """Links that open each span in the inspector, labelled `turn n` where it is a turn."""
    names = names or {}
    links = [
        markdown_link(names.get(s) or short_id(s), page_href("trajectory", trace=trace_id, span=s))
        for s in span_ids[:MAX_LINKS]
    ]
    more = f" and {len(span_ids) - MAX_LINKS} more" if len(span_ids) > MAX_LINKS else ""
    return (" · ".join(links) + more) if links else "none"


def trace_links(trace_ids: list[str]) -> str:
    links = [
        markdown_link(short_id(t, 16), page_href("trajectory", trace=t))
        for t in trace_ids[:MAX_LINKS]
    ]
    return " · ".join(links) if links else "none"


def turn_names(turns: pl.DataFrame) -> dict[str, str]:
    return {row["span_id"]: f"turn {row['turn']}" for row in turns.iter_rows(named=True)}


def show_verdict(verdict, trace_id: str, names: dict[str, str]) -> None:
    if verdict is None:
        st.info("No verdict computed for this run.")
        return
    st.markdown(f"**{verdict_text(verdict)}**")
    evidence = verdict.evidence
    if "escalation_span_id" in evidence:
        _escalation_evidence(evidence, trace_id, names)
    else:
        _sibling_evidence(evidence, trace_id)


def _escalation_evidence(ev: dict[str, Any], trace_id: str, names: dict[str, str]) -> None:
    def links(key: str) -> str:
        value = ev.get(key) or []
        return span_links(trace_id, value if isinstance(value, list) else [value], names)

    st.markdown(
        f"- Escalated at {links('escalation_span_id')} from "
        f"{escape_markdown(ev.get('from_model'))} ({escape_markdown(ev.get('from_tier'))}) to "
        f"{escape_markdown(ev.get('to_model'))} ({escape_markdown(ev.get('to_tier'))})\n"
        f"- Signals before escalating (stalled or failed turns): "
        f"{links('signal_span_ids')}\n"
        f"- Turns before: {links('before_span_ids')}\n"
        f"- Turns after: {links('after_span_ids')}"
    )


def _sibling_evidence(ev: dict[str, Any], trace_id: str) -> None:
    lines = []
    for key, label in (
        ("smaller", "Smaller tiers"),
        ("same_tier", "Same tier"),
        ("larger", "Larger tiers"),
    ):
        group = ev.get(key) or {}
        others = [t for t in group.get("trace_ids") or [] if t != trace_id]
        tiers = ", ".join(escape_markdown(t) for t in group.get("tiers") or []) or "none"
        lines.append(
            f"- {label} ({tiers}): {fmt.counted(group.get('runs', 0), 'run')}, "
            f"{group.get('successes', 0)} succeeded — other runs: {trace_links(others)}"
        )
    st.markdown("\n".join(lines))


SIBLING_COLUMNS = {
    "open": st.column_config.LinkColumn("Run", display_text=r"trace=([^&]*)"),
    "compare": st.column_config.LinkColumn("Compare", display_text="compare"),
    "start_time": st.column_config.DatetimeColumn("Started (UTC)", format="YYYY-MM-DD HH:mm"),
    "models": st.column_config.TextColumn("Models"),
    "tier": st.column_config.TextColumn("Tier"),
    "outcome": st.column_config.TextColumn("Outcome"),
    "score": st.column_config.NumberColumn("Score", format="%.2f"),
    "turns": st.column_config.NumberColumn("Turns", format="%d"),
    "wall_s": st.column_config.NumberColumn("Wall (s)", format="%.1f"),
    "cost_usd": st.column_config.NumberColumn("Cost (USD)", format="$%.4f"),
    "waste_usd": st.column_config.NumberColumn("Waste (USD)", format="$%.4f"),
    "verdict": st.column_config.TextColumn("Verdict"),
}


def sibling_table(siblings: pl.DataFrame, trace_id: str) -> pl.DataFrame:
    return siblings.with_columns(
        open=links(siblings, lambda t: page_href("trajectory", trace=t), "trace_id"),
        compare=links(siblings, lambda t: page_href("compare", a=trace_id, b=t), "trace_id"),
        models=models_in_order(),
        verdict=verdict_names(),
        wall_s=pl.col("wall_ms") / 1000,
    ).select(list(SIBLING_COLUMNS))


def show_siblings(siblings: pl.DataFrame, trace_id: str) -> None:
    st.dataframe(
        sibling_table(siblings, trace_id),
        hide_index=True,
        width="stretch",
        column_config=SIBLING_COLUMNS,
        placeholder=fmt.MISSING_CELL,
    )
