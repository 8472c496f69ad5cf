"""Span text search: the analysis function on a real store, and the Trajectories page using it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis import queries
from analysis.filters import TrajectoryFilter
from analysis.search import like_pattern, match_snippets, search_spans, snippet
from store import db
from tests.apptest import shown_rows
from tests.pages_fixtures_trajectory import build_store, page_test
from ui.report import summary_report

TRAJECTORIES = "views/trajectories.py"


def span(trace: str, span_id: str, second: int, **fields) -> dict:
    return {
        "trace_id": trace,
        "span_id": span_id,
        "kind": "tool",
        "name": "lookup",
        "start_time": f"2026-11-20T10:00:{second:02d}Z",
        "end_time": f"2026-11-20T10:00:{second:02d}.5Z",
        **fields,
    }


SPANS = [
    # weather: Paris twice, in the arguments of its second span and the output of its third
    span("weather", "w1", 1, agent_name="forecaster", session_id="sess-9"),
    span("weather", "w2", 2, tool_args='{"city": "Paris"}', output="18°C"),
    span("weather", "w3", 3, kind="llm", name="chat", output="It is 18°C in PARIS today."),
    # ops: an error message, and a literal percent sign and underscore in its input
    span("ops", "o1", 5, agent_name="ops", input="disk at 100% on db_main"),
    span("ops", "o2", 6, status="error", error_message="Timeout after 5.0s"),
    # plain: nothing to find but a name
    span("plain", "p1", 8, agent_name="ops", name="parse"),
]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("search")
    trace = folder / "runs.spans.jsonl"
    trace.write_text("".join(json.dumps(s) + "\n" for s in SPANS))
    return build_store(folder / "search.duckdb", [trace])


@pytest.fixture
def con(store):
    connection = db.connect(store)
    yield connection
    db.close(store)


def found(con, phrase: str) -> list[tuple[str, str, int]]:
    return list(search_spans(con, phrase).iter_rows())


def test_a_phrase_finds_each_run_once_at_its_first_matching_span_in_any_case(con):
    assert found(con, "paris") == [("weather", "w2", 2)]
    assert found(con, "PaRiS") == [("weather", "w2", 2)]


def test_error_messages_and_span_names_are_searched(con):
    assert found(con, "timeout after") == [("ops", "o2", 1)]
    assert found(con, "pars") == [("plain", "p1", 1)]


def test_wildcards_in_the_phrase_are_taken_literally(con):
    assert like_pattern("100%_a\\") == "%100\\%\\_a\\\\%"
    assert found(con, "100%") == [("ops", "o1", 1)]
    assert found(con, "db_main") == [("ops", "o1", 1)]
    assert found(con, "b_m") == [("ops", "o1", 1)]
    assert found(con, "%") == [("ops", "o1", 1)]
    assert found(con, "_") == [("ops", "o1", 1)]


def test_ids_match_whole_not_as_text(con):
    assert found(con, "sess-9") == [("weather", "w1", 1)]
    assert found(con, "o2") == [("ops", "o2", 1)]
    assert found(con, "plain") == [("plain", "p1", 1)]
    assert found(con, "sess") == []


def test_nothing_found_is_an_empty_frame(con):
    hits = search_spans(con, "nowhere")
    assert hits.is_empty() and hits.columns == ["trace_id", "span_id", "matching_spans"]


def test_snippets_say_where_each_first_span_matched(con):
    assert match_snippets(con, "paris", search_spans(con, "paris")) == {
        ("weather", "w2"): 'arguments: {"city": "Paris"}'
    }
    assert match_snippets(con, "o2", search_spans(con, "o2")) == {("ops", "o2"): "span id: o2"}
    assert match_snippets(con, "5.0", search_spans(con, "5.0")) == {
        ("ops", "o2"): "error: Timeout after 5.0s"
    }


def test_snippet_cuts_around_the_first_match_on_one_line():
    text = "a" * 50 + " Needle\n\nin  the " + "b" * 50
    assert snippet(text, "needle", context=5) == "…aaaa Needle in…"
    assert snippet("needle", "NEEDLE") == "needle"
    assert snippet("haystack", "needle") is None
    assert snippet(None, "needle") is None
    assert snippet("a.b", ".") == "a.b"  # the phrase is text, not a pattern


def test_the_found_runs_filter_the_trajectory_queries(con):
    only = TrajectoryFilter(trace_ids=("weather", "ops"))
    assert queries.trajectory_count(con, only) == 2
    assert sorted(queries.trajectory_list(con, only)["trace_id"]) == ["ops", "weather"]
    assert queries.trajectory_count(con, TrajectoryFilter(trace_ids=())) == 0
    both = TrajectoryFilter(agent="ops", trace_ids=("weather", "ops", "plain"))
    assert sorted(queries.trajectory_list(con, both)["trace_id"]) == ["ops", "plain"]


def test_the_summary_report_names_the_search_not_the_ids(con):
    html = summary_report(con, TrajectoryFilter(trace_ids=("ops",)), search="<b>disk</b>")
    assert "spans containing “&lt;b&gt;disk&lt;/b&gt;”" in html
    assert "trace_ids" not in html


def test_the_page_lists_the_runs_found_and_opens_each_at_its_first_match(store):
    with page_test(store, TRAJECTORIES, query={"q": "Paris"}) as at:
        assert not at.exception
        (row,) = shown_rows(at.dataframe[0])
        assert row["open"] == "trajectory?trace=weather&span=w2"
        assert (row["matching_spans"], row["match"]) == (2, 'arguments: {"city": "Paris"}')
        (caption,) = [c.value for c in at.caption if c.value.startswith("Runs ")]
        assert caption.startswith("Runs 1–1 of 1 with a span containing “Paris”. Click a row")
        at.text_input(key="q").set_value("").run()  # cleared: every run again
        assert len(at.dataframe[0].value) == 3
        assert "match" not in at.dataframe[0].value.columns


def test_the_page_combines_the_search_with_the_sidebar_filters(store):
    with page_test(store, TRAJECTORIES, query={"q": "pars", "agent": "ops"}) as at:
        assert not at.exception
        assert [r["open"] for r in shown_rows(at.dataframe[0])] == [
            "trajectory?trace=plain&span=p1"
        ]
    with page_test(store, TRAJECTORIES, query={"q": "paris", "agent": "ops"}) as at:
        assert at.info[0].value == "No run in the sidebar's filter has a span containing “paris”."


def test_the_page_says_when_nothing_matches(store):
    with page_test(store, TRAJECTORIES, query={"q": "*nowhere*"}) as at:
        assert not at.exception
        assert at.info[0].value == "No run has a span containing “\\*nowhere\\*”."
        assert not at.dataframe


HOSTILE = ["'; DROP TABLE spans; --", "' OR '1'='1", "%' OR trace_id LIKE '%", "$1", "?", "\\", "*"]
SEARCHED = ("name", "tool_name", "tool_args", "error_message", "input", "output")


@pytest.mark.parametrize("phrase", [*HOSTILE, "o", "%", "_", "100% on"])
def test_any_phrase_is_searched_as_text_and_changes_nothing(con, phrase):
    everything = "SELECT * FROM spans ORDER BY trace_id, span_id"
    with con.cursor() as cur:
        before = cur.execute(everything).fetchall()
    contains = {
        s["trace_id"]
        for s in SPANS
        if any(phrase.lower() in str(s.get(field) or "").lower() for field in SEARCHED)
    }
    assert [trace for trace, *_ in found(con, phrase)] == sorted(contains)
    with con.cursor() as cur:
        assert cur.execute(everything).fetchall() == before


LONG_TRACE = "4f1c2e9a7b3d5e6f0a1b2c3d4e5f6a7b"


@pytest.fixture(scope="module")
def tool_store(tmp_path_factory) -> Path:
    """One run: a model call whose output names the tool it calls, then the tool span."""
    folder = tmp_path_factory.mktemp("search-tool")
    spans = [
        span(LONG_TRACE, "call", 1, kind="llm", name="chat", output='{"name": "get_weather"}'),
        span(LONG_TRACE, "tool", 2, name="get_weather", tool_args='{"city": "Oslo"}'),
    ]
    trace = folder / "tool.spans.jsonl"
    trace.write_text("".join(json.dumps(s) + "\n" for s in spans))
    return build_store(folder / "tool.duckdb", [trace])


def test_a_run_opens_at_the_span_named_after_the_phrase_before_earlier_mentions(tool_store):
    con = db.connect(tool_store)
    try:
        assert found(con, "GET_WEATHER") == [(LONG_TRACE, "tool", 2)]  # not the call before it
        assert found(con, "oslo") == [(LONG_TRACE, "tool", 1)]
    finally:
        db.close(tool_store)


def test_an_id_is_found_in_any_case_and_by_its_beginning_from_eight_characters(tool_store):
    con = db.connect(tool_store)
    try:
        assert found(con, LONG_TRACE.upper()) == [(LONG_TRACE, "call", 2)]
        assert found(con, LONG_TRACE[:16]) == [(LONG_TRACE, "call", 2)]  # the short id shown
        assert found(con, LONG_TRACE[:7]) == []  # too short to stand for an id
        hits = search_spans(con, LONG_TRACE[:16])
        assert match_snippets(con, LONG_TRACE[:16], hits) == {
            (LONG_TRACE, "call"): f"trace id: {LONG_TRACE}"
        }
    finally:
        db.close(tool_store)


def test_the_summary_report_of_a_search_says_where_each_run_matched(con):
    found = search_spans(con, "paris")
    html = summary_report(con, TrajectoryFilter(trace_ids=tuple(found["trace_id"])), search="paris")
    assert "<th>Trace</th><th>First match</th><th>Spans found</th><th>Agent</th>" in html
    assert (
        "<td class=text>arguments: {&quot;city&quot;: &quot;Paris&quot;}</td><td class=num>2</td>"
        in html
    )
    assert "First match" not in summary_report(con, TrajectoryFilter())
