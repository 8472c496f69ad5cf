"""Writes the demo traces in sample_traces/: the first data every new AgentTime user sees.

Why a generator instead of hand-written files: the demo has to exercise every analysis the app
makes (a stuck loop rescued by a bigger model, escalations that were premature or futile, tasks
run on both model tiers, a price reversal, cache hits and misses, repeated tool calls, parallel
tools, idle waits, reasoning tokens) with token counts and timings that agree with each other,
in three formats users really upload: span JSONL, OTLP/JSON lines and a LangSmith `list_runs()`
dump. Each trajectory is a short script (_scripts.py describes the format; the _scenarios_*.py
modules hold them, one per agent); `Run` (_model.py) plays it against a clock and a growing
context window; one encoder per format (_encoders.py) writes the spans.

Why deterministic: a fixed seed, a fixed end date and ids hashed from the seed make every run
byte-identical, so a test proves the committed files are exactly this script's output.

Run from the repository root: .venv/bin/python sample_traces/generate.py [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if __name__ == "__main__":  # `make run` loads every non-.py entry here, so no __pycache__ either
    sys.dont_write_bytecode = True
if str(HERE) not in sys.path:  # imported (as sample_traces.generate) rather than run as a script
    sys.path.insert(0, str(HERE))

from _encoders import jsonl_records, langsmith_records, otlp_line  # noqa: E402
from _model import Run, dumps  # noqa: E402
from _scenarios_code import build_code_runs  # noqa: E402
from _scenarios_data import build_data_runs  # noqa: E402
from _scenarios_research import build_research_runs  # noqa: E402
from _scenarios_support import build_support_runs  # noqa: E402

SPANS_FILE = "agents.spans.jsonl"
OTLP_FILE = "support-bot.otlp.jsonl"
LANGSMITH_FILE = "research-agent.langsmith.jsonl"


def write_jsonl(path: Path, records: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for record in records:
            handle.write(dumps(record) + "\n")


def by_start(runs: list[Run]) -> list[Run]:
    return sorted(runs, key=lambda run: (run.root.start, run.key))


def generate(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    span_runs = build_code_runs() + build_data_runs()
    spans = [r for run in by_start(span_runs) for r in jsonl_records(run)]
    otlp = [otlp_line(run) for run in by_start(build_support_runs())]
    runs = [r for run in by_start(build_research_runs()) for r in langsmith_records(run)]
    paths = [out_dir / SPANS_FILE, out_dir / OTLP_FILE, out_dir / LANGSMITH_FILE]
    for path, records in zip(paths, (spans, otlp, runs), strict=True):
        write_jsonl(path, records)
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the AgentTime demo traces.")
    parser.add_argument("--out", type=Path, default=HERE)
    for path in generate(parser.parse_args(argv).out):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
