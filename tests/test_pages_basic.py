"""AppTest of the Overview and Upload pages on real data and on an empty store."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import streamlit as st

from analysis.pipeline import ingest_path
from api.otlp import REFUSALS, Refusal
from ingest.registry import EXPECTED_FORMATS
from store.writes import OTLP_ENDPOINT_WHO
from tests.apptest import app_on, shown_rows
from ui.text import escape_markdown


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_overview_on_an_empty_store_says_what_to_upload(db_path, con):
    with app_on(db_path) as at:
        assert not at.exception
        assert "No traces yet" in at.info[0].value
        assert not at.metric


def test_the_empty_store_gives_this_servers_otlp_address(db_path, con, monkeypatch):
    """Not a fixed localhost:8501: the address people use (AGENTTIME_PUBLIC_URL), else
    this server's own port."""
    monkeypatch.setenv("AGENTTIME_PUBLIC_URL", "https://agenttime.example.com/")
    with app_on(db_path) as at:
        assert (
            "`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=https://agenttime.example.com/v1/traces`"
            in at.info[0].value
        )
    monkeypatch.delenv("AGENTTIME_PUBLIC_URL")
    with app_on(db_path) as at:
        port = st.get_option("server.port")
        assert f"`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://localhost:{port}/v1/traces`" in (
            at.info[0].value
        )


def test_overview_kpis_on_tau_bench(db_path, con, shared_traces):
    """tau-bench records rewards (84 of 200 are 1) but no times, tokens, cost or model."""
    ingest_path(con, shared_traces / "other" / "tau-bench_gpt-4o-airline.json")
    with app_on(db_path) as at:
        assert not at.exception
        shown = metrics(at)
        assert shown["Trajectories"] == "200"
        assert shown["Success rate"] == "42%"
        # an unknown tile reads "—" (the words did not fit a tile) and says why on hover
        unknown = ("Median wall time", "Total tokens", "Cost", "Waste share", "Escalations")
        assert [shown[label] for label in unknown] == ["—"] * 5
        hover = {m.label: m.help for m in at.metric}
        assert hover["Cost"] == "Not recorded."
        assert hover["Escalations"] == (
            "Not recorded. Runs that switched to a larger tier, of 0 whose models have a known tier."
        )
        # the worst runs by waste and by wall time: ten each, none of them with a 0 for unknown
        assert [df.value.shape[0] for df in at.dataframe] == [10, 10]
        assert at.dataframe[0].value["waste_usd"].isna().all()
        for table in at.dataframe:  # and every unknown reads "—", not Streamlit's "None"
            cells = {(row["cost_usd"], row["waste_usd"]) for row in shown_rows(table)}
            assert cells == {("—", "—")}


def test_upload_reports_each_file(db_path, con):
    good = json.dumps(
        {
            "trace_id": "t1",
            "span_id": "s1",
            "name": "chat",
            "kind": "llm",
            "start_time": "2026-01-01T00:00:00Z",
            "end_time": "2026-01-01T00:00:02Z",
        }
    )
    with app_on(db_path, page="views/upload.py") as at:
        at.file_uploader(key="files").set_value(
            [
                ("good.jsonl", good.encode(), "application/json"),
                ("../../evil name.jsonl", b"{broken", "application/json"),
            ]
        ).run()
        at.button[0].click().run()
        assert not at.exception
        assert at.success[0].value == (  # the name as text: "_" and "*" would be emphasis
            "**good\\.jsonl** — span_jsonl: 1 span, 1 trajectory, 0 skipped records."
        )
        (link,) = [m.value for m in at.markdown if m.value.startswith("[Open its")]
        assert link.startswith(
            "[Open its 1 trajectory in the Trajectories list](trajectories?upload=good.jsonl"
        )
        link_upload = parse_qs(urlsplit(link.split("](", 1)[1][:-1]).query)["upload"][0]
        # the error quotes the file ({broken), as text; it says the file left no trace
        raw = (
            "evil_name.jsonl, byte 0: not a recognised trace format: the file starts with "
            f"'{{broken'; expected {EXPECTED_FORMATS}"
        )
        assert at.error[0].value == (
            escape_markdown(raw, max_chars=1000) + "  \nNothing from this file was stored."
        )
    with con.cursor() as cur:
        (upload_id,) = cur.execute("SELECT upload_id FROM uploads").fetchone()
    with app_on(db_path, page="views/trajectories.py", query={"upload": link_upload}) as at:
        assert not at.exception and not at.warning  # the link's filter is one the sidebar offers
        assert at.dataframe[0].value["open"].tolist() == ["trajectory?trace=t1"]
    with app_on(db_path, page="views/upload.py") as at:
        at.file_uploader(key="files").set_value(
            [
                ("copy.jsonl", good.encode(), "application/json"),  # the same bytes, renamed
                ("again.jsonl", (good + "\n\n").encode(), "application/json"),  # same span
            ]
        ).run()
        at.button[0].click().run()
        assert [i.value for i in at.info] == [
            f"**copy\\.jsonl** was already ingested, as **good\\.jsonl** ({upload_id}); "
            "nothing added."
        ]
        assert [w.value for w in at.warning] == [
            "**again\\.jsonl** — span_jsonl: 0 spans, 1 trajectory, 0 skipped records: "
            "nothing new was stored.",
            "1 span was already stored (same trace_id, span_id)",
        ]
    with con.cursor() as cur:
        assert cur.execute("SELECT count(*) FROM spans").fetchone() == (1,)


def test_an_upload_where_every_span_was_skipped_is_a_warning_not_a_success(db_path, shared_traces):
    """The spec's file exporter sample: every span has an empty trace id, so none lands."""
    sample = shared_traces / "otlp" / "otel_spec_file_exporter_traces.jsonl"
    with app_on(db_path, page="views/upload.py") as at:
        at.file_uploader(key="files").set_value(
            [(sample.name, sample.read_bytes(), "application/json")]
        ).run()
        at.button[0].click().run()
        assert not at.exception and not at.success
        assert at.warning[0].value == (
            f"**{escape_markdown(sample.name)}** — otlp_json: 0 spans, 0 trajectories, "
            "8 skipped records: "
            "nothing was stored."
        )
        assert at.dataframe[0].value.shape[0] == 8


def test_upload_lists_the_latest_uploads_and_the_exports_received(db_path, con, shared_traces):
    otlp = shared_traces / "otlp"
    assert ingest_path(con, otlp / "sdk_agent.binpb", "POST /v1/traces", who=OTLP_ENDPOINT_WHO).ok
    assert ingest_path(con, otlp / "sdk_agent_otlp.jsonl").ok  # a file: the same 4 spans again
    with con.cursor() as cur:
        file_id = cur.execute("SELECT upload_id FROM uploads WHERE who IS NULL").fetchone()[0]
    with app_on(db_path, page="views/upload.py") as at:
        assert not at.exception
        latest = at.dataframe[0].value
        assert latest[["filename", "format", "span_count", "trace_count"]].values.tolist() == [
            ["sdk_agent_otlp.jsonl", "otlp_json", 0, 1],
            ["POST /v1/traces", "otlp_protobuf", 4, 1],
        ]
        assert latest["warnings"][0] == "4 spans were already stored (same trace_id, span_id)"
        (caption,) = [c.value for c in at.caption if c.value.startswith("OpenTelemetry:")]
        assert caption.startswith("OpenTelemetry: 1 export received at POST /v1/traces (4 spans)")
        assert not [s for s in at.subheader if s.value.startswith("Exports refused")]
    # the sidebar's Upload filter offers the file, not each export
    with app_on(db_path) as at:
        assert at.selectbox(key="upload").options == [f"sdk_agent_otlp.jsonl · {file_id}"]


def test_upload_lists_the_exports_the_endpoint_refused(db_path, con):
    refusal = Refusal(
        datetime(2026, 11, 29, 9, 30, tzinfo=UTC), 401, "missing or wrong bearer token", "10.0.0.7"
    )
    REFUSALS.append(refusal)
    try:
        with app_on(db_path, page="views/upload.py") as at:
            assert not at.exception
            assert [s.value for s in at.subheader] == [
                "Latest uploads",  # none yet
                "Exports refused by POST /v1/traces",
            ]
            (table,) = at.dataframe
            assert table.value[["status", "message", "client"]].values.tolist() == [
                [401, "missing or wrong bearer token", "10.0.0.7"]
            ]
    finally:
        REFUSALS.remove(refusal)


def test_an_upload_is_deleted_from_the_upload_page_after_its_impact_is_confirmed(
    db_path, con, tmp_path
):
    def span(trace: str, span_id: str) -> str:
        return json.dumps(
            {
                "trace_id": trace,
                "span_id": span_id,
                "name": "chat",
                "kind": "llm",
                "start_time": 1,
                "end_time": 2,
            }  # fmt: skip
        )

    wrong, right = tmp_path / "wrong.jsonl", tmp_path / "right.jsonl"
    wrong.write_text(span("t1", "a") + "\n" + span("t2", "a") + "\n")
    right.write_text(span("t2", "b") + "\n" + span("t3", "a") + "\n")  # t2: a trace in both
    wrong_id = ingest_path(con, wrong).upload_id
    ingest_path(con, right)
    with app_on(db_path, page="views/upload.py") as at:
        assert not at.exception
        at.selectbox(key="delete_choice_0").set_value(wrong_id).run()
        assert [w.value for w in at.warning] == [
            "Deleting **wrong\\.jsonl** removes 2 trajectories and 3 spans, including 1 span "
            "that **right\\.jsonl** sent of them (ingesting those files again brings their "
            "spans back). This cannot be undone."
        ]
        assert at.button(key="delete_button").disabled  # not before it is confirmed
        at.checkbox(key="delete_confirm_0").check().run()
        at.button(key="delete_button").click().run()
        assert not at.exception
        assert [s.value for s in at.success] == [
            f"Deleted **wrong\\.jsonl** ({wrong_id}): 2 trajectories, 3 spans."
        ]
        assert at.selectbox(key="delete_choice_1").value is None  # a new, empty choice
        # the other file's record says what it lost, and how to get it back
        (received,) = [d.value for d in at.dataframe if "deleted_spans" in d.value.columns]
        assert received[["filename", "deleted_spans"]].values.tolist() == [["right.jsonl", 1]]
    with con.cursor() as cur:
        assert cur.execute("SELECT trace_id, span_id FROM spans").fetchall() == [("t3", "a")]
        assert cur.execute("SELECT trace_id FROM trajectories").fetchall() == [("t3",)]
        assert cur.execute("SELECT filename FROM uploads").fetchall() == [("right.jsonl",)]


def test_a_delete_that_finds_the_upload_gone_says_so():
    """Two people deleting the same upload at once: the second removes nothing, and is told."""
    from store.deletes import UploadImpact
    from ui.upload_text import deleted_text

    shown = UploadImpact("up_1", "run_1.jsonl", 2, 5, 0)
    assert deleted_text(None, shown) == "**run\\_1\\.jsonl** was already deleted; nothing removed."
    assert deleted_text(shown, shown) == (
        "Deleted **run\\_1\\.jsonl** (up_1): 2 trajectories, 5 spans."
    )


def test_the_delete_preview_names_at_most_six_other_files():
    from store.deletes import UploadImpact
    from ui.upload_text import impact_text

    files = tuple(f"b{i}.jsonl" for i in range(7))
    text = impact_text(UploadImpact("up_1", "a.jsonl", 3, 20, 7, files))
    assert text == (
        "Deleting **a\\.jsonl** removes 3 trajectories and 20 spans, including 7 spans that "
        + ", ".join(f"**b{i}\\.jsonl**" for i in range(6))
        + " and others sent of them (ingesting those files again brings their spans back). "
        "This cannot be undone."
    )
    alone = impact_text(UploadImpact("up_1", "a.jsonl", 1, 1, 0))
    assert alone == "Deleting **a\\.jsonl** removes 1 trajectory and 1 span. This cannot be undone."


def test_a_stale_tab_is_told_its_upload_is_gone(db_path, con, tmp_path):
    """QA: deleted in another tab, the choice here just reset without a word."""
    from analysis.pipeline import delete_upload

    path = tmp_path / "run.jsonl"
    path.write_text(
        json.dumps({"trace_id": "t", "span_id": "s", "name": "n", "start_time": 1, "end_time": 2})
        + "\n"
    )
    upload_id = ingest_path(con, path).upload_id
    with app_on(db_path, page="views/upload.py") as at:
        at.selectbox(key="delete_choice_0").set_value(upload_id).run()
        delete_upload(con, upload_id)  # the other tab
        at.run()
        assert not at.exception
        assert [i.value for i in at.info] == [
            f"Upload {escape_markdown(upload_id)} is no longer among the latest uploads."
        ]
