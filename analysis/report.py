"""The analysis report: every trajectory's figures, the price reversals and the routing table.

Built once as plain data (`build_report`) so the CLI can print it as text or JSON and CI can
gate on the waste share. Unknown figures stay None (JSON null) and print as "unknown",
never as 0.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb

from analysis import queries, reversal, routing

REPORT_COLUMNS = (
    "trace_id", "task_key", "models", "turns", "llm_calls", "tool_calls", "wall_ms", "model_ms",
    "tool_ms", "idle_ms", "ttft_ms", "input_tokens", "output_tokens", "reasoning_tokens",
    "cache_read_tokens", "cache_write_tokens", "cost_usd", "cost_source", "outcome", "score",
    "escalated", "verdict", "waste_stagnation_tokens", "waste_error_retry_tokens",
    "waste_repeated_tokens", "waste_uncached_tokens", "waste_tokens", "waste_usd",
)  # fmt: skip
TEXT_COLUMNS = (
    ("trace", "trace_id", 36), ("task", "task_key", 14), ("turns", "turns", 5), ("llm", "llm_calls", 5), ("tools", "tool_calls", 5),
    ("wall_ms", "wall_ms", 9), ("model_ms", "model_ms", 9), ("tool_ms", "tool_ms", 9),
    ("idle_ms", "idle_ms", 9), ("in_tok", "input_tokens", 8), ("out_tok", "output_tokens", 8),
    ("reason", "reasoning_tokens", 7), ("cached", "cache_read_tokens", 7),
    ("cwrite", "cache_write_tokens", 7),
    ("cost_usd", "cost_usd", 9), ("outcome", "outcome", 8), ("esc", "escalated", 7),
    ("verdict", "verdict", 20), ("stagn", "waste_stagnation_tokens", 7),
    ("retry", "waste_error_retry_tokens", 7), ("repeat", "waste_repeated_tokens", 7),
    ("uncached", "waste_uncached_tokens", 8),
    ("models", "models", 0),  # last, so never cut: in call order, an escalation shows
)  # fmt: skip
USD_PLACES = 6  # a cost column in fixed places: "0.005559", not a cut "0.005559…"
ROUTING_WIDTHS = (20, 6, 8, 12, 13, 10)
UNKNOWN = "unknown"


def build_report(con: duckdb.DuckDBPyConnection, limit: int | None = None) -> dict[str, Any]:
    k = queries.kpis(con)
    frame = queries.trajectory_list(con, sort="trace_id", descending=False, limit=limit or 1 << 62)
    matrix = reversal.reversal_matrix(con)
    rev = reversal.summary(matrix)
    return {
        "summary": {
            "trajectories": k.trajectories,
            "judged": k.judged,
            "successes": k.successes,
            "inferred_successes": k.inferred_successes,
            "success_rate": k.success_rate,
            "scored": k.scored,
            "mean_score": k.mean_score,
            "trajectories_with_tokens": k.with_tokens,
            "total_tokens": k.total_tokens,
            "trajectories_with_cost": k.with_cost,
            "cost_usd": k.cost_usd,
            "trajectories_with_known_waste": k.with_waste,
            "waste_tokens": k.waste_tokens,
            "waste_share": k.waste_share,
            "waste_usd": k.waste_usd,
            "trajectories_with_wasted_turns": k.with_waste_turns,
            "escalated": k.escalated,
        },
        "trajectories": [
            _jsonable(row) for row in frame.select(REPORT_COLUMNS).iter_rows(named=True)
        ],
        "price_reversals": {
            "comparable_pairs": rev.comparable_pairs,
            "reversed_pairs": rev.reversed_pairs,
            "reversal_rate": rev.reversal_rate,
            "pairs": [_jsonable(row) for row in matrix.iter_rows(named=True)],
        },
        "routing": [_jsonable(row) for row in routing.routing_table(con).iter_rows(named=True)],
    }


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}


def waste_gate(report: dict[str, Any], fraction: float) -> tuple[bool, str]:
    """(fails, message) for `--fail-on-waste`: fails only when a known share exceeds it."""
    share = report["summary"]["waste_share"]
    if share is None:
        return False, "waste share unknown (no trajectory has both tokens and cache data)"
    verdict = "above" if share > fraction else "within"
    summary = report["summary"]
    over = f"over the {summary['trajectories_with_known_waste']} of {summary['trajectories']} "
    return share > fraction, (
        f"waste share {share:.2%} is {verdict} the limit {fraction:.2%} "
        f"({over}trajectories whose waste is known)"
    )


def render_text(report: dict[str, Any]) -> str:
    lines = _summary_lines(report["summary"])
    lines += ["", "Trajectories", _row([h for h, _, _ in TEXT_COLUMNS])]
    for item in report["trajectories"]:
        lines.append(_row([_text_cell(key, item[key]) for _, key, _ in TEXT_COLUMNS]))
    lines += ["", *_reversal_lines(report["price_reversals"])]
    lines += ["", *_routing_lines(report["routing"])]
    return "\n".join(lines) + "\n"


def _summary_lines(s: dict[str, Any]) -> list[str]:
    return [
        f"{s['trajectories']} trajectories; {s['successes']} successes of {s['judged']} judged"
        f" ({_cell(s['success_rate'], pct=True)}); mean score {_cell(s['mean_score'])}"
        f" over {s['scored']} scored",
        f"tokens {_cell(s['total_tokens'])} (known for {s['trajectories_with_tokens']});"
        f" cost {_cell(s['cost_usd'])} USD (known for {s['trajectories_with_cost']})",
        f"waste {_cell(s['waste_tokens'])} tokens, share {_cell(s['waste_share'], pct=True)}"
        f" (known for {s['trajectories_with_known_waste']}); trajectories with wasted turns:"
        f" {s['trajectories_with_wasted_turns']}; escalated: {s['escalated']}",
    ]


def _reversal_lines(rev: dict[str, Any]) -> list[str]:
    lines = [
        f"Price reversals: {rev['reversed_pairs']} of {rev['comparable_pairs']} comparable"
        f" model pairs (rate {_cell(rev['reversal_rate'], pct=True)})"
    ]
    for p in rev["pairs"]:
        mark = "REVERSED" if p["reversed"] else "as listed"
        lines.append(
            f"  {p['cheaper_model']} (listed ${p['cheaper_listed_per_mtok']}/Mtok) vs"
            f" {p['pricier_model']} (listed ${p['pricier_listed_per_mtok']}/Mtok):"
            f" {_cell(p['cheaper_cost_per_task'])} vs {_cell(p['pricier_cost_per_task'])}"
            f" USD/task on {p['shared_tasks']} tasks, {mark}, driver {p['driver']}"
        )
    return lines


def _routing_lines(rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return ["Routing: no task_key has non-escalated small and large runs with known outcome"]
    lines = [
        "Routing (small first, escalate after K stalled turns)",
        _row(
            ["policy", "tasks", "success", "cost/task", "wall_ms/task", "escalated"], ROUTING_WIDTHS
        ),
    ]
    for r in rows:
        cells = [r["policy"], r["tasks"], _cell(r["success_rate"], pct=True),
                 _cell(r["cost_per_task"]), _cell(r["wall_ms_per_task"]),
                 _cell(r["escalation_rate"], pct=True)]  # fmt: skip
        lines.append(_row([str(c) for c in cells], ROUTING_WIDTHS))
    return lines


def _text_cell(key: str, value: Any) -> str:
    if value is not None and key == "models":
        return " → ".join(value)
    if value is not None and key == "cost_usd":
        return f"{value:.{USD_PLACES}f}"
    return _cell(value)


def _cell(value: Any, pct: bool = False) -> str:
    if value is None:
        return UNKNOWN
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:.1%}" if pct else f"{value:.6g}"
    return str(value)


def _row(cells: list[str], widths: tuple[int, ...] | None = None) -> str:
    widths = widths or tuple(w for _, _, w in TEXT_COLUMNS)
    return " ".join(_fit(c, w) if w else c for c, w in zip(cells, widths, strict=True)).rstrip()


def _fit(text: str, width: int) -> str:
    return text.ljust(width) if len(text) <= width else text[: width - 1] + "…"
