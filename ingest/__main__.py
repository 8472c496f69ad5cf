"""CLI: python -m ingest FILE... [--db PATH] [--json] | python -m ingest --export DIR [--db PATH]
| python -m ingest --delete-upload UPLOAD_ID [--db PATH] [--json]

Exit 0 when every file ingested, 1 when any failed (the others still land, each
atomically) or the store cannot be opened, 2 on usage errors.
`--export DIR` writes the whole store as Parquet (see store/export.py): exit 0 when written,
1 when the store cannot be read or the folder cannot be written (nothing is left behind),
2 when there is no store or DIR exists and is not empty.
`--delete-upload ID` removes an upload and every trajectory it brought (store/deletes.py):
exit 0 when deleted, 1 when there is no such upload or a running server holds the store (the
Upload page deletes there), 2 when there is no store or it comes with FILEs or --export.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ingest",
        description="Load agent trace files into the AgentTime DuckDB store.",
    )
    parser.add_argument("files", nargs="*", metavar="FILE", help="trace files to ingest")
    parser.add_argument(
        "--db", help="DuckDB file (default: $AGENTTIME_DB or data/agenttime.duckdb)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON report per file")
    parser.add_argument(
        "--url",
        help="send the files to a running AgentTime server (used automatically when the "
        "server holds the DB file)",
    )
    parser.add_argument(
        "--if-empty",
        action="store_true",
        help="do nothing when the store already holds spans (used by `make run` for the samples)",
    )
    parser.add_argument(
        "--export",
        metavar="DIR",
        help="write the whole store to DIR (new or empty) as Parquet, after ingesting any FILE",
    )
    parser.add_argument(
        "--delete-upload",
        metavar="UPLOAD_ID",
        help="remove that upload (its id as the Upload page lists it) and every trajectory it "
        "brought, whole",
    )
    return parser


class StoreUnavailable(Exception):
    """The DuckDB file cannot be opened: a read-only location, permissions, a broken file."""


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_USAGE if exc.code else EXIT_OK
    if args.delete_upload is not None:
        if args.files or args.export:
            print("error: --delete-upload runs alone, without FILEs or --export", file=sys.stderr)
            return EXIT_USAGE
        try:
            return delete_locally(args)
        except StoreUnavailable as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_FAILED
    if not args.files and not args.export:
        print("error: give the FILE(s) to ingest, or --export DIR", file=sys.stderr)
        return EXIT_USAGE
    if (unreadable := unreadable_setting()) is not None:
        print(f"error: {unreadable}", file=sys.stderr)
        return EXIT_USAGE
    if args.export and not export_target_free(args.export):
        return EXIT_USAGE  # before any file lands: the command does all of it or says why not
    try:
        status = ingest_files(args) if args.files else EXIT_OK
        return max(status, export_locally(args)) if args.export else status
    except StoreUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED


def unreadable_setting() -> str | None:
    from ingest.settings import SettingError, check_all

    try:
        check_all()
    except SettingError as exc:
        return str(exc)
    return None


def export_target_free(folder: str) -> bool:
    from store.export import target_taken

    if (problem := target_taken(Path(folder))) is not None:
        print(f"error: {problem}", file=sys.stderr)
    return problem is None


def ingest_files(args) -> int:
    """Each FILE lands or fails on its own (a missing one fails); 1 when any failed or
    stored nothing because every record in it was skipped."""
    missing = [f for f in args.files if not Path(f).exists()]
    args.files = [f for f in args.files if f not in missing]
    reports = [{"file": f, "ok": False, "error": f"{f}: no such file or folder"} for f in missing]
    if args.files:
        found = ingest_through_server(args.url, args.files) if args.url else ingest_locally(args)
        if found is None:
            return EXIT_OK
        reports += found
    for report in reports:
        if args.json:
            print(json.dumps(report))
        else:
            print(describe(report), file=sys.stdout if report["ok"] else sys.stderr)
    return EXIT_OK if all(r["ok"] and not nothing_landed(r) for r in reports) else EXIT_FAILED


def nothing_landed(report: dict) -> bool:
    """Every record was skipped: the file was read, but none of it is in the store."""
    return not report["spans"] and not report["trajectories"] and bool(report["skipped"])


def ingest_locally(args) -> list[dict] | None:
    """Reports for each file, or None when --if-empty found the store already filled."""
    import duckdb

    from analysis.pipeline import ingest_path
    from store.db import cannot_open, close, connect, db_path, is_lock_conflict, read_server_url

    store = Path(db_path(args.db))
    existed = store.exists()
    try:
        con = connect(args.db)
    except (duckdb.Error, OSError) as exc:
        url = read_server_url(args.db) if is_lock_conflict(exc) else None
        if url is None:
            raise StoreUnavailable(cannot_open(args.db, exc)) from exc
        if args.if_empty and _server_holds_spans(url, args.db):
            print(f"{db_path(args.db)} already holds traces; not loading {len(args.files)} file(s)")
            return None
        print(
            f"{db_path(args.db)} is held by the server at {url}; sending the files there",
            file=sys.stderr,
        )
        return ingest_through_server(url, args.files)
    if args.if_empty and store_has_spans(con):
        print(f"{db_path(args.db)} already holds traces; not loading {len(args.files)} file(s)")
        return None
    reports = [ingest_path(con, path, display_name=path).as_dict() for path in args.files]
    if not existed and not any(report["ok"] for report in reports):
        close(args.db)  # every file was refused: leave no empty store behind
        for leftover in (store, store.with_name(store.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return reports


def _server_holds_spans(url: str, db: str | None) -> bool:
    from ingest.client import stored_span_count
    from store.db import db_path

    spans = stored_span_count(url)
    if spans is None:
        raise StoreUnavailable(
            f"{db_path(db)} is held by the server at {url}, which does not answer; "
            "--if-empty cannot tell whether the store is empty"
        )
    return spans > 0


def delete_locally(args) -> int:
    """Delete the upload in the store, which this process must be able to take: a running
    server holds it, and deletes on its Upload page."""
    import duckdb

    from analysis.pipeline import delete_upload
    from store.db import cannot_open, connect, db_path, is_lock_conflict, read_server_url

    path = db_path(args.db)
    if not Path(path).is_file():
        print(f"error: no store at {path}; nothing to delete", file=sys.stderr)
        return EXIT_USAGE
    try:
        con = connect(args.db)
    except (duckdb.Error, OSError) as exc:
        url = read_server_url(args.db) if is_lock_conflict(exc) else None
        if url is None:
            raise StoreUnavailable(cannot_open(path, exc)) from exc
        raise StoreUnavailable(
            f"{path} is held by the server at {url}: delete the upload on its Upload page, "
            "or stop the server first"
        ) from exc
    deleted = delete_upload(con, args.delete_upload)
    if deleted is None:
        print(f"error: no upload {args.delete_upload} in {path}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps({"deleted": vars(deleted) | {"other_files": list(deleted.other_files)}}))
    else:
        from ui.format import counted

        others = (
            f", including {counted(deleted.other_uploads_spans, 'span')} that "
            f"{', '.join(deleted.other_files)} sent (ingest them again to bring those back)"
            if deleted.other_uploads_spans
            else ""
        )
        print(
            f"deleted {deleted.filename} ({deleted.upload_id}): "
            f"{counted(deleted.trajectories, 'trajectory', 'trajectories')}, "
            f"{counted(deleted.spans, 'span')}{others}"
        )
    return EXIT_OK


def export_locally(args) -> int:
    """Write the store to args.export; read-only when nothing was ingested in this run."""
    import duckdb

    from store.db import cannot_open, connect, db_path
    from store.export import ExportError, TargetNotEmpty, export_store

    path = db_path(args.db)
    if not Path(path).is_file():
        print(f"error: no store at {path}; nothing to export", file=sys.stderr)
        return EXIT_USAGE
    try:
        con = connect(args.db) if args.files else duckdb.connect(path, read_only=True)
    except (duckdb.Error, OSError) as exc:
        raise StoreUnavailable(cannot_open(path, exc)) from exc
    try:
        result = export_store(con, args.export)
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, TargetNotEmpty) else EXIT_FAILED
    rows = {name: table["rows"] for name, table in result.manifest["tables"].items()}
    if args.json:
        print(json.dumps({"export": str(result.folder), "rows": rows}))
    else:
        counts = ", ".join(f"{count:,} {name}" for name, count in rows.items())
        print(f"exported {counts} to {result.folder}")
    return EXIT_OK


def ingest_through_server(url: str, files: list[str]) -> list[dict]:
    from ingest.client import post_file

    return [
        post_file(url, Path(path), path) if Path(path).is_file() else folder_refused(path)
        for path in files
    ]


def folder_refused(path: str) -> dict:
    return {
        "file": path,
        "ok": False,
        "error": f"{path}: a folder cannot be sent to a running server; zip it and send the zip",
    }


def store_has_spans(con) -> bool:
    with con.cursor() as cur:
        return cur.execute("SELECT EXISTS (SELECT 1 FROM spans)").fetchone()[0]


def describe(report: dict) -> str:
    if not report["ok"]:
        return f"FAILED {report['error']}"
    if report["already_ingested"]:
        earlier = report.get("earlier_file")  # absent from an older server's answer
        as_name = f" as {earlier}" if earlier and earlier != report["file"] else ""
        return f"{report['file']}: already ingested{as_name} ({report['upload_id']}); nothing added"
    from ui.format import counted

    skipped = report["skipped"]
    lines = [
        f"{report['file']}: {report['format']}, {counted(report['spans'], 'span')}, "
        f"{counted(report['trajectories'], 'trajectory', 'trajectories')}, "
        f"{len(skipped):,} skipped"
    ]
    lines += [f"  skipped {s['position']}: {s['reason']}" for s in skipped[:20]]
    if len(skipped) > 20:
        lines.append(f"  … and {len(skipped) - 20} more skipped records")
    lines += [f"  warning: {w}" for w in report["warnings"]]
    return "\n".join(lines)


if __name__ == "__main__":
    from ingest.without_pandas import keep_pandas_out

    keep_pandas_out()
    sys.exit(main())
