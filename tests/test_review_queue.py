"""Review queue: priority order, reviewed list, agreement and CSV export."""

from __future__ import annotations

import csv
import io
import json

import pytest

from analysis import review_queries as rq
from analysis.filters import TrajectoryFilter
from analysis.pipeline import ingest_path
from store.reviews import ReviewInput, add_review, current_reviews, edit_review, review_history
from tests.apptest import app_on
from ui import format as fmt

START = "2026-01-0{day}T00:00:00Z"


def run_lines(trace: str, day: int, model: str, input_tokens: int, repeats: int) -> list[dict]:
    """A small run whose repeated identical tool calls create repeated_tool_call waste."""
    lines = [
        {
            "trace_id": trace,
            "span_id": "root",
            "name": "agent",
            "kind": "agent",
            "start_time": START.format(day=day),
            "end_time": f"2026-01-0{day}T00:01:00Z",
            "agent_name": "bot",
            "input": f"Summarise report {trace}",
        }
    ]
    for i in range(repeats + 1):
        lines.append(
            {
                "trace_id": trace,
                "span_id": f"l{i}",
                "parent_id": "root",
                "name": "chat",
                "kind": "llm",
                "model": model,
                "input_tokens": input_tokens,
                "output_tokens": 10,
                "cache_read_tokens": 0,
                "start_time": f"2026-01-0{day}T00:00:{10 + 2 * i:02d}Z",
                "end_time": f"2026-01-0{day}T00:00:{11 + 2 * i:02d}Z",
            }
        )
        lines.append(
            {
                "trace_id": trace,
                "span_id": f"t{i}",
                "parent_id": "root",
                "name": "read",
                "kind": "tool",
                "tool_name": "read",
                "tool_args": {"path": "a.py"},
                "status": "ok",
                "output": "same",
                "start_time": f"2026-01-0{day}T00:00:{11 + 2 * i:02d}Z",
                "end_time": f"2026-01-0{day}T00:00:{12 + 2 * i:02d}Z",
            }
        )
    return lines


@pytest.fixture
def three_runs(con, tmp_path):
    path = tmp_path / "runs.jsonl"
    lines = (
        run_lines("cheap", 1, "gpt-4.1-mini", 1000, 0)
        + run_lines("loopy", 2, "gpt-4.1-mini", 2000, 3)
        + run_lines("pricey", 3, "gpt-4.1", 5000, 1)
    )
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    assert ingest_path(con, path).ok
    return con


def costs_and_waste(con) -> dict[str, tuple]:
    with con.cursor() as cur:
        rows = cur.execute(
            "SELECT trace_id, cost_usd, waste_tokens, waste_usd FROM trajectories"
        ).fetchall()
    return {trace: (cost, waste, waste_usd) for trace, cost, waste, waste_usd in rows}


def test_queue_orders_unreviewed_runs_by_the_chosen_priority(three_runs):
    con = three_runs
    facts = costs_and_waste(con)
    by_waste = sorted(facts, key=lambda t: (-(facts[t][1] or -1), t))
    by_cost = sorted(facts, key=lambda t: (-facts[t][0], t))
    by_waste_usd = sorted(facts, key=lambda t: (-(facts[t][2] or -1), t))
    assert rq.review_queue(con, "Most wasted USD")["trace_id"].to_list() == by_waste_usd
    assert rq.review_queue(con, "Most wasted tokens")["trace_id"].to_list() == by_waste
    assert rq.review_queue(con, "Highest cost")["trace_id"].to_list() == by_cost
    assert rq.review_queue(con, "Newest")["trace_id"].to_list() == ["pricey", "loopy", "cheap"]
    add_review(con, ReviewInput("loopy", "ana", "wasteful"))
    assert "loopy" not in rq.review_queue(con, "Most wasted tokens")["trace_id"].to_list()


def test_queue_respects_filters_and_refuses_unknown_priorities(three_runs):
    flt = TrajectoryFilter(model="gpt-4.1")
    assert rq.review_queue(three_runs, "Newest", flt)["trace_id"].to_list() == ["pricey"]
    with pytest.raises(ValueError, match="unknown priority"):
        rq.review_queue(three_runs, "1; DROP TABLE spans")


def test_reviewed_list_uses_current_versions_and_agreement(three_runs):
    con = three_runs
    with con.cursor() as cur:
        cur.execute(
            "UPDATE trajectories SET verdict = 'over_provisioned' WHERE trace_id = 'pricey'"
        )
        cur.execute("UPDATE trajectories SET verdict = 'small_sufficient' WHERE trace_id = 'cheap'")
    first = add_review(con, ReviewInput("pricey", "ana", "good"))
    edit_review(con, first, "ana", "over_provisioned", "gpt-4.1 was not needed")
    add_review(con, ReviewInput("cheap", "bo", "needs_bigger_model"))
    add_review(con, ReviewInput("loopy", "bo", "wasteful", "loops on read"))
    reviewed = rq.reviewed(con)
    assert sorted(reviewed.select("trace_id", "human_verdict").rows()) == [
        ("cheap", "needs_bigger_model"),
        ("loopy", "wasteful"),
        ("pricey", "over_provisioned"),
    ]
    assert rq.agreement(reviewed) == rq.Agreement(comparable=2, agreeing=1)
    exported = rq.reviews_csv(reviewed)
    assert exported.startswith(b"\xef\xbb\xbftrace_id,")  # the BOM Excel needs for UTF-8
    rows = list(csv.DictReader(io.StringIO(exported.decode("utf-8-sig"))))
    pricey = next(r for r in rows if r["trace_id"] == "pricey")
    assert (pricey["author"], pricey["human_verdict"], pricey["comment"]) == (
        "ana",
        "over_provisioned",
        "gpt-4.1 was not needed",
    )
    assert len(rows) == 3
    # the CSV says which review each row is, when it was first written, and how often edited
    assert (pricey["review_id"], pricey["versions"]) == (
        current_reviews(con, "pricey")["review_id"][0],
        "2",
    )
    history = review_history(con, pricey["review_id"])["created_at"].to_list()
    assert pricey["first_created_at"] == str(history[-1]) and pricey["created_at"] == str(
        history[0]
    )


def test_csv_export_defuses_spreadsheet_formulas(three_runs):
    add_review(three_runs, ReviewInput("loopy", "=HYPERLINK(1)", "wasteful", "=cmd|' /C calc'!A0"))
    exported = rq.reviews_csv(rq.reviewed(three_runs)).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert (rows[0]["author"], rows[0]["comment"]) == ("'=HYPERLINK(1)", "'=cmd|' /C calc'!A0")


def test_review_queue_page(three_runs, db_path):
    add_review(three_runs, ReviewInput("loopy", "ana", "wasteful", "=cmd|' /C calc'!A0"))
    with app_on(db_path, page="views/reviews.py") as at:
        assert not at.exception
        queue, reviewed_table = at.dataframe[0].value, at.dataframe[1].value
        assert sorted(queue["trace_id"]) == ["cheap", "pricey"]
        assert list(queue["open"]) == [f"trajectory?trace={t}" for t in queue["trace_id"]]
        assert reviewed_table["comment"].tolist() == ["=cmd|' /C calc'!A0"]
        assert reviewed_table["human_verdict"].tolist() == ["Wasteful"]  # names, not keys
        # the task as the Trajectories list shows it, its first message, not its msg: hash
        assert dict(zip(queue["trace_id"], queue["task_key"], strict=True)) == {
            "cheap": "Summarise report cheap", "pricey": "Summarise report pricey"
        }  # fmt: skip
        assert reviewed_table["task_key"].tolist() == ["Summarise report loopy"]
        assert "task_text" not in queue.columns
        with three_runs.cursor() as cur:
            (verdict,) = cur.execute(
                "SELECT verdict FROM trajectories WHERE trace_id = 'loopy'"
            ).fetchone()
        assert reviewed_table["computed_verdict"].tolist() == [fmt.VERDICT_NAMES[verdict]]
        assert at.get("download_button")
        pairs = at.dataframe[2].value  # human verdict × computed verdict, by name too
        assert pairs[["human_verdict", "computed_verdict", "reviews"]].values.tolist() == [
            ["Wasteful", fmt.VERDICT_NAMES[verdict], 1]
        ]
        (agreement,) = [m for m in at.metric if m.label.startswith("Human vs computed")]
        assert agreement.value == "none yet"  # "wasteful" is not compared: 0 comparable


def test_review_queue_on_an_empty_store(db_path, con):
    with app_on(db_path, page="views/reviews.py") as at:
        assert not at.exception
        assert "No traces yet" in at.info[0].value


def test_runs_whose_reviewers_disagree_are_listed_with_who_said_what(three_runs, db_path):
    con = three_runs
    add_review(con, ReviewInput("loopy", "ana", "good"))
    add_review(con, ReviewInput("loopy", "bo", "wasteful", "loops on read"))
    add_review(con, ReviewInput("loopy", "cy", "good"))
    add_review(con, ReviewInput("loopy", "dee", None, "a comment only"))
    add_review(con, ReviewInput("pricey", "ana", "good"))
    add_review(con, ReviewInput("pricey", "bo", "good"))
    add_review(con, ReviewInput("cheap", "ana", "good"))  # verdicts on the run and on a span:
    add_review(con, ReviewInput("cheap", "ana", "bug", span_id="s1"))  # no dispute, whoever
    add_review(con, ReviewInput("cheap", "bo", "good"))
    add_review(con, ReviewInput("cheap", "bo", "bug", span_id="s2"))  # gave them
    add_review(con, ReviewInput("pricey", "cy", "wasteful", span_id="s1"))
    disputed = rq.disagreements(rq.reviewed(con))
    assert disputed.select("trace_id", "human_verdict", "reviewers").rows() == [
        ("loopy", "good", "ana, cy"),
        ("loopy", "wasteful", "bo"),
    ]
    add_review(con, ReviewInput("pricey", "dee", "good", span_id="s1"))  # same span: a dispute
    assert rq.disagreements(rq.reviewed(con)).select("trace_id", "human_verdict").rows() == [
        ("loopy", "good"),
        ("loopy", "wasteful"),
        ("pricey", "good"),
        ("pricey", "wasteful"),
    ]
    with app_on(db_path, page="views/reviews.py") as at:
        assert not at.exception
        assert [w.value for w in at.warning] == [
            "Reviewers disagree on 2 runs: worth settling together."
        ]
        (table,) = [t.value for t in at.dataframe if "reviewers" in t.value.columns]
        assert table["human_verdict"].tolist() == ["Good", "Wasteful"] * 2


def test_a_link_can_open_the_agreement_table(three_runs, db_path):
    add_review(three_runs, ReviewInput("loopy", "ana", "wasteful"))
    with app_on(db_path, page="views/reviews.py", query={"agreement": "true"}) as at:
        assert not at.exception
        assert [(e.label, e.proto.expanded) for e in at.expander if "×" in e.label] == [
            ("Human verdict × computed verdict", True)
        ]


def test_no_review_in_the_filter_says_so_not_that_there_are_none(three_runs, db_path):
    add_review(three_runs, ReviewInput("loopy", "ana", "wasteful"))
    with app_on(db_path, page="views/reviews.py", query={"model": "gpt-4.1"}) as at:
        assert not at.exception
        assert "No reviews of the runs in the sidebar's filter yet." in at.info[0].value


def test_a_reviewer_s_queue_keeps_the_runs_others_reviewed(three_runs, db_path):
    add_review(three_runs, ReviewInput("loopy", "ana", "wasteful"))
    add_review(three_runs, ReviewInput("cheap", "bo", "good"))
    queue = rq.review_queue(three_runs, "Newest", reviewer="ana")["trace_id"].to_list()
    assert queue == ["pricey", "cheap"]  # bo's review of cheap leaves it in ana's queue
    assert rq.review_queue(three_runs, "Newest")["trace_id"].to_list() == ["pricey"]
    with app_on(db_path, page="views/reviews.py") as at:
        at.session_state["reviewer_name"] = "ana"
        at.run()
        toggle = at.toggle(key="not_reviewed_by_me")
        assert toggle.label == "Only runs ana has not reviewed"
        assert sorted(at.dataframe[0].value["trace_id"]) == ["pricey"]
        toggle.set_value(True).run()
        assert not at.exception
        assert sorted(at.dataframe[0].value["trace_id"]) == ["cheap", "pricey"]
    with app_on(db_path, page="views/reviews.py", query={"not_reviewed_by_me": "true"}) as at:
        at.session_state["reviewer_name"] = "ana"
        at.run()
        assert at.toggle(key="not_reviewed_by_me").value is True
        assert sorted(at.dataframe[0].value["trace_id"]) == ["cheap", "pricey"]
