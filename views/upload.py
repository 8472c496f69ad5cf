"""Upload: drop trace files, see per file what was read, skipped or refused."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from analysis import uploads
from analysis.pipeline import IngestReport, delete_upload, ingest_path
from api.otlp import REFUSALS, Refusal
from ingest.source import safe_filename
from store.db import upload_dir
from store.deletes import upload_impact
from ui import format as fmt
from ui.db import connection
from ui.filters import UPLOAD_SEPARATOR
from ui.fleet_common import page_header
from ui.fleet_links import trajectories_url
from ui.format import counted
from ui.text import escape_markdown
from ui.upload_text import deleted_text, impact_text


def ingest_upload(uploaded) -> IngestReport:
    with tempfile.NamedTemporaryFile(dir=upload_dir(), suffix=".part", delete=False) as tmp:
        for chunk in iter(lambda: uploaded.read(8 << 20), b""):
            tmp.write(chunk)
        path = Path(tmp.name)
    try:
        return ingest_path(connection(), path, display_name=safe_filename(uploaded.name))
    finally:
        path.unlink(missing_ok=True)


RECENT_ROWS = 20
ERROR_CHARS = 2000  # an error names the file, the position and what was expected: keep it whole


def show_report(report: IngestReport) -> None:
    if not report.ok:
        # the error quotes the file's own text: shown as text, not Markdown
        error = escape_markdown(report.error or "", max_chars=ERROR_CHARS)
        st.error(f"{error}  \nNothing from this file was stored.", icon=":material/error:")
        return
    if report.already_ingested:
        st.info(
            f"**{escape_markdown(report.filename)}** was already ingested, as "
            f"**{escape_markdown(report.earlier_filename or '')}** "
            f"({report.upload_id}); nothing added."
        )
        return
    read = (
        f"**{escape_markdown(report.filename)}** — {report.format}: "
        f"{counted(report.spans, 'span')}, "
        f"{counted(report.trajectories, 'trajectory', 'trajectories')}, "
        f"{counted(len(report.skipped), 'skipped record')}"
    )
    if report.spans:
        st.success(read + ".")
        # a link, not st.switch_page: a page switch while a sidebar filter is set raises
        upload = f"{report.filename}{UPLOAD_SEPARATOR}{report.upload_id}"
        runs = counted(report.trajectories, "trajectory", "trajectories")
        st.markdown(
            f"[Open its {runs} in the Trajectories list]({trajectories_url(upload=upload)})"
        )
    elif report.trajectories:  # every span was already in the store
        st.warning(read + ": nothing new was stored.")
    else:  # nothing landed: not a success, whatever the reasons below
        st.warning(read + ": nothing was stored.")
    for warning in report.warnings:
        st.warning(warning)
    if report.skipped:
        st.dataframe(
            [{"position": s.position, "reason": s.reason} for s in report.skipped],
            hide_index=True,
            width="stretch",
        )


RECEIVED_COLUMNS = {  # what a look needs first, so that it fits at 1280 px
    "created_at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm:ss"),
    "filename": st.column_config.TextColumn("File", width="medium"),
    "span_count": st.column_config.NumberColumn(
        "Spans added", format="%,d", help="Spans already stored are not counted (see Warnings)"
    ),
    "trace_count": st.column_config.NumberColumn(
        "Trajectories", format="%,d", help="Trajectories the upload has spans of, new or not"
    ),
    "skipped_count": st.column_config.NumberColumn("Skipped", format="%,d"),
    "warnings": st.column_config.TextColumn("Warnings", width="medium"),
    "format": "Format",
    "upload_id": "Upload id",
}
DELETED_COLUMN = st.column_config.NumberColumn(
    "Spans deleted",
    format="%,d",
    help="Spans of this upload that went with another upload's delete: ingest its file again "
    "to bring them back",
)
REFUSAL_COLUMNS = {
    "at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm:ss"),
    "status": st.column_config.NumberColumn("HTTP status", format="%d"),
    "message": st.column_config.TextColumn("Why", width="large"),
    "client": "From",
}


def show_received(con) -> None:
    """What reached the store, newest first, and what the OTLP endpoint has taken in."""
    st.subheader("Latest uploads")
    recent = uploads.recent_uploads(con, RECENT_ROWS)
    if recent.is_empty():
        st.caption("Nothing uploaded yet.")
        return
    columns = dict(RECEIVED_COLUMNS)
    if recent["deleted_spans"].sum():  # only once a delete took spans of another upload
        columns["deleted_spans"] = DELETED_COLUMN
    st.dataframe(
        recent.select(list(columns)),
        hide_index=True,
        width="stretch",
        column_config=columns,
        placeholder=fmt.MISSING_CELL,
    )
    totals = uploads.endpoint_totals(con)
    if totals.exports:
        skipped = f", {counted(totals.skipped, 'span')} skipped" if totals.skipped else ""
        st.caption(
            f"OpenTelemetry: {counted(totals.exports, 'export')} received at POST /v1/traces "
            f"({counted(totals.spans, 'span')}{skipped}), the last at "
            f"{fmt.minute(totals.last)}. The sidebar's Upload filter lists files only."
        )


DELETED = "deleted_upload"  # what the last delete removed, shown after the rerun
DELETE_ROUNDS = "delete_rounds"  # deletes so far: part of the choice widgets' keys


def show_delete(con) -> None:
    """Delete one of the latest uploads, once its impact is shown and confirmed."""
    recent = uploads.recent_uploads(con, RECENT_ROWS)
    deleted: str | None = st.session_state.pop(DELETED, None)
    rounds = st.session_state.get(DELETE_ROUNDS, 0)
    earlier = st.session_state.get(f"delete_choice_{rounds}")
    if recent.is_empty() and deleted is None and earlier is None:
        return
    with st.expander("Delete an upload", expanded=deleted is not None):
        if deleted is not None:
            st.success(deleted)
        st.caption(
            "Removes every trajectory the upload brought, whole — all its spans, also those "
            "other uploads sent of it — with every figure computed from them. Reviews are "
            "kept, and come back with their run if the file is ingested again."
        )
        labels = {row["upload_id"]: _upload_label(row) for row in recent.iter_rows(named=True)}
        if earlier is not None and earlier not in labels:  # a stale tab: deleted elsewhere
            st.info(f"Upload {escape_markdown(earlier)} is no longer among the latest uploads.")
        chosen = st.selectbox(
            "Upload",
            list(labels),
            index=None,
            format_func=labels.get,
            placeholder="Choose one of the latest uploads",
            key=f"delete_choice_{rounds}",
        )
        impact = upload_impact(con, chosen) if chosen else None
        if impact is None:
            return
        st.warning(impact_text(impact))
        sure = st.checkbox("Delete them", key=f"delete_confirm_{rounds}")
        if st.button("Delete upload", type="primary", disabled=not sure, key="delete_button"):
            st.session_state[DELETED] = deleted_text(delete_upload(con, chosen), impact)
            st.session_state[DELETE_ROUNDS] = rounds + 1  # new widgets: nothing stays chosen
            st.session_state.pop("upload_reports", None)  # they may name what is gone
            st.rerun()


def _upload_label(row: dict) -> str:
    return f"{row['filename']} · {fmt.minute(row['created_at'])} · {row['upload_id']}"


def show_refusals(refusals: list[Refusal]) -> None:
    """Exports the endpoint refused since this server started: the exporter logs only a
    status code, and nothing of them reaches the store."""
    if not refusals:
        return
    st.subheader("Exports refused by POST /v1/traces")
    st.caption(
        f"The latest {len(refusals)} since this server started, newest first; nothing of them "
        "was stored. The server log has each one too."
    )
    st.dataframe(
        [vars(refusal) for refusal in reversed(refusals)],
        hide_index=True,
        width="stretch",
        column_config=REFUSAL_COLUMNS,
    )


page_header(
    "Upload traces",
    "upload",
    "OpenTelemetry (OTLP JSON, JSON Lines, protobuf), LangSmith exports (JSONL, JSON, Parquet, "
    "a zip of a bulk-export folder), Langfuse trace exports and JSONL — gzip is fine. Each file is ingested atomically: "
    "it lands whole or not at all.",
)
files = st.file_uploader("Trace files", accept_multiple_files=True, key="files")
if files and st.button("Ingest", type="primary"):
    reports = []
    progress = st.progress(0.0, text="Ingesting…")
    for index, uploaded in enumerate(files):
        progress.progress(index / len(files), text=f"Ingesting {safe_filename(uploaded.name)}…")
        reports.append(ingest_upload(uploaded))
    progress.progress(1.0, text="Done")
    st.session_state["upload_reports"] = reports
for report in st.session_state.get("upload_reports", []):
    show_report(report)
show_received(connection())
show_delete(connection())
show_refusals(list(REFUSALS))
