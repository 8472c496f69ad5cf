"""Trajectories → Trajectory → Compare in a real browser against the real server.

One server per module, on a store built from the bundled sample traces plus one hostile
trace (its names and content try to become markup and script). Expected values come from
the sample files themselves; see tests/test_pages_trajectory.py for how they were derived.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from tests.browser import screenshot, wait_for_app
from tests.live_server import running_server
from tests.pages_fixtures_trajectory import (
    ANCHOR,
    CHANGELOG_TASK,
    HOSTILE_SPAN,
    HOSTILE_TRACE,
    SAMPLE_FILES,
    SAMPLES,
    SCRIPT,
    SHOWCASE_TASK,
    build_store,
    llm_spans,
    sample_spans,
    write_hostile_trace,
)

pytestmark = pytest.mark.e2e
TALL = {"width": 1440, "height": 2600}
LOADED = 20_000  # ms: elements wait for their component's script; CI machines are busy


@pytest.fixture(scope="module")
def server(tmp_path_factory, browser):
    folder = tmp_path_factory.mktemp("e2e-trajectory")
    files = [SAMPLES / f for f in SAMPLE_FILES] + [write_hostile_trace(folder / "hostile.jsonl")]
    store = build_store(folder / "agenttime.duckdb", files)
    with running_server(store) as base:
        yield base


@pytest.fixture(scope="module")
def showcase() -> list[dict]:
    (spans,) = sample_spans(SHOWCASE_TASK)
    return spans


def trajectory_url(base: str, trace: str, span: str | None = None) -> str:
    params = {"trace": trace} | ({"span": span} if span else {})
    return f"{base}/trajectory?{urlencode(params)}"


def open_page(page, url: str) -> None:
    page.goto(url, timeout=LOADED * 3)
    wait_for_app(page)


def metric(page, label: str):
    return page.get_by_test_id("stMetric").filter(has_text=label).get_by_test_id("stMetricValue")


def test_find_the_looping_run_and_open_it(page, server, showcase):
    open_page(page, server + "/trajectories")
    expect(page.get_by_text("Runs 1–95 of 95.")).to_be_visible(
        timeout=LOADED
    )  # 94 samples + hostile
    screenshot(page, "trajectories")
    open_page(page, server + "/trajectories?verdict=escalation_needed&sort_by=Turns")
    expect(page.get_by_text("Runs 1–3 of 3.")).to_be_visible(timeout=LOADED)
    grid = page.get_by_test_id("stDataFrame").first.bounding_box()
    page.mouse.click(grid["x"] + 15, grid["y"] + 35 + 17)  # first row: the most turns
    page.wait_for_url(re.compile(r"/trajectory\?trace="))
    wait_for_app(page)
    # the sidebar filter stays bound to the URL across pages, the verdict by name (the link
    # above, made before verdicts had names, still works)
    assert page.url.startswith(trajectory_url(server, showcase[0]["trace_id"]) + "&verdict=")
    assert re.search(r"&verdict=Escalation(\+|%20)needed$", page.url), page.url
    expect(metric(page, "Turns")).to_have_text("14", timeout=LOADED)
    expect(page.get_by_text("stagnation on turns 5–8 ($0.0032)")).to_be_visible(timeout=LOADED)


def test_deep_link_opens_the_span_and_clicks_keep_the_url_in_step(page, server, showcase):
    llm = llm_spans(showcase)
    turn_5 = llm[4]
    page.set_viewport_size(TALL)
    open_page(page, trajectory_url(server, showcase[0]["trace_id"], turn_5["span_id"]))
    picker = page.get_by_role("combobox", name="Span")
    position = showcase.index(turn_5) + 1  # the picker lists spans in start order
    expect(picker).to_have_value(f"{position}. llm · chat gpt-4.1-mini · turn 5", timeout=LOADED)
    inspector = page.get_by_test_id("stCode")
    (result,) = json.loads(turn_5["input"])  # the tool result it read, shown as a message
    expect(inspector.filter(has_text=result["content"]).first).to_be_visible(timeout=LOADED)
    expect(page.get_by_text(f"span {turn_5['span_id']}").first).to_be_visible(timeout=LOADED)
    screenshot(page, "trajectory")
    page.locator(".js-plotly-plot .bars path").nth(1).click(force=True)  # 2 · chat: turn 1
    page.wait_for_url(re.compile(f"span={llm[0]['span_id']}"))
    wait_for_app(page)
    expect(picker).to_have_value("2. llm · chat gpt-4.1-mini · turn 1", timeout=LOADED)
    page.reload()
    wait_for_app(page)
    expect(picker).to_have_value("2. llm · chat gpt-4.1-mini · turn 1", timeout=LOADED)
    page.get_by_role("button", name=re.compile("Copy link")).click()
    link = f"{server}/trajectory?trace={showcase[0]['trace_id']}&span={llm[0]['span_id']}"
    shown = page.get_by_test_id("stPopoverBody").get_by_test_id("stCode")
    expect(shown).to_have_text(link, timeout=LOADED)
    open_page(page, link)  # the link itself reopens the same run on the same span
    expect(picker).to_have_value("2. llm · chat gpt-4.1-mini · turn 1", timeout=LOADED)


def test_hostile_content_shows_as_literal_text(page, server):
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    open_page(page, trajectory_url(server, HOSTILE_TRACE, HOSTILE_SPAN))
    codes = page.get_by_test_id("stCode")
    expect(codes.filter(has_text=SCRIPT).first).to_be_visible(timeout=LOADED)
    expect(
        codes.filter(has_text="**bold** [link](http://x) ![img](http://x/i.png)").first
    ).to_be_visible(timeout=LOADED)
    long_block = codes.filter(has_text="x" * 1000).first
    assert len(long_block.inner_text()) > 50_000
    expect(codes.filter(has_text="[31mred").first).to_be_attached(
        timeout=LOADED
    )  # ANSI stays visible
    assert page.locator("img[src='http://x/i.png']").count() == 0
    assert page.locator("a[href='http://x'], a[href='http://x/a']").count() == 0
    expect(codes.filter(has_text=ANCHOR).first).to_be_visible(timeout=LOADED)
    assert page.locator("main script").count() == 0
    assert page.locator("main strong", has_text="bold").count() == 0
    assert dialogs == []


def add_review(page, comment: str) -> None:
    page.get_by_role("textbox", name="Comment").fill(comment)
    page.get_by_role("button", name="Add review").click()


def set_name(page, name: str) -> None:
    page.get_by_role("textbox", name="Your name").fill(name)
    page.get_by_role("button", name="Save name").click()
    expect(page.get_by_text(f"Reviewing as {name}.")).to_be_visible(timeout=LOADED)


def test_two_reviewers_at_once_both_persist(browser, server):
    trace = sample_spans(CHANGELOG_TASK)[0][0]["trace_id"]
    pages = []
    for name in ("ana", "bo"):
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        page = context.new_page()
        open_page(page, trajectory_url(server, trace))
        set_name(page, name)
        page.get_by_role("textbox", name="Comment").fill(f"{name}: the small model solved this too")
        pages.append(page)
    for page in pages:  # both submits in flight together
        page.get_by_role("button", name="Add review").click(no_wait_after=True)
    for page in pages:
        expect(page.get_by_text("Review added.")).to_be_visible(timeout=LOADED)
    check = pages[0]
    check.reload()
    wait_for_app(check)
    expect(check.get_by_text("2 reviews")).to_be_visible(timeout=LOADED)
    for name in ("ana", "bo"):
        expect(check.get_by_text(f"{name}: the small model solved this too")).to_be_visible(
            timeout=LOADED
        )
    for page in pages:
        page.context.close()


def test_the_reviewer_name_is_remembered_after_reload(page, server, showcase):
    open_page(page, trajectory_url(server, showcase[0]["trace_id"]))
    set_name(page, "Carla Núñez")  # a space and accents travel URL-encoded in the cookie
    # the cookie is written by a script in its own iframe: wait until it ran
    page.wait_for_function("document.cookie.includes('agenttime_reviewer=Carla%20N')")
    page.reload()
    wait_for_app(page)
    expect(page.get_by_text("Reviewing as Carla Núñez.")).to_be_visible(timeout=LOADED)
    expect(page.get_by_role("textbox", name="Your name")).to_have_count(0, timeout=LOADED)


def test_compare_pairs_the_same_task_on_two_models(page, server):
    opus, haiku = sorted(
        sample_spans(CHANGELOG_TASK), key=lambda spans: "haiku" in llm_spans(spans)[0]["model"]
    )
    page.set_viewport_size(TALL)
    open_page(page, f"{server}/compare?a={opus[0]['trace_id']}")
    page.wait_for_url(re.compile(f"b={haiku[0]['trace_id']}"))
    wait_for_app(page)
    expect(page.get_by_text("Key facts")).to_be_visible(timeout=LOADED)
    expect(page.locator(".js-plotly-plot")).to_have_count(3, timeout=LOADED)
    screenshot(page, "compare")


def test_a_deep_link_is_the_first_request_to_a_fresh_server(page, tmp_path, showcase):
    store = build_store(tmp_path / "fresh.duckdb", [SAMPLES / SAMPLE_FILES[0]])
    with running_server(store) as base:
        open_page(page, trajectory_url(base, showcase[0]["trace_id"]))
        expect(metric(page, "Turns")).to_have_text("14", timeout=LOADED)
        nav = page.get_by_test_id("stSidebarNav")
        expect(nav.get_by_text("Bigger model?")).to_be_visible(
            timeout=LOADED
        )  # st.navigation, not a legacy pages/ folder
