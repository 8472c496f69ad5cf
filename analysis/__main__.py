"""CLI: `python -m analysis report [--db PATH] [--json] [--fail-on-waste FRACTION]`.

Prints every trajectory's time split, tokens, cost, outcome, verdict and waste, then the
price reversals and the routing table. `--fail-on-waste` exits 3 when the waste share is
above FRACTION, so a team can gate its agent's CI on it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import duckdb

from store import db

EXIT_WASTE = 3
EXIT_NO_STORE = 2
EXIT_UNAVAILABLE = 1


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m analysis")
    commands = parser.add_subparsers(dest="command", required=True)
    report = commands.add_parser("report", help="print the analysis of every stored trajectory")
    report.add_argument("--db", help=f"DuckDB file (default $AGENTTIME_DB or {db.DEFAULT_DB_PATH})")
    report.add_argument("--json", action="store_true", help="print JSON instead of text")
    report.add_argument(
        "--limit", type=_positive, help="print at most this many trajectories (1 or more)"
    )
    report.add_argument(
        "--fail-on-waste",
        type=_fraction,
        metavar="FRACTION",
        help="exit 3 when wasted tokens / tokens is above FRACTION (0..1)",
    )
    return parser.parse_args(argv)


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number between 0 and 1, got {text!r}"
        ) from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    from analysis.report import render_text, waste_gate

    args = parse_args(argv)
    path = db.db_path(args.db)
    if not Path(path).is_file():
        print(
            f"{path}: no AgentTime store here; ingest traces first (python -m ingest)",
            file=sys.stderr,
        )
        return EXIT_NO_STORE
    try:
        report = _report(path, args.limit)
    except (duckdb.Error, OSError) as exc:
        print(f"error: {db.cannot_open(path, exc)}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    print(json.dumps(report, indent=2, default=str) if args.json else render_text(report), end="")
    if args.fail_on_waste is not None:
        fails, message = waste_gate(report, args.fail_on_waste)
        print(message, file=sys.stderr)
        if fails:
            return EXIT_WASTE
    return 0


def _report(path: str, limit: int | None) -> dict:
    """Read-only, so a report runs beside other readers of the file (CI jobs, an export); a
    store from an older AgentTime, missing a column, is opened once to upgrade it."""
    from analysis.report import build_report

    if (con := db.held(path)) is not None:  # called in a process that has the store open
        return build_report(con, limit=limit)
    try:
        with duckdb.connect(path, read_only=True) as con:
            return build_report(con, limit=limit)
    except (duckdb.BinderException, duckdb.CatalogException):
        return build_report(db.connect(path), limit=limit)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, got {text!r}")
    return int(text)


if __name__ == "__main__":
    sys.exit(main())
