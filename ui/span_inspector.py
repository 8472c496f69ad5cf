"""The span inspector: every field of one span, its input, output, tool arguments and
attributes — as plain text, because all of it comes from the trace and may contain
Markdown, HTML or script that must never render.

Very long content is cut for display (the full text stays in the store): one page must
not ship megabytes of prompt to the browser.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import polars as pl
import streamlit as st

from ui import format as fmt
from ui.text import escape_markdown, one_line
from ui.timeline import span_title
from ui.transcript import transcript

MAX_SHOWN_CHARS = 100_000
FIELDS = (
    ("span_id", "Span id"),
    ("parent_id", "Parent span"),
    ("name", "Name"),
    ("kind", "Kind"),
    ("status", "Status"),
    ("error_type", "Error type"),
    ("start_time", "Start (UTC)"),
    ("end_time", "End (UTC)"),
    ("duration_ms", "Duration (ms)"),
    ("model", "Model"),
    ("request_model", "Requested model"),
    ("provider", "Provider"),
    ("input_tokens", "Input tokens"),
    ("cache_read_tokens", "Cached input tokens"),
    ("cache_write_tokens", "Cache write tokens"),
    ("output_tokens", "Output tokens"),
    ("reasoning_tokens", "Reasoning tokens"),
    ("cost_usd", "Reported cost (USD)"),
    ("tool_name", "Tool"),
    ("tool_call_id", "Tool call id"),
    ("agent_name", "Agent"),
    ("session_id", "Session"),
    ("task_id", "Task id"),
    ("seq", "Sequence"),
    ("source", "Source format"),
    ("convention", "Attribute convention"),
    ("upload_id", "Upload"),
)
SHOWN = {  # open, as messages where they hold some, in this order
    "error_message": "Error message",
    "input": "Input",
    "output": "Output",
    "tool_args": "Tool arguments",
}
TOOL_ORDER = ("error_message", "tool_args", "output", "input")  # a tool's arguments: its input
STORED = (("input", "Input"), ("output", "Output"), ("attributes", "Attributes"))  # folded


def field_rows(span: dict[str, Any]) -> pl.DataFrame:
    """(Field, Value) as text; unknown values say so."""
    values = [_text(span.get(key)) for key, _ in FIELDS]
    return pl.DataFrame({"Field": [label for _, label in FIELDS], "Value": values})


# OTel's UNSET is what most instrumentations leave on a span that did not fail
STATUS_WORDS = {"ok": "ok", "error": "failed", "unset": "no error recorded"}


def summary(span: dict[str, Any]) -> str:
    """The facts a reader looks for first, on one line: what, which model or tool, how it
    ended, how long, how many tokens, and the span's id."""
    tokens = (
        f"{span['input_tokens']:,} in / {span['output_tokens']:,} out tokens"
        if span.get("input_tokens") is not None and span.get("output_tokens") is not None
        else None
    )
    parts = (
        span.get("kind"),
        span.get("model") or span.get("tool_name"),
        STATUS_WORDS.get(span.get("status"), span.get("status")),
        fmt.duration(span["duration_ms"]) if span.get("duration_ms") is not None else None,
        tokens,
        f"span {span.get('span_id')}",
    )
    return " · ".join(str(part) for part in parts if part)


def _text(value: Any) -> str:
    if value is None:
        return fmt.NOT_RECORDED
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ")
    return str(value)


def pretty(text: str) -> str:
    """JSON indented for reading; anything else unchanged."""
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            return json.dumps(json.loads(stripped), indent=2, ensure_ascii=False)
        except ValueError:
            return text
    return text


def shown(text: str) -> tuple[str, bool]:
    """The text to display and whether it was cut."""
    if len(text) <= MAX_SHOWN_CHARS:
        return text, False
    return text[:MAX_SHOWN_CHARS], True


def span_label(row: dict[str, Any], position: int, turn: str | None = None) -> str:
    suffix = f" · {turn}" if turn else ""
    return one_line(f"{position}. {row['kind']} · {row['name']}", 80) + suffix


def span_labels(spans: pl.DataFrame, turn_names: dict[str, str]) -> dict[str, str]:
    """Span id -> its label in the picker ("9. tool · run_tests"), spans in timeline order."""
    return {
        row["span_id"]: span_label(row, i + 1, turn_names.get(row["span_id"]))
        for i, row in enumerate(spans.with_columns(name=span_title()).iter_rows(named=True))
    }


def failed_spans(spans: pl.DataFrame) -> set[str]:
    return set(spans.filter(pl.col("status") == "error")["span_id"].to_list())


def show_span_picker(
    labels: dict[str, str],
    current: str | None,
    on_pick: Callable[[str], None],
    failed: set[str] = frozenset(),
) -> None:
    """A selectbox over every span of the run (`span_labels`, in timeline order), kept in step
    with `&span=`. Failed spans say so ("· failed", which typing in the box finds): in a long
    run they were reachable only through the list's search."""
    ids = list(labels)
    if st.session_state.get("span_picker") != current:
        st.session_state["span_picker"] = current if current in labels else None
    st.selectbox(
        "Span",
        ids,
        format_func=lambda span_id: (
            labels.get(span_id, span_id) + (" · failed" if span_id in failed else "")
        ),
        index=None,  # without it Streamlit shows span 1 as chosen while none is
        placeholder="Click a bar, a turn or a finding, or choose a span",
        key="span_picker",
        on_change=lambda: on_pick(st.session_state["span_picker"]),
    )


def show_inspector(span: dict[str, Any] | None, span_id: str | None) -> None:
    if span_id is None:
        st.caption("No span selected.")
        return
    if span is None:
        st.warning("This run has no span with the id given in the link.")
        st.code(one_line(span_id, 200), language=None)
        return
    st.caption("Name")
    st.code(shown(span["name"])[0], language=None, wrap_lines=True)
    st.caption(escape_markdown(summary(span), 400))
    # what was said and done first; every field and the stored JSON below, folded
    for key in TOOL_ORDER if span.get("kind") == "tool" else SHOWN:
        if span.get(key) is None and not _expected(key, span):
            continue  # no error on a span that did not fail, no arguments on a model call
        if key == "input" and _same_json(span.get("input"), span.get("tool_args")):
            continue  # a tool's input that is its arguments: shown once, as the arguments
        _show_conversation(SHOWN[key], span.get(key))
    # kept in the URL: a link to a span can open its fields for a colleague
    with st.expander("All fields", key="span_fields", bind="query-params"):
        st.dataframe(field_rows(span), hide_index=True, width="stretch", height="content")
    with st.expander(
        "As stored: input, output and attributes", key="span_stored", bind="query-params"
    ):
        for key, label in STORED:
            st.caption(label)
            _show_content(span.get(key))


def _same_json(text: str | None, other: str | None) -> bool:
    if not text or not other:
        return False
    try:
        return json.loads(text) == json.loads(other)
    except ValueError:
        return False


def _expected(key: str, span: dict[str, Any]) -> bool:
    """Whether a missing `key` is worth saying "not recorded" for, on this kind of span."""
    if key == "error_message":
        return span.get("status") == "error"
    if key == "tool_args":
        return span.get("kind") == "tool"
    if key == "input" and span.get("kind") == "tool":
        return span.get("tool_args") is None  # else the arguments were its input
    return True


def _show_conversation(label: str, value: str | None) -> None:
    """The messages in `value`, one block each under its role; else the text as stored."""
    entries = transcript(value)
    if entries is None:
        st.caption(label)
        _show_content(value)
        return
    st.caption(f"{label}: {fmt.counted(len(entries), 'part')}")
    budget = MAX_SHOWN_CHARS
    for number, (heading, text) in enumerate(entries):
        if budget <= 0:
            rest = fmt.counted(len(entries) - number, "more part")
            st.caption(
                f"Showing the first {MAX_SHOWN_CHARS:,} characters; the rest ({rest}) is under "
                "“As stored” below."
            )
            break
        st.caption(escape_markdown(heading))
        st.code(text[:budget], language=None, wrap_lines=True)
        budget -= len(text)


def _show_content(value: str | None) -> None:
    if value is None or value in ("", "{}"):
        st.text(fmt.NOT_RECORDED if value is None else "empty")
        return
    text, cut = shown(pretty(value))
    st.code(text, language=None, wrap_lines=True)
    if cut:
        st.caption(f"Showing the first {MAX_SHOWN_CHARS:,} of {len(value):,} characters.")
