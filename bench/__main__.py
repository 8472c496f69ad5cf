"""python -m bench [--quick] [--spans N]: measure ingest, pages and payloads; write RESULTS.md.

The full run (`make bench`) uses 1M spans (and a 5M-span copy for the page timings) and
fits in 15 minutes on 2 cores; `--quick` uses 100k spans and takes a few minutes. Data,
stores and results.json go to bench/out/ (not committed); bench/RESULTS.md is the record.
"""

from __future__ import annotations

import argparse
import json

from bench import report
from bench.run import OUT, Config, log, run, run_pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100k spans, a few minutes")
    parser.add_argument("--spans", type=int, help="spans in the main data set")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite RESULTS.md from the last run's bench/out/results.json, measuring nothing",
    )
    parser.add_argument(
        "--pages-only",
        action="store_true",
        help="measure the pages again on the last run's store, keeping its ingest numbers",
    )
    args = parser.parse_args(argv)
    if args.report_only or args.pages_only:
        results = json.loads((OUT / "results.json").read_text())
        results = run_pages(results) if args.pages_only else results
    else:
        results = run(Config.make(args.quick, args.spans))
    path = report.write(results)
    log(f"wrote {path} ({results['seconds'] / 60:.1f} minutes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
