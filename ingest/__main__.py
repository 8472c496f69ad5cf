"""CLI: python -m ingest FILE... [--db PATH] [--json]

Exit 0 when every file ingested, 1 when any failed (the others still land, each
atomically), 2 on usage errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ingest",
        description="Load agent trace files into the AgentTime DuckDB store.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="trace files to ingest")
    parser.add_argument("--db", help="DuckDB file (default: $AGENTTIME_DB or data/agenttime.duckdb)")
    parser.add_argument("--json", action="store_true", help="print one JSON report per file")
    parser.add_argument(
        "--if-empty",
        action="store_true",
        help="do nothing when the store already holds spans (used by `make run` for the samples)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_USAGE if exc.code else EXIT_OK
    missing = [f for f in args.files if not Path(f).is_file()]
    if missing:
        print(f"error: no such file: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE

    from analysis.pipeline import ingest_path
    from store.db import connect, db_path

    con = connect(args.db)
    if args.if_empty and store_has_spans(con):
        print(f"{db_path(args.db)} already holds traces; not loading {len(args.files)} file(s)")
        return EXIT_OK
    reports = [ingest_path(con, path, display_name=path) for path in args.files]
    for report in reports:
        if args.json:
            print(json.dumps(report.as_dict()))
        else:
            print(describe(report), file=sys.stdout if report.ok else sys.stderr)
    return EXIT_OK if all(r.ok for r in reports) else EXIT_FAILED


def store_has_spans(con) -> bool:
    with con.cursor() as cur:
        return cur.execute("SELECT EXISTS (SELECT 1 FROM spans)").fetchone()[0]


def describe(report) -> str:
    if not report.ok:
        return f"FAILED {report.error}"
    if report.already_ingested:
        return f"{report.filename}: already ingested ({report.upload_id}); nothing added"
    lines = [
        f"{report.filename}: {report.format}, {report.spans} spans, "
        f"{report.trajectories} trajectories, {len(report.skipped)} skipped"
    ]
    lines += [f"  skipped {s.position}: {s.reason}" for s in report.skipped[:20]]
    if len(report.skipped) > 20:
        lines.append(f"  … and {len(report.skipped) - 20} more skipped records")
    lines += [f"  warning: {w}" for w in report.warnings]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
