"""AppTest of the Trajectories, Trajectory and Compare pages, and of the review panel.

Runs the real app.py on a real DuckDB store built from the bundled sample traces. Expected
figures were read from sample_traces/agents.spans.jsonl (see `sample_spans`) and the price
table in store/prices.py, and worked out by hand:

- showcase `fix-flaky-test-142`: 14 LLM calls; turns 4–8 issue the identical failing
  `run_tests` call, so the stuck window is turns 4–8 and turns 5–8 are `stagnation` waste,
  (6531+67) + (6640+60) + (6742+42) + (6826+42) = 26,950 tokens; turn 5 on gpt-4.1-mini
  ($0.40 / $0.10 cached / $1.60 per Mtok) costs (131×0.40 + 6400×0.10 + 67×1.60)/1e6 =
  $0.0007996, and the four turns $0.0031996. Every later turn re-sends some context
  uncached (turns 2–4 and 9–14). gpt-4.1 takes over at turn 9. Wall time: the root span
  lasts 58.193 s.
- `update-changelog-19` ran on claude-opus-4-1 (large) and claude-haiku-4-5 (small), both
  successful, 4 turns each.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

from analysis.pipeline import ingest_path
from store import db
from store.reviews import ReviewInput, current_reviews, edit_review, review_history
from store.reviews import add_review as store_review
from tests import pages_fixtures_trajectory as fixtures
from tests.analysis_builders import Call, T, ingest_spans, trajectory
from tests.apptest import shown_rows
from tests.pages_fixtures_trajectory import (
    ANCHOR,
    ANSI,
    CHANGELOG_TASK,
    HOSTILE_NAME,
    HOSTILE_SPAN,
    HOSTILE_TRACE,
    IMG,
    LINK,
    SAMPLE_TRAJECTORIES,
    SCRIPT,
    SHOWCASE_TASK,
    build_store,
    llm_spans,
    page_test,
    sample_spans,
    write_hostile_trace,
    write_unrecorded_trace,
)
from ui import format as fmt
from ui.run_text import cost_source_text, tokens_text
from ui.span_inspector import summary
from ui.text import escape_markdown
from ui.trajectory_sections import picked_row, turn_ranges

CLIENTS = Path(__file__).parent / "data" / "clients"

sample_db_template, sample_db = fixtures.sample_db_template, fixtures.sample_db
TRAJECTORIES, TRAJECTORY, COMPARE = (
    "views/trajectories.py",
    "views/trajectory.py",
    "views/compare.py",
)


@pytest.fixture(scope="module")
def showcase() -> list[dict]:
    (spans,) = sample_spans(SHOWCASE_TASK)
    return spans


@pytest.fixture
def empty_db(tmp_path):
    return build_store(tmp_path / "empty.duckdb", [])


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def caption(at, prefix: str) -> str:
    """The one caption that starts with `prefix`."""
    (found,) = [c.value for c in at.caption if c.value.startswith(prefix)]
    return found


def markdown_text(at) -> str:
    return "\n".join(m.value for m in at.markdown)


# --- Trajectories -------------------------------------------------------------------------


def test_trajectories_lists_every_sample_run(sample_db):
    with page_test(sample_db, TRAJECTORIES) as at:
        assert not at.exception
        table = at.dataframe[0].value
        assert table.shape[0] == SAMPLE_TRAJECTORIES
        assert caption(at, "Runs ").startswith(f"Runs 1–94 of {SAMPLE_TRAJECTORIES}.")
        starts = table["start_time"].tolist()
        assert starts == sorted(starts, reverse=True)  # newest first by default


def test_trajectories_sort_by_turns_ascending(sample_db):
    state = {"sort_by": "Turns", "direction": "Ascending"}
    with page_test(sample_db, TRAJECTORIES, state=state) as at:
        turns = at.dataframe[0].value["turns"].tolist()
        assert turns == sorted(turns)
        assert turns[0] == 1


def test_trajectories_sorted_by_score_show_the_score(sample_db):
    """Score is a sort the list offers; without its column the order looked arbitrary."""
    with db.connect(sample_db).cursor() as cur:
        best = cur.execute("SELECT max(score) FROM trajectories").fetchone()[0]
    db.close(sample_db)
    state = {"sort_by": "Score", "direction": "Descending"}
    with page_test(sample_db, TRAJECTORIES, state=state) as at:
        assert at.dataframe[0].value["score"].tolist()[0] == best


def test_trajectories_link_column_opens_each_run(sample_db, showcase):
    with page_test(sample_db, TRAJECTORIES) as at:
        links = at.dataframe[0].value["open"].tolist()
    assert f"trajectory?trace={showcase[0]['trace_id']}" in links


def test_trajectories_pages_by_100(tmp_path):
    lines = [
        json.dumps(
            {
                "trace_id": f"t{i:03d}",
                "span_id": "s",
                "name": "chat",
                "kind": "llm",
                "start_time": f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}Z",
                "end_time": f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}.5Z",
            }
        )
        for i in range(150)
    ]
    runs = tmp_path / "runs.spans.jsonl"
    runs.write_text("\n".join(lines) + "\n")
    store = build_store(tmp_path / "paged.duckdb", [runs])
    with page_test(store, TRAJECTORIES, state={"page": 2, "sort_by": "Start time"}) as at:
        assert not at.exception
        table = at.dataframe[0].value
        assert caption(at, "Runs ").startswith("Runs 101–150 of 150.")
        assert table.shape[0] == 50  # newest first: t049 .. t000 on page 2
        assert table["open"].iloc[0] == "trajectory?trace=t049"
        assert table["open"].iloc[-1] == "trajectory?trace=t000"
        at.selectbox(key="sort_by").set_value("Turns").run()  # a new sort starts at page 1
        assert caption(at, "Runs ").startswith("Runs 1–100 of 150.")


def test_trajectories_on_an_empty_store_says_what_to_upload(empty_db):
    with page_test(empty_db, TRAJECTORIES) as at:
        assert not at.exception
        assert "No traces yet" in at.info[0].value
        assert not at.dataframe


@pytest.fixture
def unrecorded_db(tmp_path):
    return build_store(
        tmp_path / "unrecorded.duckdb", [write_unrecorded_trace(tmp_path / "r.jsonl")]
    )


def test_trajectories_show_every_unknown_value_as_a_dash(unrecorded_db):
    with page_test(unrecorded_db, TRAJECTORIES) as at:
        assert not at.exception
        assert shown_rows(at.dataframe[0]) == [
            {
                "open": "trajectory?trace=no-tokens",
                "start_time": pd.Timestamp("2026-11-21T10:00:00Z"),
                "agent_name": "partial",
                "task_key": "—",
                "outcome": "success",
                "score": "—",
                "verdict": "Undetermined",
                "turns": 1,
                "wall_s": 3.0,
                "cost_usd": "—",
                "waste_usd": 0.0,  # nothing to waste in one call: known zero, not unknown
                "tokens": "—",
                "waste_tokens": 0.0,
                "models": "—",
                "session_id": "—",
            },
            {
                "open": "trajectory?trace=no-cache-data",
                "start_time": pd.Timestamp("2026-11-20T10:00:00Z"),
                "agent_name": "partial",
                "task_key": "—",
                "outcome": "success",
                "score": "—",
                "verdict": "Small model sufficient",
                "turns": 2,
                "wall_s": 4.0,
                "cost_usd": pytest.approx(0.000928),
                "waste_usd": "—",
                "tokens": 2230,
                "waste_tokens": "—",
                "models": "gpt-4.1-mini",
                "session_id": "—",
            },
        ]
        assert (
            caption(at, "Runs ") == "Runs 1–2 of 2. Click a row to open it; — means not recorded."
        )


def test_run_tables_show_unknown_values_as_a_dash(unrecorded_db):
    """The turn table and the aligned turns of Compare: no "None" cell anywhere."""
    with page_test(unrecorded_db, TRAJECTORY, query={"trace": "no-tokens"}) as at:
        assert not at.exception
        assert [t.proto.placeholder for t in at.dataframe] == [fmt.MISSING_CELL]
        (turn,) = shown_rows(at.dataframe[0])
        assert (turn["model"], turn["cost_usd"], turn["input_tokens"], turn["ttft_ms"]) == (
            ("—",) * 4
        )
    with page_test(unrecorded_db, COMPARE, query={"a": "no-tokens", "b": "no-cache-data"}) as at:
        assert not at.exception
        tables = [t for t in at.dataframe if t.proto.HasField("placeholder")]
        assert [t.proto.placeholder for t in tables] == [fmt.MISSING_CELL]  # the aligned turns
        assert [(r["a_input_tokens"], r["b_input_tokens"]) for r in shown_rows(tables[0])] == [
            ("—", 1000),
            ("—", 1200),
        ]


# --- Trajectory ---------------------------------------------------------------------------


def test_showcase_header_and_headline(sample_db, showcase):
    trace = showcase[0]["trace_id"]
    with page_test(sample_db, TRAJECTORY, query={"trace": trace}) as at:
        assert not at.exception
        shown = metrics(at)
        assert shown["Turns"] == str(len(llm_spans(showcase))) == "14"
        assert shown["Wall time"] == "58.2 s"
        assert shown["Outcome"] == "success"
        (tools,) = [m for m in at.metric if m.label == "Tool calls"]
        failed = sum(s["kind"] == "tool" and s.get("status") == "error" for s in showcase)
        assert (tools.value, tools.delta) == ("13", f"{failed} failed")  # run_tests, 5 times
        text = markdown_text(at)
        (headline,) = [line for line in text.split("\n") if line.startswith("**Wasted turns:**")]
        assert headline == (
            "**Wasted turns:** stagnation on turns 5–8 ($0.0032) · "
            "uncached context on turns 2–4, 9–14 ($0.0114)  "
        )
        assert (
            "**Bigger model?** Escalation was needed: the smaller model stalled or failed, "
            "the larger one then succeeded." in text
        )
        assert (
            "gpt\\-4\\.1\\-mini\\-2025\\-04\\-14 (small, 8 calls) → "
            "gpt\\-4\\.1\\-2025\\-04\\-14 (large, 6 calls)" in text
        )
        assert len(at.get("plotly_chart")) == 4  # timeline, cost per turn, time split, context


def test_showcase_turn_table_marks_the_stuck_turns(sample_db, showcase):
    trace = showcase[0]["trace_id"]
    llm = llm_spans(showcase)
    with page_test(sample_db, TRAJECTORY, query={"trace": trace}) as at:
        turns = at.dataframe[0].value
        assert turns["turn"].tolist() == list(range(1, 15))
        assert turns["input_tokens"].tolist() == [s["input_tokens"] for s in llm]
        stuck = turns[turns["waste_tags"] == "stagnation"]
        assert stuck["turn"].tolist() == [5, 6, 7, 8]
        assert stuck["waste_tokens"].tolist() == [6598, 6700, 6784, 6868]
        assert stuck["waste_usd"].iloc[0] == pytest.approx(0.0007996)
        assert turns["model"].tolist() == [s["model"] for s in llm]
        # tags by name: turns 2–4 re-sent their context uncached
        assert turns["waste_tags"].tolist()[1:4] == ["uncached context"] * 3
        text = markdown_text(at)
        assert "- **Stagnation** (stuck in a loop): 4 turns" in text
        assert "**Escalation was needed: the smaller model stalled or failed" in text


def test_showcase_findings_link_their_span_and_the_span_they_repeat(sample_db, showcase):
    trace = showcase[0]["trace_id"]
    llm = llm_spans(showcase)
    with page_test(sample_db, TRAJECTORY, query={"trace": trace}) as at:
        findings = at.dataframe[1].value
    assert findings.shape[0] == 13  # 4 stagnation + 9 uncached_context (turns 2–4, 9–14)
    stagnation = findings[findings["category"] == "Stagnation"]  # categories by name
    assert stagnation["span_link"].tolist() == [
        f"trajectory?trace={trace}&span={llm[turn - 1]['span_id']}" for turn in (5, 6, 7, 8)
    ]
    first_of_window = f"trajectory?trace={trace}&span={llm[3]['span_id']}"  # turn 4
    assert set(stagnation["repeats_link"]) == {first_of_window}
    assert set(stagnation["detail"]) == {"same action and result, 4 times"}
    turn_9 = findings[findings["turn"] == 9].iloc[0]
    assert turn_9["category"] == "Uncached context"
    assert turn_9["tokens"] == 6868  # min(6910, 6826+42) - 0 cached after the model switch


def test_showcase_verdict_links_the_escalation_turns(sample_db, showcase):
    trace = showcase[0]["trace_id"]
    llm = llm_spans(showcase)
    with page_test(sample_db, TRAJECTORY, query={"trace": trace}) as at:
        text = markdown_text(at)
    escalation = f"[turn 9](trajectory?trace={trace}&span={llm[8]['span_id']})"
    assert f"Escalated at {escalation} from gpt\\-4\\.1\\-mini" in text
    signals = " · ".join(
        f"[turn {n}](trajectory?trace={trace}&span={llm[n - 1]['span_id']})"
        for n in (4, 5, 6, 7, 8)
    )
    assert f"Signals before escalating (stalled or failed turns): {signals}" in text


def test_compare_with_link_when_the_task_ran_elsewhere(sample_db, showcase):
    first, second = sample_spans(CHANGELOG_TASK)
    with page_test(sample_db, TRAJECTORY, query={"trace": first[0]["trace_id"]}) as at:
        (link,) = [e.proto for e in at.get("page_link") if e.proto.label.startswith("Compare")]
    assert link.label == "Compare with… (1 other run)"
    assert link.query_string == f"a={first[0]['trace_id']}&b={second[0]['trace_id']}"
    with page_test(sample_db, TRAJECTORY, query={"trace": showcase[0]["trace_id"]}) as at:
        assert not [e for e in at.get("page_link") if e.proto.label.startswith("Compare")]


def test_span_inspector_shows_the_linked_span_as_text(sample_db, showcase):
    trace = showcase[0]["trace_id"]
    turn_4 = llm_spans(showcase)[3]
    query = {"trace": trace, "span": turn_4["span_id"]}
    with page_test(sample_db, TRAJECTORY, query=query) as at:
        assert not at.exception
        code = [c.value for c in at.code]
        assert turn_4["name"] in code
        assert json.dumps(json.loads(turn_4["input"]), indent=2) in code
        assert json.dumps(json.loads(turn_4["output"]), indent=2) in code
        # and first, as the conversation: the tool results it read, the call it made
        captions = [c.value for c in at.caption]
        for message in json.loads(turn_4["input"]):
            heading = f"{message['role']} · result of {message['tool_call_id']}"
            assert escape_markdown(heading) in captions
            assert message["content"] in code
        (call,) = json.loads(turn_4["output"])["tool_calls"]
        heading = f"assistant · calls {call['function']['name']} ({call['id']})"
        assert escape_markdown(heading) in captions
        fields = dict(at.dataframe[0].value.itertuples(index=False))
        assert fields["Span id"] == turn_4["span_id"]
        assert fields["Input tokens"] == str(turn_4["input_tokens"])
        assert fields["Reported cost (USD)"] == "not recorded"
        assert at.selectbox(key="span_picker").value == turn_4["span_id"]


def one_span_store(folder: Path, span: dict) -> Path:
    """A store holding `span` alone, ingested from a span JSONL file."""
    path = folder / "span.jsonl"
    path.write_text(json.dumps(span) + "\n")
    return build_store(folder / "span.duckdb", [path])


def test_a_conversation_past_the_display_limit_says_where_the_rest_is(tmp_path):
    """Three 60,000-character messages: two are shown (the second cut), the third is named
    as not shown, not drawn as an empty message; a model call shows no tool arguments."""
    messages = [{"role": "user", "content": letter * 60_000} for letter in "abc"]
    span = {
        "trace_id": "long", "span_id": "l1", "name": "chat", "kind": "llm",
        "start_time": "2026-11-01T10:00:00Z", "end_time": "2026-11-01T10:00:02Z",
        "input": messages,
    }  # fmt: skip
    with page_test(
        one_span_store(tmp_path, span), TRAJECTORY, query={"trace": "long", "span": "l1"}
    ) as at:
        assert not at.exception
        code = [c.value for c in at.code]
        assert "a" * 60_000 in code and "b" * 40_000 in code
        assert "c" * 60_000 not in code[: code.index("b" * 40_000) + 1]
        captions = [c.value for c in at.caption]
        assert (
            "Showing the first 100,000 characters; the rest (1 more part) is under “As stored” "
            "below." in captions
        )
        assert "Tool arguments" not in captions


def test_a_tool_input_that_is_its_arguments_is_shown_once(tmp_path):
    """LangSmith records a tool's inputs, which are its arguments: not twice in a row."""
    span = {
        "trace_id": "t", "span_id": "read", "name": "read_file", "kind": "tool",
        "start_time": "2026-11-01T10:00:00Z", "end_time": "2026-11-01T10:00:01Z",
        "input": {"path": "a.py"}, "tool_args": {"path": "a.py"}, "output": "print(1)",
    }  # fmt: skip
    with page_test(
        one_span_store(tmp_path, span), TRAJECTORY, query={"trace": "t", "span": "read"}
    ) as at:
        assert not at.exception
        arguments = json.dumps({"path": "a.py"}, indent=2)
        # once as the arguments, once in "As stored"; not a third time as the input
        assert [c.value for c in at.code].count(arguments) == 2


def test_a_tool_span_shows_its_arguments_first_and_no_missing_input(tmp_path):
    """GenAI tool spans carry arguments and result, no input: the arguments are the input."""
    span = {
        "trace_id": "t", "span_id": "w", "name": "execute_tool get_weather", "kind": "tool",
        "start_time": "2026-11-01T10:00:00Z", "end_time": "2026-11-01T10:00:01Z",
        "tool_args": {"city": "Paris"}, "output": "sunny",
    }  # fmt: skip
    with page_test(
        one_span_store(tmp_path, span), TRAJECTORY, query={"trace": "t", "span": "w"}
    ) as at:
        assert not at.exception
        labels = [c.value for c in at.caption if c.value in ("Tool arguments", "Output", "Input")]
        assert labels[:2] == ["Tool arguments", "Output"]  # then "Input" only under As stored
        assert labels.count("Input") == 1


def test_the_span_picker_starts_empty_and_its_first_span_can_be_chosen(sample_db, showcase):
    trace = showcase[0]["trace_id"]
    with page_test(sample_db, TRAJECTORY, query={"trace": trace}) as at:
        picker = at.selectbox(key="span_picker")
        assert picker.value is None  # the placeholder, not span 1 shown as if chosen
        assert "No span selected." in [c.value for c in at.caption]
        first = picker.options[0]
        picker.select_index(0).run()
        assert not at.exception
        fields = dict(at.dataframe[0].value.itertuples(index=False))
        assert fields["Span id"] == showcase[0]["span_id"]
        assert at.query_params["span"] == showcase[0]["span_id"]
        assert not at.warning  # no clash of index=None with the value in Session State
        assert at.selectbox(key="span_picker").value == showcase[0]["span_id"], first


@pytest.mark.parametrize("client", ["otel_openai_v2.binpb", "openinference_openai.binpb"])
def test_tools_the_model_asked_for_are_counted_when_no_tool_span_was_recorded(tmp_path, client):
    """An LLM-client instrumentation traces the model calls only: the run's tool ran untraced.
    Its 0 tool calls must not read as 'no tools were used'."""
    db_file = build_store(tmp_path / "client.duckdb", [CLIENTS / client])
    with db.connect(db_file).cursor() as cur:
        (trace,) = cur.execute("SELECT trace_id FROM trajectories").fetchone()
    db.close(db_file)
    with page_test(db_file, TRAJECTORY, query={"trace": trace}) as at:
        assert not at.exception
        (tools,) = [m for m in at.metric if m.label == "Tool calls"]
        assert (tools.value, tools.delta) == ("0", "1 requested, untraced")
        assert tools.help.startswith("This run has no tool spans")
        assert "The model asked for 1 tool call in its replies" in tools.help


@pytest.mark.parametrize(
    ("status", "word"), [("unset", "no error recorded"), ("ok", "ok"), ("error", "failed")]
)
def test_the_span_summary_says_how_it_ended_in_words(status, word):
    span = {"kind": "tool", "tool_name": "get_weather", "status": status, "duration_ms": 200.0,
            "span_id": "s1"}  # fmt: skip
    assert summary(span) == f"tool · get_weather · {word} · 200 ms · span s1"


def test_a_link_can_open_the_span_s_stored_fields(sample_db, showcase):
    span = showcase[0]
    query = {"trace": span["trace_id"], "span": span["span_id"], "span_stored": "true"}
    with page_test(sample_db, TRAJECTORY, query=query) as at:
        assert not at.exception
        expanded = {e.label: e.proto.expanded for e in at.expander}
        assert expanded["As stored: input, output and attributes"] is True
        assert expanded["All fields"] is False


def test_a_run_whose_waste_is_unknown_is_not_said_to_have_none(tmp_path, shared_traces):
    """The SDK's weather agent: its second LLM call records no cache reads, so that turn's
    uncached context, and the run's waste, are unknown; no detector found anything."""
    db_file = build_store(
        tmp_path / "sdk.duckdb", [shared_traces / "otlp" / "sdk_agent_otlp.jsonl"]
    )
    with db.connect(db_file).cursor() as cur:
        (trace,) = cur.execute("SELECT trace_id FROM trajectories").fetchone()
    db.close(db_file)
    with page_test(db_file, TRAJECTORY, query={"trace": trace}) as at:
        assert not at.exception
        (headline,) = [m.value for m in at.markdown if m.value.startswith("**Wasted turns:**")]
        assert headline.startswith(
            "**Wasted turns:** none found; turn 2 not measurable (token or cache counts missing)  \n"
        )
        assert [i.value for i in at.info] == [
            "No waste found in the turns that could be measured; turn 2 not measurable "
            "(token or cache counts missing), so this run's waste is not recorded."
        ]
        assert "No waste found in this run." not in [s.value for s in at.success]
        (wasted,) = [m for m in at.metric if m.label == "Wasted"]
        assert (wasted.value, wasted.help, wasted.delta) == ("—", "Not recorded.", "not measurable")


def add_runs(store: Path, tmp_path: Path, spans: list[dict], query: str) -> tuple:
    """`spans` ingested into a page test's store, which is closed again for the page; the
    first row of `query` after the ingest."""
    con = db.connect(store)
    ingest_spans(con, tmp_path, "added.jsonl", spans)
    with con.cursor() as cur:
        row = cur.execute(query).fetchone()
    db.close(store)
    return row


def test_the_cost_source_says_which_calls_the_cost_leaves_out(sample_db, tmp_path):
    """A run whose second call recorded no usage (and did not fail, so it was no refused
    request): its cost sums the other calls."""
    no_usage = trajectory("no-usage", [T(), T(input=None, output=None), T()], model="gpt-4.1")
    source = "SELECT cost_source FROM trajectories WHERE trace_id = 'no-usage'"
    assert add_runs(sample_db, tmp_path, no_usage, source) == ("partial",)
    with page_test(sample_db, TRAJECTORY, query={"trace": "no-usage"}) as at:
        assert (
            "**Cost source:** computed from the model price table; 1 of 3 calls has no "
            "cost (1 with no token counts or reported cost), so the cost covers the other 2 "
            "(a lower bound)"
        ) in markdown_text(at)
        (cost,) = [m for m in at.metric if m.label == "Cost"]
        assert cost.delta == "lower bound"


def test_a_waste_too_small_for_four_places_reads_about_zero_with_the_amount_on_hover(
    sample_db, tmp_path
):
    """gpt-4o-mini re-sending 20 uncached tokens wastes $0.000003: '<$0.0001' was cut to
    '<$0.0…' in its tile."""
    turns = [T(input=1000, cache_read=0, output=20), T(input=1100, cache_read=1000, output=20)]
    tiny = trajectory("tiny-waste", turns, model="gpt-4o-mini")
    query = "SELECT waste_usd FROM trajectories WHERE trace_id = 'tiny-waste'"
    (waste,) = add_runs(sample_db, tmp_path, tiny, query)
    assert 0 < waste < 0.00005
    with page_test(sample_db, TRAJECTORY, query={"trace": "tiny-waste"}) as at:
        (tile,) = [m for m in at.metric if m.label == "Wasted"]
        assert tile.value == "≈ $0"
        assert tile.help.startswith(f"${waste:.10f}".rstrip("0") + ". ")


def test_a_refused_call_costs_nothing_and_leaves_the_waste_measured(sample_db):
    """The sample's Overloaded (HTTP 529) call: failed, no usage, so nothing was billed."""
    with db.connect(sample_db).cursor() as cur:
        ((trace, cost, source, waste),) = cur.execute(
            "SELECT t.trace_id, u.cost_usd, t.cost_source, t.waste_usd FROM turns u "
            "JOIN trajectories t USING (trace_id) WHERE u.status = 'error' "
            "AND u.input_tokens IS NULL AND t.source = 'otlp'"
        ).fetchall()
    db.close(sample_db)
    assert (cost, source) == (0.0, "computed") and waste is not None
    with page_test(sample_db, TRAJECTORY, query={"trace": trace}) as at:
        text = markdown_text(at)
        assert "**Cost source:** computed from the model price table" in text
        assert "has no cost" not in text
        (tile,) = [m for m in at.metric if m.label == "Wasted"]
        assert tile.value == fmt.fine_usd(waste)


def test_the_cost_source_says_when_calls_record_no_cached_input(unrecorded_db):
    """no-cache-data: two gpt-4.1-mini calls with token counts but no cache counts."""
    with page_test(unrecorded_db, TRAJECTORY, query={"trace": "no-cache-data"}) as at:
        assert (
            "**Cost source:** computed from the model price table; all its calls record no "
            "cached input, priced as if none was cached (an upper bound)"
        ) in markdown_text(at)


def call(model="m", cost=0.01, source="computed", tokens=(100, 10), cache_read=0) -> dict:
    return {"model": model, "cost_usd": cost, "cost_source": source,
            "input_tokens": tokens[0], "output_tokens": tokens[1], "cache_read_tokens": cache_read}  # fmt: skip


@pytest.mark.parametrize(
    ("calls", "expected"),
    [
        (  # a refused call (failed, no usage) costs $0: not left out, not an estimate
            [call(cache_read=None), call(cost=0.0, tokens=(None, None), cache_read=None)],
            "computed from the model price table; 1 of its calls records no cached input, "
            "priced as if none was cached (an upper bound)",
        ),
        (  # token counts, but no price for the model and none reported
            [call(source="reported"), call(model="acme-finetune-v1", cost=None, source=None)],
            "as reported by the source; 1 of 2 calls has no cost (1 with token counts but no "
            "price for acme-finetune-v1), so the cost covers the other 1 (a lower bound)",
        ),
        (
            [call(), call(model="x", cost=None, source=None), call(cost=None, source=None, tokens=(None, 5))],
            "computed from the model price table; 2 of 3 calls have no cost (1 with token "
            "counts but no price for x; 1 with no token counts or reported cost), so the cost "
            "covers the other 1 (a lower bound)",
        ),
        ([call(cost=None, source=None)], "cost not recorded"),
    ],
)  # fmt: skip
def test_the_cost_source_names_why_each_call_left_out_has_no_cost(calls, expected):
    assert cost_source_text(pl.DataFrame(calls)) == expected


def counts(status="ok", cost_source="computed", **tokens) -> dict:
    keys = (
        "input_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "output_tokens",
        "reasoning_tokens",
    )
    return {"status": status, "cost_source": cost_source} | {key: tokens.get(key.removesuffix("_tokens")) for key in keys}  # fmt: skip


def test_a_token_total_some_calls_did_not_record_is_marked_as_a_lower_bound():
    """msg-1 of a walkthrough: reasoning unknown on turn 1, 0 on turn 2; its total is not 0.
    A refused call (failed, no usage) is not missing anything."""
    turns = pl.DataFrame(
        [
            counts(input=100, cache_read=0, output=20),
            counts(input=200, cache_read=50, output=40, reasoning=0),
            counts(status="error"),
        ],
        schema_overrides={f"{k}_tokens": pl.Int64 for k in ("input", "cache_read", "cache_write", "output", "reasoning")},
    )  # fmt: skip
    run = {"input_tokens": 300, "cache_read_tokens": 50, "cache_write_tokens": None,
           "output_tokens": 60, "reasoning_tokens": 0}  # fmt: skip
    assert tokens_text(run, turns) == (
        "input 300 tokens (cached 50 tokens, cache write not recorded) · output 60 tokens "
        "(reasoning ≥ 0 tokens) · ≥: a sum over the calls that recorded it (reasoning missing "
        "on 1 of 2 calls)"
    )
    assert tokens_text(run | {"reasoning_tokens": None}, turns.head(1)).endswith(
        "output 60 tokens (reasoning not recorded)"
    )


def test_a_failed_call_with_a_reported_cost_is_missing_its_tokens_not_refused():
    """The SQL's refused-call rule (analysis.cost): failed, no usage AND no reported cost. A
    failed call the provider billed processed tokens nobody recorded."""
    turns = pl.DataFrame(
        [counts(input=100, cache_read=0, output=20), counts(status="error", cost_source="reported")],
        schema_overrides={f"{k}_tokens": pl.Int64 for k in ("input", "cache_read", "cache_write", "output", "reasoning")},
    )  # fmt: skip
    run = {"input_tokens": 100, "cache_read_tokens": 0, "cache_write_tokens": None,
           "output_tokens": 20, "reasoning_tokens": None}  # fmt: skip
    assert tokens_text(run, turns) == (
        "input ≥ 100 tokens (cached ≥ 0 tokens, cache write not recorded) · output ≥ 20 tokens "
        "(reasoning not recorded) · ≥: a sum over the calls that recorded it (input missing on "
        "1 of 2 calls; cached missing on 1 of 2 calls; output missing on 1 of 2 calls)"
    )


@pytest.mark.parametrize(
    ("selection", "row"),
    [
        ({"rows": [3], "columns": [], "cells": []}, 3),  # the selection box at the left
        ({"rows": [], "columns": [], "cells": [(2, "turn")]}, 2),  # any cell of the row
        ({"rows": [], "columns": [], "cells": [(2, "span_link")]}, None),  # a link: new tab
        ({"rows": [], "columns": [], "cells": []}, None),  # a click that unselected
    ],
)
def test_a_row_opens_from_any_cell_but_a_link(selection, row):
    assert picked_row(selection, link_columns=("span_link",)) == row


def test_the_sidebar_link_reopens_the_run_this_session_had_open(sample_db, showcase):
    """Trajectory in the sidebar carries no run: it opened 'Choose a run…' after a look at
    another page, and the reviewer lost their place."""
    trace, span = showcase[0]["trace_id"], showcase[3]["span_id"]
    with page_test(sample_db, TRAJECTORY, {"trace": trace, "span": span}) as at:
        at.switch_page("views/overview.py").run()
        for key in list(at.query_params):
            del at.query_params[key]
        at.switch_page(TRAJECTORY).run()
        assert not at.exception and not at.info
        assert (at.query_params["trace"], at.query_params["span"]) == (trace, span)
        assert [m.value for m in at.metric if m.label == "Turns"] == ["14"]


def test_a_long_run_s_turn_ranges_are_cut_with_how_many_are_left():
    assert turn_ranges([5, 6, 7, 8, 11]) == "5–8, 11"
    every_other = list(range(1, 100, 2))  # 50 ranges of one turn
    assert turn_ranges(every_other) == "1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23 and 38 more"


def test_a_cost_of_thousands_fits_its_tile_in_whole_dollars(sample_db, tmp_path):
    """$1,261.67 was cut to '$1,26…' at 1280 px."""
    huge = trajectory(
        "huge-run", [T(input=600_000_000, cache_read=0, output=1000)], model="gpt-4.1"
    )
    (cost,) = add_runs(
        sample_db, tmp_path, huge, "SELECT cost_usd FROM trajectories WHERE trace_id = 'huge-run'"
    )
    assert cost >= 1000
    with page_test(sample_db, TRAJECTORY, query={"trace": "huge-run"}) as at:
        (tile,) = [m for m in at.metric if m.label == "Cost"]
        assert (tile.value, tile.help) == (f"${cost:,.0f}", f"{fmt.usd(cost)}.")


def test_unknown_trace_says_so(sample_db):
    with page_test(sample_db, TRAJECTORY, query={"trace": "no-such-trace"}) as at:
        assert not at.exception
        assert at.error[0].value == "No trajectory with id no\\-such\\-trace in this store."


def test_unknown_span_says_so(sample_db, showcase):
    query = {"trace": showcase[0]["trace_id"], "span": "no-such-span"}
    with page_test(sample_db, TRAJECTORY, query=query) as at:
        assert not at.exception
        assert at.warning[0].value == "This run has no span with the id given in the link."


def test_trajectory_without_a_trace_points_to_the_list(sample_db):
    with page_test(sample_db, TRAJECTORY) as at:
        assert not at.exception
        assert at.info[0].value.startswith("Choose a run on the Trajectories page")


def test_trajectory_on_an_empty_store_says_what_to_upload(empty_db):
    with page_test(empty_db, TRAJECTORY, query={"trace": "x"}) as at:
        assert not at.exception
        assert "No traces yet" in at.info[0].value


def test_hostile_trace_content_stays_text(tmp_path):
    store = build_store(tmp_path / "hostile.duckdb", [write_hostile_trace(tmp_path / "h.jsonl")])
    query = {"trace": HOSTILE_TRACE, "span": HOSTILE_SPAN}
    with page_test(store, TRAJECTORY, query=query) as at:
        assert not at.exception
        code = [c.value for c in at.code]
        assert HOSTILE_NAME in code  # the span name, verbatim
        input_block = next(c for c in code if c.startswith(HOSTILE_NAME + "\n"))
        assert len(input_block) == len(HOSTILE_NAME) + 1 + 50_000
        rendered = [m.value for m in at.markdown] + [c.value for c in at.caption]
        rendered += [m.value for m in at.metric]
        for text in rendered:  # Markdown only ever holds the escaped form
            live = re.sub(r"\\.", "\x00", text)  # what Markdown would still interpret
            for raw in (SCRIPT, LINK, IMG, ANCHOR, "**bold**", ANSI, ":red[", "$x"):
                assert raw not in live, (raw, text)
        escaped_name = (  # by hand: every ASCII punctuation mark escaped, ANSI gone, cut
            r"\<script\>alert\(1\)\<\/script\> \*\*bold\*\* \[link\]\(http\:\/\/x\) "
            r"\!\[img\]\(http\:\/\/x\/i\.png\) red \:red\[colour\] \$x\^2\$ "
            r"\<a href\=\"http\:\/\/x\/a\"\>…"  # cut after 119 characters
        )
        assert caption(at, escaped_name).startswith(escaped_name + r" · task \<script\>")


# --- Reviews ------------------------------------------------------------------------------


def add_review(at, verdict: str | None, comment: str, custom: str = "", pin: bool = False):
    at.selectbox(key="new_review_verdict").set_value(verdict)
    at.text_input(key="new_review_custom").input(custom)
    at.text_area(key="new_review_comment").input(comment)
    if pin:
        at.checkbox(key="new_review_pin").check()
    return next(b for b in at.button if b.label == "Add review").click().run()


def test_a_review_is_stored_and_listed(sample_db, showcase):
    trace = showcase[0]["trace_id"]
    turn_5 = llm_spans(showcase)[4]["span_id"]
    query = {"trace": trace, "span": turn_5}
    with page_test(sample_db, TRAJECTORY, query=query, state={"reviewer_name": "ana"}) as at:
        add_review(at, "wasteful", "loops on **run_tests** <b>", pin=True)
        assert not at.exception
        assert at.success[0].value == "Review added."
        stored = current_reviews(db.connect(sample_db), trace).row(0, named=True)
        assert (stored["author"], stored["verdict"], stored["span_id"]) == (
            "ana",
            "wasteful",
            turn_5,
        )
        assert stored["comment"] == "loops on **run_tests** <b>"
        assert "loops on **run_tests** <b>" in [t.value for t in at.text]  # as text
        heading = next(m.value for m in at.markdown if m.value.startswith("**Wasteful**"))
        assert heading.startswith("**Wasteful** · by ana · ")
        assert heading.endswith(f" · on [turn 5](trajectory?trace={trace}&span={turn_5})")
        assert at.text_area(key="new_review_comment").value == ""  # form cleared


def test_a_pinned_review_shows_where_its_span_is_inspected(sample_db, showcase):
    trace = showcase[0]["trace_id"]
    turn_5, turn_6 = (s["span_id"] for s in llm_spans(showcase)[4:6])
    long = "loops on run_tests " + "x" * 400
    store_review(db.connect(sample_db), ReviewInput(trace, "ana", "wasteful", long, turn_5))
    db.close(sample_db)
    with page_test(sample_db, TRAJECTORY, query={"trace": trace, "span": turn_5}) as at:
        assert not at.exception
        pins = [m.value for m in at.markdown if m.value.startswith(":material/push_pin:")]
        assert len(pins) == 1 and pins[0].startswith(":material/push_pin: **Wasteful** · by ana · ")
        assert long[:300] + "… (whole in Reviews below)" in [t.value for t in at.text]
    with page_test(sample_db, TRAJECTORY, query={"trace": trace, "span": turn_6}) as at:
        assert not [m for m in at.markdown if m.value.startswith(":material/push_pin:")]


def test_the_span_picker_marks_the_failed_spans(sample_db, showcase):
    """Typing "failed" in the picker finds them: in a long run it was the only way short of
    the list's search."""
    trace = showcase[0]["trace_id"]
    failed = [i + 1 for i, span in enumerate(showcase) if span.get("status") == "error"]
    assert failed
    with page_test(sample_db, TRAJECTORY, query={"trace": trace}) as at:
        options = at.selectbox(key="span_picker").options
        marked = [int(label.split(".")[0]) for label in options if label.endswith(" · failed")]
        assert marked == failed


def test_a_review_pinned_to_a_tool_span_names_it_as_the_picker_does(sample_db, showcase):
    trace = showcase[0]["trace_id"]
    position, tool = next((i + 1, s) for i, s in enumerate(showcase) if s["kind"] == "tool")
    label = f"{position}. tool · {tool['name']}"
    query = {"trace": trace, "span": tool["span_id"]}
    with page_test(sample_db, TRAJECTORY, query=query, state={"reviewer_name": "ana"}) as at:
        assert at.checkbox(key="new_review_pin").label == (
            f"Pin to the inspected span ({escape_markdown(label)})"
        )
        add_review(at, "bug", "read the wrong file", pin=True)
        heading = next(m.value for m in at.markdown if m.value.startswith("**Bug**"))
        href = f"trajectory?trace={trace}&span={tool['span_id']}"
        assert heading.endswith(f" · on [{escape_markdown(label)}]({href})")


def test_a_custom_label_needs_text(sample_db, showcase):
    trace = showcase[0]["trace_id"]
    with page_test(sample_db, TRAJECTORY, {"trace": trace}, {"reviewer_name": "bo"}) as at:
        add_review(at, "__custom__", "hm")
        assert at.error[0].value == "type the custom label, or choose another verdict"
        assert current_reviews(db.connect(sample_db), trace).is_empty()
        add_review(at, "__custom__", "hm", custom="flaky test infra")
        assert current_reviews(db.connect(sample_db), trace)["verdict"].to_list() == [
            "flaky test infra"
        ]


def test_a_typed_label_is_kept_without_choosing_custom_and_names_a_verdict_alike(
    sample_db, showcase
):
    trace = showcase[0]["trace_id"]
    with page_test(sample_db, TRAJECTORY, {"trace": trace}, {"reviewer_name": "bo"}) as at:
        add_review(at, None, "infra was down", custom="infra-outage")
        add_review(at, "__custom__", "", custom=" GOOD ")
        add_review(at, None, "", custom="needs a bigger model")
        assert not at.exception
    verdicts = current_reviews(db.connect(sample_db), trace)["verdict"].to_list()
    assert verdicts == ["infra-outage", "good", "needs_bigger_model"]


def edit_a_new_review(at, db_file, trace: str) -> str:
    """Add a "good" review and open its edit form; returns its id."""
    add_review(at, "good", "looks fine")
    review_id = current_reviews(db.connect(db_file), trace)["review_id"][0]
    next(b for b in at.button if b.label == "Edit").click().run()
    return review_id


def test_a_comment_over_the_limit_is_refused_with_a_message_and_kept_to_trim(sample_db, showcase):
    trace = showcase[0]["trace_id"]
    too_long = "x" * 5_001
    with page_test(sample_db, TRAJECTORY, {"trace": trace}, {"reviewer_name": "bo"}) as at:
        add_review(at, "wasteful", too_long)
        assert at.error[0].value == "a comment of 5,001 characters: at most 5,000 fit"
        assert at.text_area(key="new_review_comment").value == too_long
        assert current_reviews(db.connect(sample_db), trace).is_empty()


def test_a_pasted_label_over_the_limit_is_refused_with_a_message_and_kept(sample_db, showcase):
    """The field had the browser's own 60-character limit, which drops such a paste unsaid."""
    trace = showcase[0]["trace_id"]
    label = "flaky infrastructure: the CI runner lost its network mid-test again"
    with page_test(sample_db, TRAJECTORY, {"trace": trace}, {"reviewer_name": "bo"}) as at:
        add_review(at, None, "", custom=label)
        assert at.error[0].value == f"a custom label of {len(label)} characters: at most 60 fit"
        assert at.text_input(key="new_review_custom").value == label
        assert current_reviews(db.connect(sample_db), trace).is_empty()


def test_a_name_over_the_limit_is_refused_with_a_message_and_kept(sample_db, showcase):
    trace = showcase[0]["trace_id"]
    name = "Ana " + "x" * 80
    with page_test(sample_db, TRAJECTORY, {"trace": trace}) as at:
        at.text_input(key="reviewer_name_change").input(name)
        next(b for b in at.button if b.label == "Save name").click().run()
        assert at.error[0].value == f"a name of {len(name)} characters: at most 80 fit"
        assert at.text_input(key="reviewer_name_change").value == name
        assert "reviewer_name" not in at.session_state


def test_a_label_typed_beside_another_verdict_is_not_dropped_silently(sample_db, showcase):
    trace = showcase[0]["trace_id"]
    with page_test(sample_db, TRAJECTORY, {"trace": trace}, {"reviewer_name": "bo"}) as at:
        add_review(at, "wasteful", "slow run", custom="Slow")
        assert at.error[0].value == (
            "both the verdict “Wasteful” and the label “Slow” are given: choose “Custom label…” "
            "to use the label, or clear it"
        )
        add_review(at, "good", "", custom="Good")  # the label names the verdict chosen
        assert not at.error
    assert current_reviews(db.connect(sample_db), trace)["verdict"].to_list() == ["good"]


def test_an_edit_saved_after_another_tab_s_keeps_the_text_typed(sample_db, showcase):
    trace = showcase[0]["trace_id"]
    with page_test(sample_db, TRAJECTORY, {"trace": trace}, {"reviewer_name": "ana"}) as at:
        first_id = edit_a_new_review(at, sample_db, trace)
        # meanwhile the same review is saved from another tab
        other = edit_review(db.connect(sample_db), first_id, "ana", "bug", "from the other tab")
        at.text_area(key=f"edit_{first_id}_comment").input("typed here, not to lose")
        next(b for b in at.button if b.label == "Save").click().run()
        assert not at.exception
        assert at.error[0].value.startswith("This review was saved elsewhere")
        assert at.text_area(key=f"edit_{other}_comment").value == "typed here, not to lose"
        assert at.selectbox(key=f"edit_{other}_verdict").value == "good"
        next(b for b in at.button if b.label == "Save").click().run()
        assert not at.exception
    history = review_history(
        db.connect(sample_db), current_reviews(db.connect(sample_db), trace)["review_id"][0]
    )
    assert history["comment"].to_list() == [
        "typed here, not to lose",
        "from the other tab",
        "looks fine",
    ]


def test_editing_a_review_keeps_its_history(sample_db, showcase):
    trace = showcase[0]["trace_id"]
    with page_test(sample_db, TRAJECTORY, {"trace": trace}, {"reviewer_name": "ana"}) as at:
        first_id = edit_a_new_review(at, sample_db, trace)
        prefix = f"edit_{first_id}"
        at.selectbox(key=f"{prefix}_verdict").set_value("needs_bigger_model")
        at.text_area(key=f"{prefix}_comment").input("the small model looped at turn 5")
        next(b for b in at.button if b.label == "Save").click().run()
        assert not at.exception
        current = current_reviews(db.connect(sample_db), trace).row(0, named=True)
        assert (current["verdict"], current["edited"]) == ("needs_bigger_model", True)
        history = review_history(db.connect(sample_db), current["review_id"])
        assert history["comment"].to_list() == ["the small model looped at turn 5", "looks fine"]
        heading = next(m.value for m in at.markdown if m.value.startswith("**Needs a bigger"))
        assert re.search(r" · \*edited \d{4}-\d\d-\d\d \d\d:\d\d UTC\*$", heading), heading
        shown = at.dataframe[-1].value  # the History expander: verdicts as the cards name them
        assert shown["verdict"].tolist() == ["Needs a bigger model", "Good"]


def test_only_the_author_may_edit(sample_db, showcase):
    trace = showcase[0]["trace_id"]
    with page_test(sample_db, TRAJECTORY, {"trace": trace}, {"reviewer_name": "ana"}) as at:
        add_review(at, "bug", "tool output truncated")
    with page_test(sample_db, TRAJECTORY, {"trace": trace}, {"reviewer_name": "bo"}) as at:
        assert not [b for b in at.button if b.label == "Edit"]
        assert any(m.value.startswith("**Bug** · by ana") for m in at.markdown)


# --- Compare ------------------------------------------------------------------------------


def test_compare_defaults_b_to_a_run_of_the_same_task(sample_db):
    runs = sample_spans(CHANGELOG_TASK)
    opus, haiku = sorted(runs, key=lambda spans: "haiku" in llm_spans(spans)[0]["model"])
    with page_test(sample_db, COMPARE, query={"a": opus[0]["trace_id"]}) as at:
        assert not at.exception
        assert at.query_params["b"] == haiku[0]["trace_id"]
        # the chosen B is in the link to this view too (it was drawn before B was chosen)
        (link,) = [c.value for c in at.code if c.value.startswith("http")]
        assert link.endswith(f"/compare?a={opus[0]['trace_id']}&b={haiku[0]['trace_id']}")
        facts = {row[0]: row[1:] for row in at.dataframe[0].value.itertuples(index=False)}
        assert facts["Models"][:2] == (llm_spans(opus)[0]["model"], llm_spans(haiku)[0]["model"])
        assert facts["Turns"] == ("4", "4", "same", "1.00×")
        assert facts["Tier (highest)"][:2] == ("large", "small")
        assert facts["Verdict"][:2] == ("Over-provisioned", "Small model sufficient")
        wall = [
            (datetime.fromisoformat(s[0]["end_time"]) - datetime.fromisoformat(s[0]["start_time"]))
            for s in (opus, haiku)
        ]
        assert facts["Wall time"][:2] == tuple(f"{w.total_seconds():.1f} s" for w in wall)
        aligned = at.dataframe[1].value
        assert aligned["turn"].tolist() == [1, 2, 3, 4]
        assert aligned["a_input_tokens"].tolist() == [s["input_tokens"] for s in llm_spans(opus)]
        assert aligned["b_input_tokens"].tolist() == [s["input_tokens"] for s in llm_spans(haiku)]
        assert len(at.get("plotly_chart")) == 3  # cumulative cost + two timelines
        # the picker names a run by what tells runs apart first: time, model, id; then task
        label = at.selectbox(key="pick_b").options[0]
        started = datetime.fromisoformat(haiku[0]["start_time"]).strftime("%m-%d %H:%M")
        model = llm_spans(haiku)[0]["model"]
        assert label == f"{started} · {model} · {haiku[0]['trace_id'][:8]} · task:{CHANGELOG_TASK}"


def test_compare_names_a_task_known_by_its_first_message_by_that_message(sample_db):
    """Key facts showed the hash ("msg:92a183b6c0741989") where every table shows the text."""
    with db.connect(sample_db).cursor() as cur:
        a, b, key, text = cur.execute(
            "SELECT min(trace_id), max(trace_id), task_key, any_value(task_text) FROM trajectories "
            "WHERE task_key LIKE 'msg:%' GROUP BY task_key HAVING count(*) = 2 ORDER BY task_key "
            "LIMIT 1"
        ).fetchone()
    db.close(sample_db)
    with page_test(sample_db, COMPARE, query={"a": a, "b": b}) as at:
        facts = {row[0]: row[1:3] for row in at.dataframe[0].value.itertuples(index=False)}
        assert facts["Task"] == (f"“{text}” ({key})",) * 2


def test_compare_of_a_run_with_itself_says_so(sample_db, showcase):
    trace = showcase[0]["trace_id"]
    with page_test(sample_db, COMPARE, query={"a": trace, "b": trace}) as at:
        assert not at.exception
        assert [w.value for w in at.warning] == [
            "A and B are the same run: choose another run as B to see differences."
        ]


def test_compare_aligns_runs_of_different_length(sample_db, showcase):
    short = sample_spans(CHANGELOG_TASK)[0]
    query = {"a": showcase[0]["trace_id"], "b": short[0]["trace_id"]}
    with page_test(sample_db, COMPARE, query=query) as at:
        aligned = at.dataframe[1].value
        assert aligned["turn"].tolist() == list(range(1, 15))
        assert aligned["b_model"].isna().tolist() == [False] * 4 + [True] * 10


def test_compare_unknown_run_says_so(sample_db, showcase):
    query = {"a": showcase[0]["trace_id"], "b": "nope"}
    with page_test(sample_db, COMPARE, query=query) as at:
        assert not at.exception
        assert at.error[0].value == "Run B: no trajectory with id nope in this store."


def test_compare_without_runs_asks_for_two(sample_db):
    with page_test(sample_db, COMPARE) as at:
        assert not at.exception
        assert at.info[0].value.startswith("Choose two runs to compare")


def test_compare_on_an_empty_store_says_what_to_upload(empty_db):
    with page_test(empty_db, COMPARE) as at:
        assert not at.exception
        assert "No traces yet" in at.info[0].value


def test_hostile_store_lists_and_compares_without_markup(tmp_path):
    hostile = write_hostile_trace(tmp_path / "h.jsonl")
    store = build_store(tmp_path / "hostile.duckdb", [hostile])
    with page_test(store, TRAJECTORIES) as at:
        assert not at.exception
        assert at.dataframe[0].value["agent_name"].tolist() == [HOSTILE_NAME]
    query = {"a": HOSTILE_TRACE, "b": HOSTILE_TRACE}
    with page_test(store, COMPARE, query=query) as at:
        assert not at.exception
        for element in list(at.markdown) + list(at.caption):
            assert SCRIPT not in element.value and IMG not in element.value


def test_the_header_names_the_session_and_a_long_run_s_wall_time_fits_its_tile(sample_db):
    with db.connect(sample_db).cursor() as cur:
        trace, session, agent, wall_ms = cur.execute(
            "SELECT trace_id, session_id, agent_name, wall_ms FROM trajectories "
            "WHERE session_id IS NOT NULL AND wall_ms >= 60000 ORDER BY trace_id LIMIT 1"
        ).fetchone()
    db.close(sample_db)
    with page_test(sample_db, TRAJECTORY, query={"trace": trace}) as at:
        assert caption(at, escape_markdown(agent)).endswith(
            f" · session {escape_markdown(session)}"
        )
        (wall,) = [m for m in at.metric if m.label == "Wall time"]
        assert (wall.value, wall.help) == (fmt.short_duration(wall_ms), fmt.duration(wall_ms))
        assert wall.value.endswith(" min")


def test_a_task_known_by_its_first_message_reads_as_that_message(sample_db):
    with db.connect(sample_db).cursor() as cur:
        trace, key, text = cur.execute(
            "SELECT trace_id, task_key, task_text FROM trajectories "
            "WHERE task_key LIKE 'msg:%' ORDER BY start_time DESC LIMIT 1"
        ).fetchone()
    db.close(sample_db)
    assert text and not text.startswith("msg:")
    with page_test(sample_db, "views/trajectories.py", query={"task": key}) as at:
        (row,) = shown_rows(at.dataframe[0])
        assert row["task_key"] == text
    with page_test(sample_db, TRAJECTORY, query={"trace": trace}) as at:
        shown = escape_markdown(f"“{text}” ({key})")
        assert f" · task {shown} · " in caption(at, "support")


def test_a_failed_run_a_larger_tier_solved_says_so_not_that_smaller_tiers_failed(
    sample_db, tmp_path
):
    runs = trajectory("h-small", [T()], model="gpt-4.1-mini", task_id="hfail", score=0)
    runs += trajectory("h-large", [T()], model="gpt-4.1", task_id="hfail", score=1)
    verdict = "SELECT verdict FROM trajectories WHERE trace_id = 'h-small'"
    assert add_runs(sample_db, tmp_path, runs, verdict) == ("large_needed",)
    with page_test(sample_db, TRAJECTORY, query={"trace": "h-small"}) as at:
        text = markdown_text(at)
        assert (
            "**Bigger model?** A larger model was needed: this run failed, and a larger tier "
            "solved this task in other runs."
        ) in text
        assert "smaller tiers failed" not in text


def test_other_runs_of_the_task_show_wall_time_in_seconds_like_every_table(sample_db, tmp_path):
    runs = trajectory("w-small", [T()], model="gpt-4.1-mini", task_id="wtask", score=1)
    runs += trajectory("w-large", [T(), T()], model="gpt-4.1", task_id="wtask", score=1)
    add_runs(sample_db, tmp_path, runs, "SELECT 1")
    with page_test(sample_db, TRAJECTORY, query={"trace": "w-small"}) as at:
        (siblings,) = [df.value for df in at.dataframe if "compare" in df.value.columns]
        assert siblings["wall_s"].tolist() == [0.3]  # w-large: two turns of 150 ms
        assert "wall_ms" not in siblings.columns


def test_a_waste_category_of_one_turn_says_one_turn(sample_db, tmp_path):
    read = Call("read", {"f": "a"}, "A")
    runs = trajectory("one-repeat", [T(calls=[read]), T(calls=[read]), T(message="done")])
    add_runs(sample_db, tmp_path, runs, "SELECT 1")
    with page_test(sample_db, TRAJECTORY, query={"trace": "one-repeat"}) as at:
        assert "- **Repeated calls** (repeated an earlier tool call): 1 turn, " in markdown_text(at)


def test_the_timeline_says_which_spans_it_could_not_draw(sample_db, tmp_path):
    """A Langfuse GENERATION that failed with a 429 has no endTime: not drawn, and said so."""

    def observation(id_, type_, start, end, parent="root"):
        return {"id": id_, "traceId": "no-end", "parentObservationId": parent, "type": type_,
                "name": id_, "startTime": f"2026-01-01T00:00:0{start}Z",
                "endTime": None if end is None else f"2026-01-01T00:00:0{end}Z",
                "level": "ERROR" if end is None else "DEFAULT"}  # fmt: skip

    page = {"data": [
        observation("root", "AGENT", 0, 9, parent=None),
        observation("call", "GENERATION", 1, None),
        observation("retry", "GENERATION", 2, 8),
    ]}  # fmt: skip
    path = tmp_path / "observations.json"
    path.write_text(json.dumps(page))
    con = db.connect(sample_db)
    assert ingest_path(con, path).ok
    db.close(sample_db)
    with page_test(sample_db, TRAJECTORY, query={"trace": "no-end"}) as at:
        assert not at.exception
        assert caption(at, "Bars:") == (
            "Bars: indigo = model call, amber = tool, red outline = error. Click a bar. "
            "1 span with no recorded start or end is not drawn; the span picker has it."
        )


def test_the_source_s_own_cost_is_shown_beside_the_price_table_s(tmp_path, shared_traces):
    """QA: Langfuse priced this LangGraph run at $0.000234, the price table at $0.00108; the
    page showed only the second, with nothing saying the file said otherwise."""
    trace = "e1fde3efec57ce8a69bafd3fb928a7eb"
    langgraph = shared_traces / "other" / "langfuse_trace__langgraph-python-2025-08-22.json"
    db_file = build_store(tmp_path / "lg.duckdb", [langgraph])
    with page_test(db_file, TRAJECTORY, query={"trace": trace}) as at:
        assert not at.exception
        (line,) = [m.value for m in at.markdown if m.value.startswith("**Tokens:**")]
        assert line.endswith(
            "**Cost source:** computed from the model price table; the source itself reported "
            "$0.0002 for 2 calls"
        )


@pytest.mark.parametrize(
    ("sources", "costs", "reported", "said"),
    [
        (["computed", "computed"], [0.001, 0.002], (0.003, 2), ""),  # the same figure
        (["reported", "reported"], [0.001, 0.002], (0.003, 2), ""),  # the source's, shown
        (["computed", "reported"], [0.001, 0.002], (0.004, 1), ""),  # a mix: not comparable
        (["computed", "computed"], [0.001, 0.002], (None, 0), ""),  # none reported
        (["computed", "computed"], [0.001, 0.002], (0.0015, 2),
         "; the source itself reported $0.0015 for 2 calls"),
    ],
)  # fmt: skip
def test_the_source_s_cost_is_said_only_when_it_differs(sources, costs, reported, said):
    from ui.run_text import reported_cost_text

    turns = pl.DataFrame({"cost_source": sources, "cost_usd": costs})
    assert reported_cost_text(turns, reported) == said
