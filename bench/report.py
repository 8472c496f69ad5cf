"""bench/RESULTS.md from the collected numbers: every target beside its measurement.

A target that is not met is listed under "Shortfalls" with the cause the numbers show
(which phase took the time, how much CPU per span), never silently.
"""

from __future__ import annotations

import time
from pathlib import Path

from bench import endpoint_bench

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
MB = 1e6


def fmt(value: float | None, digits: int = 0) -> str:
    if value is None or value != value:
        return "—"
    return f"{value:,.{digits}f}"


def status(ok: bool) -> str:
    return "met" if ok else "**not met**"


class Report:
    def __init__(self, results: dict):
        self.r = results
        self.lines: list[str] = []
        self.shortfalls: list[str] = []
        self.notes: list[str] = []  # said under the table being built

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        self.add("| " + " | ".join(header) + " |", "|" + "---|" * len(header))
        self.add(*("| " + " | ".join(row) + " |" for row in rows))
        self.add("")

    def render(self) -> str:
        self.head()
        self.ingest()
        self.stages()
        self.upload()
        self.endpoint()
        for spans, measured in self.r["queries"].items():
            self.queries(int(spans), measured)
        self.tried_on_pages()
        self.payloads()
        self.concurrency()
        self.add("## Shortfalls and their causes", "")
        self.add(*([f"- {s}" for s in self.shortfalls] or ["- none: every target was met."]))
        self.add("")
        return "\n".join(self.lines)

    def head(self) -> None:
        c, m, d = self.r["config"], self.r["machine"], self.r["data"]
        mode = "quick (`python -m bench --quick`)" if c["quick"] else "full (`make bench`)"
        self.add(
            "# Benchmark results",
            "",
            f"Written by `python -m bench` in {mode} mode on {self.r.get('finished') or time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
            f"in {self.r['seconds'] / 60:.1f} minutes. Medians of {c['runs']} fresh-process runs for ingest, "
            f"p50/p95 of up to {c['query_repeats']} views per page for queries. Speed is never "
            "asserted in tests; this file is the record.",
            "",
        )
        self.table(
            ["machine", ""],
            [
                ["CPU", f"{m['cpu']} ({m['cores']} cores)"],
                ["RAM", f"{m['ram_gb']} GB"],
                ["software", f"Python {m['python']}, DuckDB {m['duckdb']}, pyarrow {m['pyarrow']}"],
                [
                    "load average before / after",
                    f"{self.r['load_before']} / {self.r['load_after']}",
                ],
            ],
        )
        if self.r.get("pages_rerun"):
            before, after = self.r["ingest_load"]
            self.add(
                f"Pages re-measured on {self.r['pages_rerun']} (`python -m bench --pages-only`, on "
                "the store this run built); the load average above is theirs, the ingest runs saw "
                f"{before} / {after}.",
                "",
            )
        self.add(
            "A load average above the core count means other work shared the cores during the "
            "run: every time below is then longer than on an idle machine, ceilings included "
            "(which is why each ingest number stands beside a ceiling measured in the same run).",
            "",
            f"Data: {d['spans']:,} spans in {d['trajectories']:,} synthetic agent trajectories "
            f"({d['llm']:,} LLM calls, {d['tool']:,} tool calls; GenAI attributes, message content, "
            "7 models in 3 providers, escalations, stuck loops, tool errors, a few runs of "
            "300-3,000 spans), from `bench/generate.py`: "
            + ", ".join(
                f"{n} {f['bytes'] / MB:,.0f} MB" for n, f in d["files"].items()
            ) + ". The ingest runs use a smaller sample made the same way, in every format.",
            "",
        )  # fmt: skip

    def ingest(self) -> None:
        s = self.r["sample"]
        self.add(
            "## Ingest per format",
            "",
            f"`python -m ingest FILE --db NEW.duckdb`, the whole command as a user runs it "
            f"(interpreter start, imports, decode, hash, insert, every rollup, commit), on a "
            f"{s['spans']:,}-span sample, in a fresh process per run. Ceiling: DuckDB's bare "
            "`count(*)` over `read_ndjson` of the same file for JSON, the bare upb decode of "
            "every request for protobuf. Peak: the command's whole resident size, its decoding "
            "workers included; 'working' is that peak less what the command holds before it "
            "reads a byte (the interpreter with the ingest path imported and the store open); "
            "'anonymous' is the part of it the kernel cannot drop under pressure (the decoded "
            "parts, mapped from the workers' files, it can).",
            "",
        )
        rows = []
        for row in self.r["formats"]:
            command = row.get("cli")
            if command is None:
                continue
            target, ok = self._cli_target(row)
            mb = row["mb"]
            rows.append([
                row["format"], fmt(mb), f"{row['spans']:,}", fmt(command["seconds"], 2),
                fmt(mb / command["seconds"]), fmt(row["spans"] / command["seconds"]),
                fmt(row["ceiling_mb_per_s"]), fmt(row["ceiling"]["seconds"] / command["seconds"], 2),
                fmt(command["peak_mb"]), fmt(_working_mb(command)),
                fmt(_working_mb(command) / mb, 1), fmt(_anonymous_working_mb(command)),
                target, status(ok),
            ])  # fmt: skip
        self.table(
            ["format", "MB", "spans", "s", "MB/s", "spans/s", "ceiling MB/s", "ratio",
             "peak MB", "working MB", "working / file", "of it anonymous MB", "target",
             "status"],
            rows,
        )  # fmt: skip
        self.add(
            "### The adapter alone",
            "",
            "Decode only (file -> canonical Arrow table), every format, in a fresh process per "
            "run: the part of the command above that depends on the format. Peak is above the "
            "process's baseline after imports.",
            "",
        )
        rows = []
        for row in self.r["formats"]:
            d, c = row["decode"], row["ceiling"]
            rows.append([
                row["format"], fmt(row["mb"]), f"{row['spans']:,}", fmt(d["seconds"], 2),
                fmt(row["mb_per_s"]), fmt(row["spans_per_s"]),
                fmt(d["cpu_seconds"] / row["spans"] * 1e6, 1), fmt(d["peak_mb"] - d["baseline_mb"]),
                f"{fmt(row['ceiling_mb_per_s'])} ({c['kind']})", fmt(row["ratio"], 2),
            ])  # fmt: skip
        self.table(
            ["format", "MB", "spans", "s", "MB/s", "spans/s", "CPU µs/span", "peak MB",
             "ceiling MB/s", "ratio"],
            rows,
        )  # fmt: skip

    def stages(self) -> None:
        stages = self.r["stages"]
        total = sum(stages["us_per_span"].values())
        self.add(
            "### Where ingest time goes (OTLP JSON)",
            "",
            f"CPU per span of each stage of the OTLP JSON adapter on the first "
            f"{stages['records']:,} spans of the sample, one core, GC paused (best of 2; each stage "
            "is the difference between the pipeline cut after it and cut before it).",
            "",
        )
        rows = [
            [name, fmt(us, 1), fmt(100 * us / total)] for name, us in stages["us_per_span"].items()
        ]
        rows.append(["total", fmt(total, 1), "100"])
        self.table(["stage", "CPU µs/span", "%"], rows)
        self.add(
            "Tried and dropped (2026-11-28): mapping the conventions in DuckDB instead — DuckDB "
            "reading the OTLP lines itself and one SQL query generated from the alias tables. "
            "On this sample it took 10.9 s against 6.3 s for this adapter: DuckDB's list, map "
            "and lambda functions cost 10-40 µs per span for a mapping of this size (~100 "
            "aliases, kinds, providers, tokens, the attributes JSON), more than the Python.",
            "",
        )

    def _cli_target(self, row: dict) -> tuple[str, bool]:
        command, decoded = row["cli"], row["decode"]
        per_span = decoded["cpu_seconds"] / row["spans"] * 1e6
        spans_per_s = row["spans"] / command["seconds"]
        cause = (
            f"Cause: of the command's {command['seconds']:.1f} s, the adapter's decode takes "
            f"{decoded['seconds']:.1f} s ({per_span:.0f} µs of CPU per span in Python: parse, "
            "envelope walk, convention mapping, Arrow build, fills; one worker process per core "
            f"for a file this size) and the rest {command['seconds'] - decoded['seconds']:.1f} s "
            "(interpreter start and imports, hash, insert, the rollups of every touched "
            "trajectory, the commit writing the compressed store); see 'The adapter alone' and "
            "'Where ingest time goes'."
        )
        if row["format"] == "otlp_json":
            ratio = row["ceiling"]["seconds"] / command["seconds"]
            limit = 1.5 * row["mb"]
            working = _working_mb(command)
            ok_ratio, ok_peak = ratio >= 0.4, working <= limit
            if not ok_ratio:
                self.shortfalls.append(
                    f"OTLP JSON ingest (`python -m ingest`): {spans_per_s:,.0f} spans/s, "
                    f"{ratio:.2f} of the ceiling (target 0.4). {cause}"
                )
            if not ok_peak:
                self.shortfalls.append(
                    f"OTLP JSON ingest memory: the command works in {working:,.0f} MB above its "
                    f"start ({command['peak_mb']:,.0f} MB in all{_anonymous_part(command)}) for a "
                    f"{row['mb']:,.0f} MB file (target 1.5x: {limit:,.0f} MB). Cause: while "
                    "decoding, one worker per core, each a fresh interpreter (about 70 MB) "
                    "holding a batch of Python rows and, for its part's fills, the pages of its "
                    "part that the fills read; after it, DuckDB's working memory for the "
                    "rollups, which run in the ingest's transaction: the staged spans, the turn "
                    "tables and what DuckDB's allocator keeps of them (100k spans: about 370 MB "
                    "above the start; memory_limit 1 GB). At this size those fixed costs weigh "
                    "most: a 1 GB upload stays within 1.5x (see 'One upload to queryable')."
                )
            return ">= 0.4 x ceiling, working <= 1.5 x file", ok_ratio and ok_peak
        ok = spans_per_s >= 100_000
        if not ok:
            self.shortfalls.append(
                f"OTLP protobuf ingest (`python -m ingest`): {spans_per_s:,.0f} spans/s (target "
                f"100,000; the bare upb decode runs at {row['ceiling_mb_per_s']:,.0f} MB/s). {cause}"
            )
        return ">= 100k spans/s", ok

    def upload(self) -> None:
        store, limit_gb = self.r["store"], self.r["config"]["upload_bytes"] / 1e9
        up = store["upload"]
        self.add(
            "## One upload to queryable",
            "",
            "`analysis.pipeline.ingest_path` in a fresh process (decode, hash, insert, every "
            "rollup refreshed), on the OTLP JSON file cut at a line boundary at <= "
            f"{limit_gb:.0f} GB; the rest of the file went in as a second upload to complete "
            "the store. Target for a 1 GB upload: queryable in <= 10 s, peak <= 1,500 MB above "
            "the baseline.",
            "",
        )
        rows = [self._upload_row("first", up)]
        if store.get("second"):
            rows.append(self._upload_row("second", store["second"]))
        self.table(
            ["upload", "MB", "spans", "trajectories", "to queryable, s",
             "decode / insert+hash / rollups, s", "s per GB", "peak MB above baseline",
             "MB per GB", "of it anonymous MB"],
            rows,
        )  # fmt: skip
        gb = up["bytes"] / 1e9
        seconds_per_gb, over = up["seconds"] / gb, up["peak_mb"] - up["baseline_mb"]
        self.add(
            "Tried and kept (2026-11-29): span text stored zstd-compressed (the 1M-span store "
            "1,160 -> 551 MB, the commit of 100k spans 1.7 -> 1.0 s); each decoding worker "
            "working out its own part's fills; the store attached with 16,384-row row groups, "
            "so DuckDB writes an upload to the file, compressed, before its commit (100k "
            "spans: +560 -> +160 MB while inserting, commit 0.9 -> 0.05 s; the 1M-span store "
            "551 -> 591 MB); the decoded parts and the filled columns mapped from files whose "
            "pages are let go slice by slice as the rows reach the store (this upload's peak "
            "2.9 -> 1.4 GB above the baseline); the refresh reading the touched spans' text by "
            "rowid (100k spans into this 1M-span store: refresh 4.5 -> 2.6 s); the trajectory "
            "rollup without a window over every staged column (a sortable span key instead of "
            "a row number, interval unions in one ordered pass) and its rows stored in trace "
            "order, so the UPDATEs after it touch them in runs (572k spans, A/B on one VM: the "
            "rollups 8.6 -> 7.5 s); a decoding worker handing Arrow's allocator memory back "
            "after each batch it writes (about 40 MB off each worker's peak); slices of 32,768 "
            "spans instead of 50,000 (100k spans: the insert's peak 567 -> 444 MB, same speed). "
            "Tried and dropped: a DuckDB memory_limit of 512 MB (copying 5M spans in one transaction "
            "runs out of memory: DuckDB holds the primary-key index in memory); hashing the "
            "file while it decodes (no gain: the decoding workers already use both cores); "
            "plain inserts with the duplicates dropped beforehand (0.85 s against 0.45 s for "
            "100k spans: the anti-join lets DuckDB insert in parallel); the span order worked "
            "out on a narrow projection and joined back (slower: the join of the wide rows cost "
            "what the window had); DuckDB's allocator flushed at 8 MB with background threads "
            "(the rollups' peak unchanged).",
            "",
        )
        if gb < 0.99:
            self.add(
                f"The first upload is {gb:.2f} GB (the data set is smaller than 1 GB in this mode); "
                "a 1 GB upload is judged by the per-GB rates, which assume linear growth.",
                "",
            )
        phases = up["phases"]
        if seconds_per_gb > 10:
            self.shortfalls.append(
                f"1 GB upload to queryable: {seconds_per_gb:.0f} s per GB (target 10 s). Cause, "
                f"per phase of the {gb:.2f} GB upload: decode {phases.get('decode', 0):.0f} s "
                f"(the Python adapter, see above), insert+hash {phases.get('write', 0):.0f} s "
                "(DuckDB compressing and writing the span text: input, output and the attributes "
                f"JSON), rollups {phases.get('rollups', 0):.0f} s (analysis/refresh: trajectories, "
                "turns, findings, verdicts, routing stops for every touched trace)."
            )
        if over / min(gb, 1.0) > 1500:
            self.shortfalls.append(
                f"1 GB upload memory: peak {over:,.0f} MB above baseline for {gb:.2f} GB "
                f"({over / gb:,.0f} MB per GB; target 1,500 MB for 1 GB"
                + (
                    f"; of it {up['anon_peak_mb'] - up['baseline_anon_mb']:,.0f} MB anonymous, "
                    "the rest file pages the kernel may drop"
                    if "anon_peak_mb" in up
                    else ""
                )
                + "). Cause: DuckDB takes up to its memory_limit (1 GB by default) for the "
                "insert, the rollups and the commit, beside the decoded file's pages not yet "
                "let go (mapped from the decoding workers' files, about 1.6x the file, released "
                "slice by slice as the rows reach the store)."
            )

    def _upload_row(self, label: str, up: dict) -> list[str]:
        gb, p = up["bytes"] / 1e9, up["phases"]
        over = up["peak_mb"] - up["baseline_mb"]
        return [
            label, fmt(up["bytes"] / MB), f"{up['records']:,}", f"{up['traces']:,}",
            fmt(up["seconds"], 1), " / ".join(fmt(p.get(k), 1) for k in ("decode", "write", "rollups")),
            fmt(up["seconds"] / gb, 1), fmt(over), fmt(over / gb),
            fmt(up["anon_peak_mb"] - up["baseline_anon_mb"] if "anon_peak_mb" in up else None),
        ]  # fmt: skip

    def queries(self, spans: int, measured: dict) -> None:
        scaled = spans > self.r["config"]["spans"]
        limit = 1500 if scaled else 300
        self.add(
            f"## Pages at {spans:,} spans ({measured['rows']['trajectories']:,} trajectories, "
            f"{measured['db_mb']:,.0f} MB store)",
            "",
            "Server time of each page's reads and figures, uncached (no Streamlit cache; the "
            "store opened and every page viewed once beforehand, as on a running server), "
            "p50 / p95 of up to "
            f"{self.r['config']['query_repeats']} views (fewer once a page's views pass "
            f"{self.r['config'].get('page_budget_s', 20):.0f} s; one when a single view does). Targets: every page <= {limit} ms median"
            + ("" if scaled else "; list/KPI reads <= 100 ms; one trajectory's reads <= 50 ms")
            + ".",
            "",
        )  # fmt: skip
        if scaled:
            self.add(
                f"This store is the {self.r['config']['spans']:,}-span store copied "
                f"{self.r['config']['scale_factor']}x with new trace/session/task ids (rollups "
                f"copied, not recomputed; {self.r['scaled']['seconds']:.0f} s). The copies leave "
                "span content empty; the trajectory pages read a trajectory of the first copy.",
                "",
            )
        rows = []
        for name, page in measured["pages"].items():
            ok = page["total"]["p50"] <= limit
            rows.append([name, fmt(page["total"]["p50"], 1), fmt(page["total"]["p95"], 1), str(page["total"]["n"]), f"<= {limit}", status(ok),
                         ", ".join(page["reads"]) + (f"; missing: {', '.join(page['missing'])}" if page["missing"] else "")])  # fmt: skip
            if not ok:
                slowest = max(page["reads"].items(), key=lambda kv: kv[1]["p50"])
                self.shortfalls.append(
                    f"Page '{name}' at {spans:,} spans: {page['total']['p50']:.0f} ms median (target "
                    f"{limit} ms). Cause: {slowest[0]} takes {slowest[1]['p50']:.0f} ms."
                )
            if not scaled:
                self._read_targets(name, page, spans)
        self.table(["page", "p50 ms", "p95 ms", "views", "target", "status", "reads"], rows)
        for note in self.notes:
            self.add(note, "")
        self.notes = []

    def _read_targets(self, name: str, page: dict, spans: int) -> None:
        lists = {k: v for k, v in page["reads"].items() if v["kind"] == "list"}
        for label, read in lists.items():
            if read["p50"] > 100:
                self.shortfalls.append(
                    f"List/KPI read {label} on '{name}' at {spans:,} spans: {read['p50']:.0f} ms "
                    "median (target 100 ms)."
                )
        trajectory = sum(v["p50"] for v in page["reads"].values() if v["kind"] == "trajectory")
        inspector = [v["p50"] for v in page["reads"].values() if v["kind"] == "span"]
        if inspector:
            self.notes.append(
                f"'{name}': one trajectory's reads take {trajectory:.0f} ms (target 50 ms); "
                f"the span inspector's read, made when a span is clicked (not when the page "
                f"opens), takes {inspector[0]:.0f} ms more."
            )
        if trajectory > 50:
            self.shortfalls.append(
                f"One trajectory's reads on '{name}': {trajectory:.0f} ms median (target 50 ms); "
                + ", ".join(
                    f"{k} {v['p50']:.0f} ms" for k, v in page["reads"].items() if v["kind"] == "trajectory"
                ) + ". Cause: each read is its own query that filters its table by trace_id "
                "without an index (spans are stored in upload order, so every row group is read); "
                "an ART index on trace_id, tried, cut a typical trajectory's reads from 60 to 44 ms "
                "but made the largest one's 3x slower (index lookups row by row); inserting each "
                "upload in trace_id order (zone maps) cut them to 60/72 ms but raised the 1 GB "
                "upload's peak from 2.9 to 5.2 GB. Merging the reads into fewer queries is the "
                "next step."
            )  # fmt: skip

    def tried_on_pages(self) -> None:
        self.add(
            "Tried and kept (2026-11-29): the Trajectory page derives models in order, context "
            "growth and the waste summary from the turn and finding rows it reads (three "
            "queries fewer). Tried and dropped: running one trajectory's reads side by side on "
            "threads (no gain: each DuckDB query already uses both cores).",
            "",
        )

    def payloads(self) -> None:
        spans = max(self.r["queries"], key=int)
        self.add(
            f"## What each page sends (at {int(spans):,} spans)",
            "",
            "Every frame a page's reads return, as Arrow IPC (what `st.dataframe` ships), and each "
            "figure's JSON: an upper bound of what the page sends, since a page may show fewer "
            "columns (one trajectory's `spans` read carries every span's full content).",
            "",
        )
        rows, heaviest = [], (0, "")
        for name, page in self.r["queries"][spans]["pages"].items():
            tables, figures = page["payload"]["tables"], page["payload"]["figures"]
            table_rows = sum(t["rows"] for t in tables.values())
            table_bytes = sum(t["bytes"] for t in tables.values())
            figure_bytes = sum(f["bytes"] for f in figures.values())
            heaviest = max(heaviest, (table_bytes + figure_bytes, name))
            ok = all(t["rows"] <= 10_000 for t in tables.values()) and all(
                f["bytes"] <= 2_000_000 for f in figures.values()
            )
            rows.append(
                [
                    name,
                    f"{table_rows:,}",
                    fmt(table_bytes / 1e3),
                    fmt(figure_bytes / 1e3),
                    status(ok),
                ]
            )
            if not ok:
                big = max(tables.items(), key=lambda kv: kv[1]["rows"], default=("", {"rows": 0}))
                self.shortfalls.append(
                    f"Page '{name}' sends {big[1]['rows']:,} rows from {big[0]} at {int(spans):,} "
                    "spans (limit 10,000): that read is not paged."
                )
        self.table(["page", "table rows", "table KB (Arrow IPC)", "figure KB (JSON)", "<= 10k rows, <= 2 MB figure"], rows)  # fmt: skip
        self.add(f"Heaviest page: **{heaviest[1]}** ({heaviest[0] / 1e3:,.0f} KB).", "")

    def endpoint(self) -> None:
        measured = self.r.get("endpoint")
        if measured is None:  # a results.json from before this measure
            return
        self.add(*endpoint_bench.report_lines(measured, self.r["config"]["spans"]))
        late = measured["together"]["over_timeout"]
        if late:
            self.shortfalls.append(
                f"OTLP endpoint: {late} of {measured['together']['requests']} exports from "
                f"{measured['exporters']} exporters at once took over the SDK's 10 s timeout."
            )

    def concurrency(self) -> None:
        self.add("## Four sessions at once", "")
        rows = []
        for spans, measured in self.r["queries"].items():
            c = measured["concurrent"]
            target = 500 if int(spans) == self.r["config"]["spans"] else None
            ok = target is None or c["p95"] <= target
            rows.append([f"{int(spans):,}", str(c["users"]), str(c["views"]), fmt(c["p50"]), fmt(c["p95"]),
                         f"<= {target}" if target else "—", status(ok) if target else "—"])  # fmt: skip
            if not ok:
                self.shortfalls.append(
                    f"Four concurrent sessions at {int(spans):,} spans: page p95 {c['p95']:.0f} ms "
                    "(target 500 ms). Cause: 2 cores shared by 4 sessions; single-session page "
                    "times are above."
                )
        self.table(
            ["spans", "users", "page views", "p50 ms", "p95 ms", "target p95", "status"], rows
        )
        self.add(
            "Each user is a thread with its own cursor viewing the overview, trajectory list, one "
            "trajectory and waste pages in turn; times are whole-page server times.",
            "",
        )


def _anonymous_part(measured: dict) -> str:
    anonymous = _anonymous_working_mb(measured)
    return "" if anonymous is None else f"; {anonymous:,.0f} MB of the working part anonymous"


def _working_mb(command: dict) -> float:
    """The command's peak less its own start and the probe process that ran it."""
    return command["peak_mb"] - command["command_baseline_mb"] - command["baseline_mb"]


def _anonymous_working_mb(command: dict) -> float | None:
    if "anon_peak_mb" not in command:
        return None  # results from before the anonymous part was sampled
    return (
        command["anon_peak_mb"] - command["command_baseline_anon_mb"] - command["baseline_anon_mb"]
    )


def write(results: dict, path: Path = RESULTS) -> Path:
    path.write_text(Report(results).render())
    return path
