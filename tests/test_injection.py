"""Injection: quotes and SQL statements in every parameter reach the store as data, never as SQL,
and uploaded file names never steer where a file is written.

The store holds real trajectories (tau-bench and a LangSmith payload), so "empty" means the
hostile value matched nothing — not that there was nothing to match. After every call, every
table must still exist with the same row count.
"""

from __future__ import annotations

import inspect
import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import fleet, fleet_queries, reversal, review_queries, routing, trajectory_queries
from analysis import queries as aq
from analysis.filters import FILTER_SQL, TrajectoryFilter
from analysis.pipeline import ingest_path
from ingest.source import safe_filename
from store import db, reviews
from tests.apptest import app_on
from tests.conftest import SHARED_TRACES
from tests.live_server import running_server
from ui.filters import FILTER_KEYS

PAYLOADS = [
    "'; DROP TABLE spans; --",
    "' OR '1'='1",
    "x' OR 1=1 --",
    '" OR ""="',
    "') UNION SELECT trace_id FROM spans --",
    "1; DELETE FROM trajectories",
    "'; ATTACH '/tmp/agenttime-evil.duckdb' AS evil; --",
    "%' OR trace_id LIKE '%",
    "$1",
    "?",
    "\\'; DROP TABLE uploads; --",
    "trace_id",
    "*",
]
TEXT_FILTERS = [name for name in FILTER_SQL if name not in ("since", "until", "trace_ids")]
TIME_FILTERS = ["since", "until"]
TABLES_SQL = "SELECT table_name FROM information_schema.tables ORDER BY table_name"


LANGSMITH = "langsmith_runs_post_patch__wrap_openai_stream.json"


@pytest.fixture(scope="module")
def store_path(tmp_path_factory) -> Path:
    if not SHARED_TRACES.is_dir():
        pytest.skip(f"real trace files not present at {SHARED_TRACES}")
    path = tmp_path_factory.mktemp("injection") / "store.duckdb"
    con = db.connect(path)
    for name in ("other/tau-bench_gpt-4o-airline.json", "langsmith/" + LANGSMITH):
        assert ingest_path(con, SHARED_TRACES / name).ok
    yield path
    db.close(path)


@pytest.fixture(scope="module")
def store(store_path):
    return db.connect(store_path)


def snapshot(con) -> dict[str, int]:
    with con.cursor() as cur:
        names = [row[0] for row in cur.execute(TABLES_SQL).fetchall()]
        return {name: cur.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names}


@pytest.fixture
def intact(store):
    """Asserts, after the test, that no table vanished or changed size."""
    before = snapshot(store)
    assert {"spans", "trajectories", "uploads", "reviews", "models"} <= set(before)
    assert before["trajectories"] == 201  # 200 tau-bench trajectories + 1 LangSmith trace
    yield store
    assert snapshot(store) == before


def is_empty(result) -> bool:
    """No rows matched: an empty frame, None, zero, or figures over zero trajectories."""
    if result is None or (isinstance(result, int) and result == 0):
        return True
    if isinstance(result, pl.DataFrame):
        return result.height == 0
    if isinstance(result, tuple):  # counts, e.g. (escalated, with a known tier)
        return all(value in (0, None) for value in result)
    return getattr(result, "trajectories", None) == 0


# --- analysis/queries.py sorting and paging, store/reviews.py --------------------------------


@pytest.mark.parametrize("payload", PAYLOADS)
def test_store_queries_take_hostile_values_as_data(intact, payload):
    con = intact
    if payload not in aq.SORTABLE:  # "trace_id" is a real sort key
        with pytest.raises(ValueError, match="cannot sort by"):
            aq.trajectory_list(con, sort=payload)
    for bad_number in ({"limit": payload}, {"offset": payload}):
        with pytest.raises((duckdb.Error, TypeError)):
            aq.trajectory_list(con, **bad_number)
    assert aq.kpis(con).trajectories == 201
    assert is_empty(reviews.current_reviews(con, payload))
    assert is_empty(reviews.review_history(con, payload))
    with pytest.raises(reviews.ReviewError, match="no review"):
        reviews.edit_review(con, payload, "someone", "good", None)


def test_a_hostile_review_is_stored_literally(store):
    before = snapshot(store)
    hostile = "'); DROP TABLE reviews; --"
    review_id = reviews.add_review(
        store,
        reviews.ReviewInput(hostile, hostile, verdict=hostile, comment=hostile, span_id=hostile),
    )
    stored = reviews.current_reviews(store, hostile).row(0, named=True)
    assert (stored["review_id"], stored["trace_id"], stored["span_id"]) == (
        review_id,
        hostile,
        hostile,
    )
    assert (stored["author"], stored["verdict"], stored["comment"]) == (hostile, hostile, hostile)
    assert snapshot(store) == before | {"reviews": before["reviews"] + 1}


# --- every read function, found by inspection ----------------------------------------------

READ_MODULES = (
    reviews,
    aq,
    fleet,
    routing,
    reversal,
    fleet_queries,
    trajectory_queries,
    review_queries,
)
WRITERS = {"add_review", "edit_review"}
# parameters whose value removes rows (runs this reviewer has not reviewed): a hostile one
# must act as a name no review has, not match nothing
EXCLUDING_PARAMETERS = {
    "analysis.review_queries.review_queue": "reviewer"
}  # tested above with hostile values stored literally
ACCEPTED_ERRORS = (ValueError, TypeError, duckdb.Error)  # refused, never run


def read_functions() -> list:
    """Every public function of the read modules that takes the connection first — so a
    query function added later is swept too."""
    return [
        function
        for module in READ_MODULES
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if function.__module__ == module.__name__
        and list(inspect.signature(function).parameters)[:1] == ["con"]
        and not name.startswith("_")
        and name not in WRITERS
    ]


def hostile_filter(payload: str, fields=(*TEXT_FILTERS, "trace_ids")) -> TrajectoryFilter:
    """Every text field of `fields` hostile; a list of trace ids (a search's) holding it."""
    texts = {name: payload for name in fields if name != "trace_ids"}
    return TrajectoryFilter(**texts, trace_ids=(payload,) if "trace_ids" in fields else None)


def hostile_arguments(function, payload: str) -> list[dict]:
    """One call per parameter the caller controls: that parameter hostile, required text
    parameters hostile too, a filter with every text field hostile."""
    params = list(inspect.signature(function).parameters.values())[1:]
    text = [p for p in params if str(p.annotation).startswith("str")]
    required = {p.name: payload for p in text if p.default is inspect.Parameter.empty}
    calls = [required | {p.name: payload} for p in text]
    calls += [required | {p.name: payload} for p in params if p.annotation == "int"]
    calls += [
        required | {p.name: hostile_filter(payload)}
        for p in params
        if p.annotation == "TrajectoryFilter"
    ]
    return calls


def test_the_sweep_covers_the_query_functions():
    names = {f"{f.__module__}.{f.__name__}" for f in read_functions()}
    expected = {
        "analysis.queries.trajectory",
        "analysis.queries.spans",
        "analysis.queries.kpis",
        "analysis.queries.trajectory_list",
        "analysis.fleet.waste_by",
        "analysis.review_queries.review_queue",
        "analysis.fleet_queries.daily",
        "store.reviews.current_reviews",
    }
    assert expected <= names


@pytest.mark.parametrize("payload", [p for p in PAYLOADS if p != "trace_id"])
def test_every_parameter_of_every_read_function_takes_hostile_values_as_data(intact, payload):
    for function in read_functions():
        for arguments in hostile_arguments(function, payload):
            try:
                result = function(intact, **arguments)
            except ACCEPTED_ERRORS:
                continue
            name = f"{function.__module__}.{function.__name__}"
            if (excluding := EXCLUDING_PARAMETERS.get(name)) in arguments:
                # a value that excludes rows: as data, it excludes what any unknown name would
                plain = function(intact, **{**arguments, excluding: "no one by this name"})
                assert result.equals(plain), f"{name}({arguments})"
                continue
            assert is_empty(result), f"{name}({arguments})"


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("field", [*TEXT_FILTERS, "trace_ids"])
def test_every_text_filter_matches_nothing_for_hostile_values(intact, field, payload):
    flt = hostile_filter(payload, (field,))
    assert aq.trajectory_count(intact, flt) == 0
    assert aq.kpis(intact, flt).trajectories == 0
    assert is_empty(aq.trajectory_list(intact, flt))
    for by in fleet.WASTE_GROUPS:
        assert is_empty(fleet.waste_by(intact, by, flt))
    assert is_empty(fleet.model_stats(intact, flt))
    assert is_empty(fleet.escalation_events(intact, flt))
    assert is_empty(fleet.tasks_on_both_tiers(intact, flt=flt))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_names_that_pick_sql_come_from_allow_lists(intact, payload):
    if payload in aq.SORTABLE:  # "trace_id" is a real sort key: it must sort, not fail
        assert aq.trajectory_list(intact, sort=payload).height == 201
    else:
        with pytest.raises(ValueError, match="cannot sort by"):
            aq.trajectory_list(intact, sort=payload)
    with pytest.raises(ValueError, match="cannot group waste by"):
        fleet.waste_by(intact, by=payload)
    assert is_empty(fleet.tasks_on_both_tiers(intact, payload, payload))
    assert is_empty(routing.routing_table(intact, payload, payload))


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("field", TIME_FILTERS)
def test_time_filters_refuse_text_instead_of_running_it(intact, field, payload):
    with pytest.raises(duckdb.Error):
        aq.trajectory_count(intact, TrajectoryFilter(**{field: payload}))


@settings(max_examples=60, deadline=None)
@given(  # "" is "no filter" by design, so the text is never empty
    value=st.text(min_size=1, max_size=30),
    field=st.sampled_from(["agent", "session", "task", "source"]),
)
def test_text_filters_match_exactly_what_python_matches(store, value, field):
    """Any text at all counts the rows whose column equals it — no more (an injection would
    widen the match), no fewer."""
    column = {"agent": "agent_name", "session": "session_id", "task": "task_key"}.get(field, field)
    with store.cursor() as cur:
        rows = cur.sql(f"SELECT {column} FROM trajectories").fetchall()
    expected = sum(1 for (cell,) in rows if cell == value)
    assert aq.trajectory_count(store, TrajectoryFilter(**{field: value})) == expected


def test_real_values_still_match(store):
    """The control for the tests above: a real value does match, so empty means no match."""
    with store.cursor() as cur:
        (task_key,) = cur.execute(
            "SELECT task_key FROM trajectories WHERE task_id = '0' LIMIT 1"
        ).fetchone()
    assert aq.trajectory_count(store, TrajectoryFilter(task=task_key)) == 4  # 4 trials per task
    assert aq.trajectory_count(store, TrajectoryFilter(since=datetime(1970, 1, 1))) == 1


# --- URL parameters on pages and endpoints -------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS[:4])
def test_url_parameters_of_every_filter_cannot_inject(intact, store_path, payload):
    """Hostile values in every filter the URL carries (and the sort): select and date filters
    ignore a value that is not one of theirs, text filters match nothing."""
    params = dict.fromkeys([*FILTER_KEYS, "sort", "trace", "span"], payload)
    with app_on(store_path, query=params) as at:
        assert not at.exception
        assert [info.value for info in at.info] == [
            "No trajectories match the filters in the sidebar."
        ]
    with app_on(store_path, query={"sort": payload}) as at:
        assert not at.exception
        assert {m.label: m.value for m in at.metric}["Trajectories"] == "201"


def post(url: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_ingest_endpoint_parameters_are_stored_literally(tmp_path):
    hostile_who = "x'); DROP TABLE uploads; --"
    hostile_name = "'; DROP TABLE spans; --.jsonl"
    query = urllib.parse.urlencode({"filename": hostile_name, "who": hostile_who})
    span = {"trace_id": "t1", "span_id": "s1", "name": "chat", "kind": "llm",
            "start_time": "2026-01-01T00:00:00Z", "end_time": "2026-01-01T00:00:01Z"}  # fmt: skip
    db_file = tmp_path / "endpoint.duckdb"
    with running_server(db_file) as base:
        status, report = post(f"{base}/api/ingest?{query}", json.dumps(span).encode())
    assert status == 200, report
    assert report["file"] == "___DROP_TABLE_spans__--.jsonl"
    with duckdb.connect(str(db_file), read_only=True) as con:
        assert con.execute("SELECT filename, who, span_count FROM uploads").fetchall() == [
            ("___DROP_TABLE_spans__--.jsonl", hostile_who, 1)
        ]
        assert con.execute("SELECT count(*) FROM spans").fetchone() == (1,)


# --- uploaded file names -------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(name=st.one_of(st.text(), st.binary().map(lambda b: b.decode("latin-1"))))
def test_safe_filename_never_leaves_the_upload_folder(tmp_path_factory, name):
    folder = tmp_path_factory.getbasetemp() / "uploads"
    cleaned = safe_filename(name)
    assert cleaned and len(cleaned) <= 120
    assert "/" not in cleaned and "\\" not in cleaned and "\x00" not in cleaned
    assert cleaned not in (".", "..") and not cleaned.startswith(".")
    assert (folder / cleaned).resolve().parent == folder.resolve()


HOSTILE_NAMES = {
    "../../evil.jsonl": "evil.jsonl",
    "/etc/passwd": "passwd",
    "C:\\Windows\\..\\evil.jsonl": "evil.jsonl",
    "..": "upload",
    "...": "upload",
    "": "upload",
    ".hidden.jsonl": "hidden.jsonl",
    "a\x00b.jsonl": "a_b.jsonl",
    "spaced out; rm -rf ~.jsonl": "spaced_out__rm_-rf__.jsonl",
    "x" * 300 + ".jsonl": "x" * 120,
}


@pytest.mark.parametrize(("given_name", "expected"), HOSTILE_NAMES.items())
def test_hostile_names_are_reduced_to_a_base_name(given_name, expected):
    assert safe_filename(given_name) == expected


def test_upload_page_writes_only_inside_the_upload_folder(db_path, con, tmp_path):
    span = {"trace_id": "t1", "span_id": "s1", "name": "chat", "kind": "llm",
            "start_time": "2026-01-01T00:00:00Z", "end_time": "2026-01-01T00:00:01Z"}  # fmt: skip
    names = ["../../escaped.jsonl", "/tmp/absolute.jsonl", "..\\..\\windows.jsonl"]
    files = [
        (name, (json.dumps(span | {"span_id": f"s{i}"}) + "\n").encode(), "application/json")
        for i, name in enumerate(names)
    ]
    before = set(tmp_path.parent.rglob("*"))
    with app_on(db_path, page="views/upload.py") as at:
        at.file_uploader(key="files").set_value(files).run()
        at.button[0].click().run()
        assert not at.exception
        shown = [message.value for message in at.success]
    assert [text.split("**")[1].replace("\\", "") for text in shown] == [  # escaped as text
        "escaped.jsonl",
        "absolute.jsonl",
        "windows.jsonl",
    ]
    created = set(tmp_path.parent.rglob("*")) - before
    assert all(p.is_relative_to(tmp_path) for p in created), created
    assert not list(db.upload_dir(db_path).iterdir()), "spooled uploads must be removed"
    assert not Path("/tmp/absolute.jsonl").exists()
    with con.cursor() as cur:
        stored = [
            row[0] for row in cur.execute("SELECT filename FROM uploads ORDER BY 1").fetchall()
        ]
    assert stored == ["absolute.jsonl", "escaped.jsonl", "windows.jsonl"]
