"""AppTest of the fleet pages (Overview, Waste, Models & cost, Bigger model?, Settings) on
the bundled sample traces and on an empty store.

Expected figures come from the store itself through SQL written here (not the queries the
pages use), and, where the sample README states them, from the README: 94 trajectories
(54 + 20 + 20), 7 escalations of which 3 needed, 8 over-provisioned runs (update-changelog-19,
add-type-hints-utils-44, bump-requests-2-32-12, weekly-signups-report, refactor-auth-
middleware-305 on sonnet, the support "return window" replay on sonnet and two research
dataset questions on o3).
"""

from __future__ import annotations

import json

import pytest

from analysis.pipeline import ingest_path
from store import db
from store.prices import DEFAULT_PRICES
from tests import pages_fixtures_fleet
from tests.analysis_builders import T, ingest_spans, trajectory, use_acme_prices
from tests.apptest import app_on
from tests.conftest import ROOT
from ui import format as fmt
from ui.fleet_common import NO_MATCH_TEXT
from ui.names import CATEGORY_LABELS
from ui.text import escape_markdown

# The shared sample store, as fixtures of this module.
sql = pages_fixtures_fleet.sql
sample_store_template = pages_fixtures_fleet.sample_store_template
sample_db = pages_fixtures_fleet.sample_db

FLEET_PAGES = ("views/overview.py", "views/waste.py", "views/models.py", "views/escalation.py")


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def markdown(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def column(at, index: int, name: str) -> list:
    return at.dataframe[index].value[name].tolist()


def links(prefix: str, ids) -> list[str]:
    return [f"{prefix}{i}" for i in ids]


# --- empty store ---------------------------------------------------------------------------


@pytest.mark.parametrize("page", FLEET_PAGES)
def test_fleet_page_on_an_empty_store_says_what_to_upload(db_path, con, page):
    with app_on(db_path, page=page) as at:
        assert not at.exception
        assert "No traces yet" in at.info[0].value
        assert not at.metric and not at.get("plotly_chart") and not at.dataframe


def test_settings_on_an_empty_store_still_edits_prices(db_path, con):
    with app_on(db_path, page="views/settings.py") as at:
        assert not at.exception
        assert "No traces yet" in at.info[0].value
        assert at.dataframe[0].value.shape[0] == len(DEFAULT_PRICES)
        editor = at.dataframe[0]
        assert editor.editing_mode != "read_only" and editor.proto.HasField("placeholder")
        assert editor.proto.placeholder == ""  # empty, as its help texts say (not "None")


@pytest.mark.parametrize("page", (*FLEET_PAGES, "views/settings.py", "views/reviews.py"))
def test_every_table_shows_an_unknown_value_as_a_dash(sample_db, page):
    with app_on(sample_db, page=page) as at:
        assert not at.exception
        tables = [table for table in at.dataframe if table.editing_mode == "read_only"]
        assert tables
        assert [table.proto.placeholder for table in tables] == [fmt.MISSING_CELL] * len(tables)


# --- Overview ------------------------------------------------------------------------------

KPI_SQL = """
SELECT count(*), count(*) FILTER (WHERE outcome IN ('success', 'failure', 'error')),
    count(*) FILTER (WHERE outcome = 'success'),
    count(*) FILTER (WHERE outcome = 'success' AND outcome_inferred),
    median(wall_ms), median(turns), sum(input_tokens + output_tokens), sum(cost_usd),
    sum(waste_tokens) FILTER (WHERE input_tokens IS NOT NULL AND output_tokens IS NOT NULL),
    sum(input_tokens + output_tokens) FILTER (WHERE waste_tokens IS NOT NULL),
    count(*) FILTER (WHERE escalated)
FROM trajectories
"""


def test_overview_kpis_equal_the_stores_figures(sample_db):
    (n, judged, ok, inferred, wall, turns, tokens, cost, waste, waste_base, escalated), *_ = sql(
        sample_db, KPI_SQL
    )
    assert (n, escalated) == (94, 7)  # sample README
    with app_on(sample_db) as at:
        assert not at.exception
        shown = metrics(at)
        assert shown == {
            "Trajectories": "94",
            "Success rate": fmt.percent(ok / judged),
            "Median wall time": fmt.duration(wall),
            "Median turns": fmt.count(turns),
            "Total tokens": fmt.compact(tokens),
            "Cost": fmt.usd(cost),
            "Waste share": fmt.percent(waste / waste_base),
            "Escalations": "7",
        }
        (success,) = [m for m in at.metric if m.label == "Success rate"]
        assert success.delta == f"{fmt.percent(inferred / ok)} of successes inferred"
        assert len(at.get("plotly_chart")) == 6  # trend, 3 distributions, waste share, verdicts


def test_overview_says_where_the_money_went(sample_db):
    ((opus_cost,),) = sql(
        sample_db,
        "SELECT cost_usd FROM trajectories WHERE task_key = 'task:update-changelog-19' "
        "AND primary_model LIKE 'claude-opus%'",
    )
    ((haiku_cost,),) = sql(
        sample_db,
        "SELECT cost_usd FROM trajectories WHERE task_key = 'task:update-changelog-19' "
        "AND primary_model LIKE 'claude-haiku%'",
    )
    ((over_cost,),) = sql(
        sample_db, "SELECT sum(cost_usd) FROM trajectories WHERE verdict = 'over_provisioned'"
    )
    with app_on(sample_db) as at:
        text = markdown(at)
    assert "**Over-provisioned:** 8 runs used a larger tier" in text
    with app_on(sample_db, query={"task": "task:update-changelog-19"}) as at:
        assert (
            "**Over-provisioned:** 1 run used a larger tier on a task a smaller tier solved "
            f"elsewhere; it cost {fmt.fine_usd(opus_cost)}, "
        ) in markdown(at)
    assert f"they cost {fmt.fine_usd(over_cost)}, a net $" in text
    # the largest gap, with trace text escaped for Markdown
    assert (
        f"Largest gap: task\\:update\\-changelog\\-19 cost {fmt.fine_usd(opus_cost)} on "
        f"claude\\-opus\\-4\\-1\\-20250805, {fmt.fine_usd(haiku_cost)} on "
        "claude\\-haiku\\-4\\-5\\-20251001."
    ) in text


def test_one_unpriced_run_does_not_change_which_waste_the_overview_names(sample_db, tmp_path):
    """The showcase run again under model names with no price: its findings have tokens but
    no dollars, which makes the category totals lower bounds, not unknown."""
    lines = (ROOT / "sample_traces" / "agents.spans.jsonl").read_text().splitlines()
    spans = [json.loads(line) for line in lines]
    (trace,) = {s["trace_id"] for s in spans if s.get("task_id") == "fix-flaky-test-142"}
    copy = [
        span
        | {"trace_id": "unpriced-" + trace, "task_id": "unpriced"}
        | ({"model": "acme-llm-" + span["model"]} if span.get("model") else {})
        for span in spans
        if span["trace_id"] == trace
    ]
    upload = tmp_path / "unpriced.jsonl"
    upload.write_text("".join(json.dumps(span) + "\n" for span in copy))
    ingest_path(db.connect(sample_db), upload)
    db.close(sample_db)
    (totals,) = sql(
        sample_db,
        # counted: the findings with dollars of runs whose waste in dollars is known
        "SELECT sum(f.usd) FILTER (WHERE t.waste_usd IS NOT NULL),"
        " count(*) - count(f.usd) FILTER (WHERE t.waste_usd IS NOT NULL)"
        " FROM findings f JOIN trajectories t USING (trace_id)"
        " WHERE f.category = 'uncached_context'",
    )
    assert totals[1] > 0  # the copy's uncached-context findings have no dollars
    with app_on(sample_db) as at:
        assert not at.exception
        assert (
            f"most of it uncached context (≥ {fmt.fine_usd(totals[0])} ({totals[1]} findings not "
            "counted))."
        ) in markdown(at)


def test_the_overview_s_waste_sentence_sets_waste_against_the_cost_of_the_same_runs(
    sample_db, tmp_path
):
    """A run with a cost but no measurable waste (cache counts missing) is in 'spent' but not
    in 'waste': the sentence read '$1,082 of the $1,618 spent' where the Waste page said 67%."""
    con = db.connect(sample_db)
    unmeasured = [T(input=1000, cache_read=None), T(input=1500, cache_read=None)]
    ingest_spans(
        con, tmp_path, "u.jsonl", trajectory("no-cache-counts", unmeasured, model="gpt-4.1")
    )
    db.close(sample_db)
    ((waste, spent, runs, all_runs),) = sql(
        sample_db,
        "SELECT sum(waste_usd), sum(cost_usd) FILTER (WHERE waste_usd IS NOT NULL),"
        " count(*) FILTER (WHERE waste_usd IS NOT NULL), count(cost_usd) FROM trajectories",
    )
    assert runs == all_runs - 1
    with app_on(sample_db) as at:
        assert (
            f"**Waste:** {fmt.fine_usd(waste)} of the {fmt.fine_usd(spent)} spent on the "
            f"{runs} runs whose waste was measured went to wasted tokens"
        ) in markdown(at)


def test_overview_lists_the_worst_runs_by_waste_and_by_wall_time(sample_db):
    by_waste = sql(
        sample_db,
        "SELECT trace_id, models FROM trajectories ORDER BY waste_usd DESC, trace_id LIMIT 10",
    )
    by_wall = sql(
        sample_db, "SELECT trace_id FROM trajectories ORDER BY wall_ms DESC, trace_id LIMIT 10"
    )
    assert any(len(models) > 1 for _, models in by_waste)  # a run that escalated
    with app_on(sample_db) as at:
        assert column(at, 0, "open") == links("trajectory?trace=", (r[0] for r in by_waste))
        assert column(at, 0, "models") == [" → ".join(models) for _, models in by_waste]
        assert column(at, 1, "open") == links("trajectory?trace=", (r[0] for r in by_wall))
        # each table's measure next to the link, where a narrow screen still shows it
        first_two = [list(at.dataframe[i].value.columns[:2]) for i in (0, 1)]
        assert first_two == [["open", "waste_usd"], ["open", "wall_s"]]


def test_overview_follows_the_sidebar_filter(sample_db):
    ((code_fixer,),) = sql(
        sample_db, "SELECT count(*) FROM trajectories WHERE agent_name = 'code-fixer'"
    )
    assert code_fixer == 42  # sample README
    with app_on(sample_db) as at:
        at.session_state["agent"] = "code-fixer"
        at.run()
        assert not at.exception
        assert metrics(at)["Trajectories"] == "42"
        at.session_state["agent"] = None
        at.session_state["task"] = "no-such-task"
        at.run()
        assert at.info[0].value == NO_MATCH_TEXT
        assert not at.metric


def test_the_verdict_filter_offers_names_and_takes_a_link_by_name_or_by_key(sample_db):
    ((needed,),) = sql(
        sample_db, "SELECT count(*) FROM trajectories WHERE verdict = 'escalation_needed'"
    )
    for value in ("Escalation needed", "escalation_needed"):
        with app_on(sample_db, query={"verdict": value}) as at:
            assert not at.exception and not at.warning
            assert "Small model sufficient" in at.selectbox(key="verdict").options
            assert metrics(at)["Trajectories"] == str(needed)


def test_a_link_filtering_on_an_agent_the_store_lacks_says_the_filter_is_not_applied(sample_db):
    with app_on(sample_db, query={"agent": "nobody*", "outcome": "success"}) as at:
        assert not at.exception
        assert [w.value for w in at.warning] == [
            "This link filters on agent “nobody\\*”, which no trajectory in this store has: "
            "that filter is not applied."
        ]
        (successes,) = sql(sample_db, "SELECT count(*) FROM trajectories WHERE outcome = 'success'")
        assert metrics(at)["Trajectories"] == str(successes[0])  # the known filter still applies
    with app_on(sample_db, query={"since": "notadate"}) as at:
        assert [w.value for w in at.warning] == [
            "This link gives “notadate” as From (UTC), which is not a date (YYYY-MM-DD): "
            "that filter is not applied."
        ]


def test_a_link_with_a_filter_twice_or_its_days_reversed_says_so(sample_db):
    with app_on(sample_db, query={"agent": ["code-fixer", "support-bot"]}) as at:
        assert not at.exception
        assert [w.value for w in at.warning] == [
            "This link gives Agent 2 times (“code\\-fixer”, “support\\-bot”); a filter takes one "
            "value, and “support\\-bot” is applied."
        ]
        (runs,) = sql(
            sample_db, "SELECT count(*) FROM trajectories WHERE agent_name = 'support-bot'"
        )
        assert metrics(at)["Trajectories"] == str(runs[0])
    with app_on(sample_db, query={"since": "2026-11-25", "until": "2026-11-20"}) as at:
        assert [w.value for w in at.warning] == [
            "This link gives 2026\\-11\\-25 as its first day and 2026\\-11\\-20 as its last: no run "
            "can match both."
        ]


# --- Waste ---------------------------------------------------------------------------------


def test_waste_kpis_and_the_trajectories_behind_a_category(sample_db):
    ((tokens, usd),) = sql(sample_db, "SELECT sum(waste_tokens), sum(waste_usd) FROM trajectories")
    stagnation = sql(
        sample_db,
        "SELECT trace_id FROM findings WHERE category = 'stagnation' "
        "GROUP BY trace_id ORDER BY sum(usd) DESC, trace_id",
    )
    ((showcase,),) = sql(
        sample_db, "SELECT trace_id FROM trajectories WHERE task_key = 'task:fix-flaky-test-142'"
    )
    with app_on(sample_db, page="views/waste.py") as at:
        assert not at.exception
        shown = metrics(at)
        assert (shown["Wasted tokens"], shown["Waste (USD)"]) == (fmt.compact(tokens), fmt.usd(usd))
        ((looped,),) = sql(sample_db, "SELECT count(*) FROM trajectories WHERE waste_turns > 0")
        (runs,) = [m for m in at.metric if m.label == "Runs wasting turns"]
        assert runs.value == str(looped)
        assert "uncached context is waste counted in tokens, not in turns" in runs.help
        assert len(at.get("plotly_chart")) == 4
        options = at.selectbox(key="drill").options
        categories = sql(sample_db, "SELECT DISTINCT category FROM findings ORDER BY category")
        assert [o for o in options if o.startswith("Category: ")] == [
            f"Category: {CATEGORY_LABELS[c]}"
            for (c,) in categories  # named, in the URL too
        ]
        at.selectbox(key="drill").set_value("Category: Stagnation").run()
        assert not at.exception
        shown_links = column(at, 0, "open")
    assert shown_links == links("trajectory?trace=", (r[0] for r in stagnation))
    assert shown_links[0] == f"trajectory?trace={showcase}"  # the run that looped 5 times


def test_waste_tiles_say_which_runs_they_cover_and_share_one_basis(sample_db, tmp_path):
    # a run whose second call recorded no token counts (and did not fail: not refused)
    unmeasured = trajectory("unmeasured", [T(), T(input=None, output=None)], model="gpt-4.1")
    ingest_spans(db.connect(sample_db), tmp_path, "unmeasured.jsonl", unmeasured)
    db.close(sample_db)
    ((runs, by_tokens, by_usd, waste_usd, their_cost),) = sql(
        sample_db,
        "SELECT count(*), count(waste_tokens) FILTER (WHERE input_tokens IS NOT NULL "
        "AND output_tokens IS NOT NULL), count(waste_usd), sum(waste_usd), "
        "sum(cost_usd) FILTER (WHERE waste_usd IS NOT NULL) FROM trajectories",
    )
    assert by_tokens == runs - 1
    with app_on(sample_db, page="views/waste.py") as at:
        assert not at.exception
        assert metrics(at)["Share of cost"] == fmt.percent(waste_usd / their_cost)
        dollars = "" if by_usd == by_tokens else f" and in dollars for {by_usd}"
        (coverage,) = [c.value for c in at.caption if c.value.startswith("Waste is measured")]
        assert coverage.startswith(
            f"Waste is measured in tokens for {by_tokens} of {runs} runs{dollars}: the others "
        )


def test_a_trajectory_s_waste_tile_says_its_share_is_of_all_tokens(sample_db):
    ((trace, wasted, total),) = sql(
        sample_db,
        "SELECT trace_id, waste_tokens, input_tokens + output_tokens FROM trajectories "
        "WHERE task_key = 'task:fix-flaky-test-142'",
    )
    with app_on(sample_db, page="views/trajectory.py", query={"trace": trace}) as at:
        (tile,) = [m for m in at.metric if m.label == "Wasted"]
        assert tile.delta == f"{fmt.percent(wasted / total)} of tokens"
        assert tile.help == f"{fmt.tokens(wasted)}, {fmt.percent(wasted / total)} of all"


def test_waste_behind_an_agent_links_to_the_filtered_list(sample_db):
    code_fixer = sql(
        sample_db,
        "SELECT DISTINCT f.trace_id FROM findings f JOIN trajectories t USING (trace_id) "
        "WHERE t.agent_name = 'code-fixer'",
    )
    with app_on(sample_db, page="views/waste.py") as at:
        at.selectbox(key="drill").set_value("Agent: code-fixer").run()
        assert sorted(column(at, 0, "open")) == sorted(
            links("trajectory?trace=", (r[0] for r in code_fixer))
        )
        assert "(trajectories?agent=code-fixer)" in markdown(at)
    # the list keeps the sidebar's filters: the runs behind the bar, not every run of the agent
    query = {"outcome": "failure", "drill": "Agent: code-fixer"}
    with app_on(sample_db, page="views/waste.py", query=query) as at:
        assert not at.exception
        assert "(trajectories?agent=code-fixer&outcome=failure)" in markdown(at)


def test_a_link_to_a_category_drill_down_opens_the_runs_behind_it(sample_db):
    uncached = sql(
        sample_db,
        "SELECT DISTINCT trace_id FROM findings WHERE category = 'uncached_context'",
    )
    query = {"drill": "Category: Uncached context"}
    with app_on(sample_db, page="views/waste.py", query=query) as at:
        assert not at.exception
        assert not at.warning
        assert sorted(column(at, 0, "open")) == sorted(
            links("trajectory?trace=", (r[0] for r in uncached))
        )


def test_verdict_counts_link_to_their_runs_within_the_sidebar_filter(sample_db):
    with app_on(sample_db, page="views/escalation.py", query={"agent": "code-fixer"}) as at:
        assert not at.exception
        links = column(at, 0, "list")
        assert links and all(
            link.startswith("trajectories?agent=code-fixer&verdict=") for link in links
        )


# --- Models & cost -------------------------------------------------------------------------


HIT_RATE_SQL = """
SELECT model, sum(cache_read_tokens) / sum(input_tokens) FROM turns
WHERE cache_read_tokens IS NOT NULL AND input_tokens IS NOT NULL GROUP BY model
"""


def test_models_table_and_the_reversal_rate(sample_db):
    models = sql(sample_db, "SELECT model FROM turns GROUP BY model ORDER BY count(*) DESC, model")
    reversed_pairs, comparable = pages_fixtures_fleet.expected_reversals(sample_db)
    assert reversed_pairs >= 1  # refactor-auth-middleware-305: haiku costs more than sonnet
    with app_on(sample_db, page="views/models.py") as at:
        assert not at.exception
        assert column(at, 0, "model") == [m for (m,) in models]
        # every percent column with one decimal place: the fraction scaled by 100
        hits = dict(sql(sample_db, HIT_RATE_SQL))
        shown = dict(zip(column(at, 0, "model"), column(at, 0, "cache_hit_rate"), strict=True))
        assert shown == pytest.approx({m: 100 * r for m, r in hits.items()})
        config = json.loads(at.dataframe[0].proto.columns)
        assert config["cache_hit_rate"]["type_config"]["format"] == "%.1f%%"
        rate = fmt.percent(reversed_pairs / comparable)
        assert (
            f"**Reversal rate: {rate}** — {reversed_pairs} of {comparable} comparable model pairs"
        ) in markdown(at)
        pairs = at.dataframe[1].value
        flagged = pairs[pairs["reversed"]][["cheaper_model", "pricier_model"]].values.tolist()
        assert ["claude-haiku-4-5-20251001", "claude-sonnet-4-20250514"] in flagged
        # the verdict and how much it rests on, before the evidence
        assert list(pairs.columns[:5]) == [
            "cheaper_model", "pricier_model", "reversed", "magnitude", "tasks_reversed",
        ]  # fmt: skip
        assert (
            "claude\\-haiku\\-4\\-5\\-20251001 costs 1.06× claude\\-sonnet\\-4\\-20250514 per "
            "task on the mean, and more on 1 of 4 shared tasks (4 runs against 4)."
        ) in markdown(at)
        assert len(at.get("plotly_chart")) == 4  # spend, tokens by kind, prices, reversal
        # gaps may be negative: shown -$0.00005 (a printf format prints $-0.00005), rounded
        # to the 5 places the grid shows, which it would otherwise cut
        config = json.loads(at.dataframe[1].proto.columns)
        assert config["gap_price"]["type_config"] == {
            "type": "number",
            "format": "dollar",
            "step": 1e-05,
        }
        gaps = pairs[[c for c in pairs.columns if c.startswith("gap_")]].to_numpy().ravel()
        assert (gaps < 0).any() and all(round(g, 5) == g for g in gaps)


def test_models_without_any_price_say_so_instead_of_an_empty_price_chart(db_path, con, tmp_path):
    ingest_spans(con, tmp_path, "x.jsonl", trajectory("x", [T(), T()]))  # acme-mini: no price
    db.close(db_path)
    with app_on(db_path, page="views/models.py") as at:
        assert not at.exception
        assert column(at, 0, "model") == ["acme-mini"]
        assert [i.value for i in at.info] == [
            "No model in this view has a price: add one on Settings to see listed and "
            "effective prices (and computed costs).",
            "No two models with different listed prices ran the same task yet.",
        ]
        assert len(at.get("plotly_chart")) == 2  # spend and tokens by kind


# --- Bigger model? -------------------------------------------------------------------------


def test_escalation_page_counts_verdicts_and_lists_over_provisioned_runs(sample_db):
    verdicts = dict(sql(sample_db, "SELECT verdict, count(*) FROM trajectories GROUP BY 1"))
    assert (verdicts["escalation_needed"], verdicts["over_provisioned"]) == (3, 8)
    small, large = (
        sql(
            sample_db,
            "SELECT trace_id FROM trajectories WHERE task_key = 'task:update-changelog-19' "
            "AND tier = ?",
            [tier],
        )[0][0]
        for tier in ("small", "large")
    )
    with app_on(sample_db, page="views/escalation.py") as at:
        assert not at.exception
        table = at.dataframe[0].value
        named = {fmt.VERDICT_NAMES[verdict]: runs for verdict, runs in verdicts.items()}
        assert dict(zip(table["verdict"], table["trajectories"], strict=True)) == named
        links = dict(zip(table["verdict"], table["list"], strict=True))
        assert links["Escalation needed"] == "trajectories?verdict=Escalation+needed"
        over = at.dataframe[1].value
        assert len(over) == 8
        assert {"task:update-changelog-19", "task:weekly-signups-report"} <= set(over["task_key"])
        row = over[over["task_key"] == "task:update-changelog-19"].iloc[0]
        assert (row["model"], row["smaller_model"]) == (
            "claude-opus-4-1-20250805",
            "claude-haiku-4-5-20251001",
        )
        assert row["compare"] == f"compare?a={small}&b={large}"
        # A run cheaper than the smaller tier's mean has a negative extra, read "-$0.0410": the
        # grid's "dollar" format puts the sign first and cuts to `step`, so the page rounds.
        extra = json.loads(at.dataframe[1].proto.columns)["extra_cost_usd"]["type_config"]
        assert extra == {"type": "number", "format": "dollar", "step": 0.0001}
        saving = over[over["task_key"] == "task:refactor-auth-middleware-305"].iloc[0]
        assert saving["extra_cost_usd"] == -0.041
        # the money next to the task, where a 1280 px screen still shows it
        assert list(over.columns[:3]) == ["task_key", "extra_cost_usd", "ratio"]
        order = list(at.dataframe[0].proto.column_order)
        assert order == ["verdict", "trajectories", "cost_usd", "list", "meaning"]


def test_escalation_tables_name_tasks_by_their_first_message_and_time_in_seconds(sample_db):
    texts = dict(sql(sample_db, "SELECT task_key, task_text FROM trajectories"))
    with app_on(sample_db, page="views/escalation.py") as at:
        assert not at.exception
        over, events, pairs = (at.dataframe[i].value for i in (1, 2, 3))
        shown = {*over["task_key"], *events["task_key"], *pairs["task_key"]}
        assert not [task for task in shown if task.startswith("msg:")]
        assert {texts[k] for k in texts if k and k.startswith("msg:")} & shown  # some are there
        assert "smaller_wall_s" in pairs.columns and "smaller_wall_ms" not in pairs.columns
        assert "of a task's small runs on average" in markdown(at)


def test_long_escalation_tables_are_paged_and_say_how_many_rows_there_are(sample_db, monkeypatch):
    monkeypatch.setattr("ui.fleet_common.TABLE_ROWS", 3)  # 8 over-provisioned runs: 3 pages
    every = sql(sample_db, "SELECT count(*) FROM trajectories WHERE verdict = 'over_provisioned'")
    assert every == [(8,)]
    with app_on(sample_db, page="views/escalation.py", query={"over_page": "3"}) as at:
        assert not at.exception
        assert len(at.dataframe[1].value) == 2
        shown = [c.value for c in at.caption if c.value.startswith("Showing over-provisioned")]
        assert shown == ["Showing over-provisioned runs (largest extra cost first) 7–8 of 8."]
        assert "**8 runs** cost" in markdown(at)  # the totals cover every page
        escalated = [c.value for c in at.caption if c.value.startswith("Showing escalated")]
        assert escalated == ["Showing escalated runs (oldest first) 1–3 of 7."]
        assert len(at.dataframe[2].value) == 3


def test_escalation_events_link_to_the_switch(sample_db):
    ((trace,),) = sql(
        sample_db, "SELECT trace_id FROM trajectories WHERE task_key = 'task:fix-flaky-test-142'"
    )
    ((switch,),) = sql(
        sample_db,
        "SELECT span_id FROM spans WHERE trace_id = ? AND kind = 'llm' "
        "AND model = 'gpt-4.1-2025-04-14' ORDER BY start_time LIMIT 1",
        [trace],
    )
    with app_on(sample_db, page="views/escalation.py") as at:
        events = at.dataframe[2].value
        assert len(events) == 7
        row = events[events["task_key"] == "task:fix-flaky-test-142"].iloc[0]
        assert row["verdict"] == "Escalation needed"
        assert row["open"] == f"trajectory?trace={trace}&span={switch}"
        assert row["signal_turns"] == 5  # run_tests failed the same way 5 times


def test_routing_simulator_highlights_the_chosen_k(sample_db):
    ((tasks,),) = sql(
        sample_db,
        "SELECT count(*) FROM (SELECT task_key FROM trajectories WHERE escalated = false "
        "AND outcome IN ('success', 'failure', 'error') AND task_key IS NOT NULL GROUP BY 1 "
        "HAVING bool_or(tier = 'small') AND bool_or(tier = 'large'))",
    )
    with app_on(sample_db, page="views/escalation.py") as at:
        routing = at.dataframe[-1].value
        assert routing["policy"].tolist() == [
            "all small", "K=1", "K=2", "K=3", "K=4", "K=5", "all large",
        ]  # fmt: skip
        assert routing["selected"].tolist() == [False, False, True, False, False, False, False]
        assert set(routing["tasks"]) == {tasks}
        at.slider(key="k").set_value(4).run()
        assert not at.exception
        assert at.dataframe[-1].value["selected"].tolist()[4] is True
        assert f"Over **{tasks} tasks**: with **K=4**" in markdown(at)
        for policy in ("all small", "all large"):
            (cost,) = routing.loc[routing["policy"] == policy, "cost_per_task"]
            assert cost < 1 and f"at ${cost:.4f} per task" in markdown(at)  # as the table has it
            (rate,) = routing.loc[routing["policy"] == policy, "success_rate"]
            assert f"{rate * 100:.1f}% success at" in markdown(at)
        rates = json.loads(at.dataframe[-1].proto.columns)["success_rate"]["type_config"]
        assert rates == {"type": "number", "format": "percent", "step": 0.001}
        assert all(round(r, 3) == r for r in routing["success_rate"].dropna())  # cut = rounded
        assert len(at.get("plotly_chart")) == 3  # verdicts and the two frontiers


# --- Settings ------------------------------------------------------------------------------


def test_settings_save_recomputes_and_reset_restores_defaults(sample_db):
    with app_on(sample_db, page="views/settings.py") as at:
        assert not at.exception
        assert at.dataframe[0].value.shape[0] == len(DEFAULT_PRICES)
        at.button(key="save_prices").click().run()
        assert not at.exception
        assert at.success[0].value == (
            f"Saved {len(DEFAULT_PRICES)} price rows and recomputed 94 trajectories."
        )
        sql(sample_db, "UPDATE models SET input_per_mtok = 99 WHERE pattern = 'gpt-4.1%'")
        at.button(key="reset_prices").click().run()
        assert not at.exception
        assert at.success[0].value.startswith(f"Saved {len(DEFAULT_PRICES)} price rows")
    assert sql(sample_db, "SELECT input_per_mtok FROM models WHERE pattern = 'gpt-4.1%'") == [
        (2.0,)
    ]


# --- trace text ----------------------------------------------------------------------------

HOSTILE = "**bold** <script>alert(1)</script> [link](http://evil.example) $x$"


def test_trace_text_in_the_overview_sentence_is_shown_as_text(db_path, con, tmp_path):
    use_acme_prices(con)
    spans = trajectory("small", [T()], task_id=HOSTILE) + trajectory(
        "large", [T()], model="acme-max", task_id=HOSTILE
    )
    ingest_spans(con, tmp_path, "hostile.jsonl", spans)
    assert sql(db_path, "SELECT verdict FROM trajectories WHERE trace_id = 'large'") == [
        ("over_provisioned",)
    ]
    with app_on(db_path) as at:
        assert not at.exception
        text = markdown(at)
    escaped = (
        r"task\:\*\*bold\*\* \<script\>alert\(1\)\<\/script\> \[link\]\(http\:\/\/evil\.example\)"
        r" \$x\$"
    )
    assert f"Largest gap: {escaped} cost" in text
    assert "<script>" not in text and "[link](" not in text


@pytest.mark.parametrize(
    "page, key, value, label",
    [
        ("views/reviews.py", "priority", "Bogus", "priority"),
        ("views/trajectories.py", "sort_by", "Bogus", "the sort"),
        ("views/trajectories.py", "direction", "Sideways", "the direction"),
        ("views/waste.py", "drill", "Agent: ghost", "the bar to list"),
        ("views/waste.py", "measure", "Euros", "measure"),
        ("views/escalation.py", "k", "99", "K"),
    ],
)
def test_a_link_value_a_page_control_does_not_offer_is_named_not_dropped(
    sample_db, page, key, value, label
):
    with app_on(sample_db, page=page, query={key: value}) as at:
        assert not at.exception
        warned = [w.value for w in at.warning if w.value.startswith("This link gives")]
        assert warned == [
            f"This link gives “{escape_markdown(value)}” as {label}, which this page does not "
            "offer: that "
            "setting is not applied."
        ]
    with app_on(sample_db, page=page) as at:
        assert not [w for w in at.warning if w.value.startswith("This link gives")]


def test_a_page_number_past_the_last_page_is_named_not_dropped(sample_db):
    with app_on(sample_db, page="views/trajectories.py", query={"page": "99"}) as at:
        assert [w.value for w in at.warning] == [
            "This link gives “99” as the page, which this page does not offer: that setting "
            "is not applied."
        ]
    with app_on(sample_db, page="views/trajectories.py", query={"page": "1"}) as at:
        assert not at.warning


def test_waste_of_runs_none_of_which_can_be_measured_says_so(tmp_path):
    from tests.pages_fixtures_trajectory import build_store, write_unrecorded_trace

    store = build_store(tmp_path / "u.duckdb", [write_unrecorded_trace(tmp_path / "u.jsonl")])
    with app_on(store, page="views/waste.py") as at:
        assert not at.exception
        assert "Waste cannot be measured for these runs: they lack token or cache counts." in [
            c.value for c in at.caption
        ]


def test_the_most_wasteful_runs_show_their_waste_first(sample_db):
    with app_on(sample_db, page="views/waste.py") as at:
        (top,) = at.dataframe
        assert list(top.value.columns[:4]) == ["open", "waste_usd", "waste_tokens", "cost_usd"]
