"""The fleet pages in a real browser on the real server with the sample traces: each page by
URL with its key content, a sidebar filter that survives a reload, a bar click that lists
the trajectories behind it, a price edit saved from the grid, and a screenshot of each page.

One server serves the whole module. Expected figures are read from the store before the
server takes its file lock.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from tests.browser import screenshot, wait_for_app
from tests.live_server import running_server
from tests.pages_fixtures_fleet import build_sample_store, expected_reversals, sql
from ui import format as fmt

pytestmark = pytest.mark.e2e

MAX_SHOT_HEIGHT = 4000
LOADED = 20_000  # ms: a page's first run on 2 shared cores can outlast expect's 5 s


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    from store import db

    db_file = build_sample_store(tmp_path_factory.mktemp("fleet-e2e") / "fleet.duckdb")
    reversed_pairs, comparable = expected_reversals(db_file)
    expected = {
        "trajectories": sql(db_file, "SELECT count(*) FROM trajectories")[0][0],
        "code_fixer": sql(
            db_file, "SELECT count(*) FROM trajectories WHERE agent_name = 'code-fixer'"
        )[0][0],
        "over_provisioned": sql(
            db_file, "SELECT count(*) FROM trajectories WHERE verdict = 'over_provisioned'"
        )[0][0],
        "reversal": f"Reversal rate: {fmt.percent(reversed_pairs / comparable)}",
        "stagnation": sorted(
            r[0]
            for r in sql(
                db_file, "SELECT DISTINCT trace_id FROM findings WHERE category = 'stagnation'"
            )
        ),
    }
    small, large = (
        sql(
            db_file,
            "SELECT trace_id FROM trajectories WHERE task_key = 'task:update-changelog-19' "
            "AND tier = ?",
            [tier],
        )[0][0]
        for tier in ("small", "large")
    )
    expected["changelog_compare"] = f"compare?a={small}&b={large}"
    # What the Overview's Cost must read once claude-opus-4%'s output price goes from $75 to
    # $7,500 per Mtok: every opus output token costs (7500 - 75) / 1e6 more.
    ((cost, opus_output),) = sql(
        db_file,
        "SELECT (SELECT sum(cost_usd) FROM trajectories), "
        "(SELECT sum(output_tokens) FROM turns WHERE model LIKE 'claude-opus-4-1%')",
    )
    expected["cost_after_edit"] = fmt.usd(cost + opus_output * (7500 - 75) / 1e6)
    # The runs a search for "timeout" must list, each with its earliest matching spans
    searched = "lower(concat_ws(' ', name, tool_name, tool_args, error_message, input, output))"
    expected["timeout_runs"] = dict(
        sql(
            db_file,
            f"SELECT trace_id, list(span_id) FILTER (WHERE start_time = first) FROM ("
            f"  SELECT *, min(start_time) OVER (PARTITION BY trace_id) AS first FROM spans"
            f"  WHERE {searched} LIKE '%timeout%') GROUP BY trace_id",
        )
    )
    db.close(db_file)
    with running_server(db_file) as base:
        yield base, db_file, expected


def open_page(page, url: str) -> None:
    page.goto(url)
    wait_for_app(page)


@pytest.fixture
def app(page, fleet):
    base, _, _ = fleet
    open_page(page, base + "/")
    return page


def expect_metric(page, label: str, value: str) -> None:
    card = page.get_by_test_id("stMetric").filter(has=page.get_by_text(label, exact=True))
    expect(card.get_by_test_id("stMetricValue")).to_have_text(value, timeout=LOADED)


def grid_texts(page, index: int) -> list[str]:
    cells = page.get_by_test_id("stDataFrame").nth(index).locator("td[role=gridcell]")
    expect(cells.first).to_be_attached()  # the grid fills its accessible table after drawing
    return [cells.nth(i).text_content() for i in range(cells.count())]


def full_screenshot(page, name: str) -> None:
    """The whole page: Streamlit scrolls inside its main element, so grow the viewport."""
    height = page.evaluate("document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": 1440, "height": min(max(height, 1000), MAX_SHOT_HEIGHT)})
    page.wait_for_timeout(500)
    screenshot(page, name)
    page.set_viewport_size({"width": 1440, "height": 1000})


def test_overview_shows_the_fleet_and_where_the_money_went(app, fleet):
    base, _, expected = fleet
    expect_metric(app, "Trajectories", f"{expected['trajectories']:,}")
    expect_metric(app, "Escalations", "7")
    expect(
        app.get_by_text(f"{expected['over_provisioned']} runs used a larger tier", exact=False)
    ).to_be_visible()
    expect(app.get_by_text("Largest gap: task:update-changelog-19", exact=False)).to_be_visible()
    expect(app.get_by_role("heading", name="Most wasteful trajectories")).to_be_visible()
    expect(app.locator(".js-plotly-plot")).to_have_count(6, timeout=LOADED)
    full_screenshot(app, "overview")


def test_sidebar_filter_survives_a_reload(app, fleet):
    base, _, expected = fleet
    app.get_by_text("Filters", exact=True).click()
    app.get_by_role("combobox", name="Agent").click()
    app.get_by_role("option", name="code-fixer", exact=True).click()
    wait_for_app(app)
    expect(app).to_have_url(re.compile(r"[?&]agent=code-fixer(&|$)"))
    expect_metric(app, "Trajectories", str(expected["code_fixer"]))
    app.reload()
    wait_for_app(app)
    expect(app).to_have_url(re.compile(r"[?&]agent=code-fixer(&|$)"))
    expect(app.get_by_role("combobox", name="Agent")).to_have_value("code-fixer")
    assert expected["code_fixer"] == 42  # sample_traces/README.md
    expect_metric(app, "Trajectories", "42")


def test_waste_bar_click_lists_the_trajectories_behind_it(app, fleet):
    base, _, expected = fleet
    open_page(app, base + "/waste")
    expect(app.get_by_role("heading", name="Waste", exact=True)).to_be_visible(timeout=LOADED)
    chart = app.locator(".js-plotly-plot").first  # share of tokens by category
    bar = chart.locator(".bars .point path").first.bounding_box()  # the first bar: stagnation
    # plotly's drag layer lies over the bars and takes the click, as it does for a user
    app.mouse.click(bar["x"] + bar["width"] / 2, bar["y"] + bar["height"] / 2)
    wait_for_app(app)
    expect(app).to_have_url(re.compile(r"[?&]drill=Category%3A(\+|%20)Stagnation"))
    grid = app.get_by_test_id("stDataFrame").first
    expect(grid.locator("tbody tr[role=row]")).to_have_count(len(expected["stagnation"]))
    cells = " ".join(grid_texts(app, 0))
    assert all(trace_id in cells for trace_id in expected["stagnation"]), cells
    full_screenshot(app, "waste")


def test_models_page_shows_prices_and_the_reversal_rate(app, fleet):
    base, _, expected = fleet
    open_page(app, base + "/models")
    expect(app.get_by_text(expected["reversal"], exact=False)).to_be_visible(timeout=LOADED)
    expect(app.get_by_text("Where the money went", exact=False)).to_be_visible()
    assert "claude-opus-4-1-20250805" in grid_texts(app, 0)
    full_screenshot(app, "models")


def test_escalation_page_by_url_with_k_in_the_url(app, fleet):
    base, _, expected = fleet
    open_page(app, base + "/escalation?k=4")
    heading = app.get_by_role(
        "heading", name="Over-provisioned: a smaller tier solved the same task"
    )
    expect(heading).to_be_visible(timeout=LOADED)
    expect(app.get_by_text("with K=4", exact=False)).to_be_visible()
    over = grid_texts(app, 1)
    assert {"task:update-changelog-19", "task:weekly-signups-report"} <= set(over)
    assert expected["changelog_compare"] in over  # the link to both runs side by side
    full_screenshot(app, "escalation")


@pytest.mark.parametrize(
    ("path", "content"),
    [
        ("/waste?drill=%3Cscript%3Ealert(1)%3C/script%3E&measure=%27%3B+DROP+TABLE+spans", "Waste"),
        ("/escalation?k=%3Cscript%3E", "Routing simulator"),
        ("/escalation?k=99", "Routing simulator"),
        ("/models?agent=%27%3B+DROP+TABLE+spans%3B+--", "Price reversal"),
    ],
)
def test_hostile_url_parameters_are_ignored(app, fleet, path, content):
    """Values that are not a widget's options fall back to its default, without an error."""
    base, _, _ = fleet
    open_page(app, base + path)
    expect(app.get_by_text(content, exact=False).first).to_be_visible(timeout=LOADED)
    expect(app.get_by_test_id("stException")).to_have_count(0)
    assert app.locator("script", has_text="alert(1)").count() == 0


def test_search_lists_the_runs_whose_spans_mention_a_phrase_and_opens_one_at_its_match(app, fleet):
    base, _, expected = fleet
    open_page(app, base + "/trajectories")
    search = app.get_by_role("textbox", name="Search spans")
    search.fill("TimeOut")
    search.press("Enter")
    wait_for_app(app)
    runs = expected["timeout_runs"]
    expect(app).to_have_url(re.compile(r"[?&]q=TimeOut"))
    caption = f"Runs 1–{len(runs)} of {len(runs)} with a span containing “TimeOut”."
    expect(app.get_by_text(caption)).to_be_visible(timeout=LOADED)
    grid = app.get_by_test_id("stDataFrame").first
    expect(grid.locator("tbody tr[role=row]")).to_have_count(len(runs))
    full_screenshot(app, "search")
    grid.click(position={"x": 300, "y": 52})  # a click on any cell of the first row opens it
    expect(app).to_have_url(re.compile(r"/trajectory\?trace="), timeout=LOADED)
    opened = parse_qs(urlparse(app.url).query)
    assert opened["span"][0] in runs[opened["trace"][0]]
    wait_for_app(app)
    expect(app.get_by_test_id("stException")).to_have_count(0)


def test_settings_saves_a_price_edited_in_the_grid_and_every_cost_follows(app, fleet):
    """Last in the module: it changes the prices the other tests' figures come from."""
    base, _, expected = fleet
    open_page(app, base + "/settings")
    full_screenshot(app, "settings")
    editor = app.get_by_test_id("stDataFrame").first
    opus = editor.locator("td[role=gridcell]").filter(has_text=re.compile(r"^claude-opus-4%$"))
    cell_id = opus.get_attribute("data-testid")  # glide-cell-<column>-<row>
    row = int(cell_id.rsplit("-", 1)[1])
    cells = editor.locator(f"tr[aria-rowindex='{row + 2}'] td[role=gridcell]")
    assert [cells.nth(i).text_content() for i in range(6)] == [
        "claude-opus-4%", "large", "15", "1.5", "18.75", "75",
    ]  # fmt: skip
    editor.click(position={"x": 80, "y": 52})  # the pattern cell of the first row
    for key in ["ArrowDown"] * row + ["ArrowRight"] * 5:  # down to opus, across to output
        app.keyboard.press(key)
    app.keyboard.press("Enter")  # open the cell editor (the grid's overlay input)
    cell_input = app.locator("#portal .gdg-input")
    cell_input.fill("7500")
    cell_input.press("Enter")  # commit: the editor reruns the page with the edit
    edited = editor.locator("td[role=gridcell]").filter(has_text="7500")
    expect(edited).to_have_count(1)
    wait_for_app(app)
    app.get_by_role("button", name="Save").click()
    wait_for_app(app)
    saved = f"Saved 43 price rows and recomputed {expected['trajectories']} trajectories."
    expect(app.get_by_text(saved)).to_be_visible(timeout=LOADED)
    expect(edited).to_have_count(1)  # the editor starts again from the store: the edit is in
    open_page(app, base + "/")
    expect_metric(app, "Cost", expected["cost_after_edit"])
