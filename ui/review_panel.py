"""The review panel of the Trajectory page: a reviewer's verdict and comment on a run.

Reviews are append-only (store/reviews.py): two reviewers writing at once each add a row,
and an edit adds a version that supersedes the old one, so history is never lost. The
author is the signed-in user, or the name this browser gave once (ui/access.py). Comments
are untrusted text and are shown as text.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from store.reviews import (
    MAX_AUTHOR,
    MAX_COMMENT,
    MAX_LABEL,
    VERDICT_LABELS,
    ReviewError,
    ReviewInput,
    StaleEdit,
    add_review,
    check_length,
    edit_review,
    review_history,
)
from ui import format as fmt
from ui.access import remember_reviewer, reviewer_name, signed_in_author
from ui.db import connection
from ui.names import review_verdict_names
from ui.text import escape_markdown, markdown_link, page_href, short_id

CUSTOM = "__custom__"
VERDICT_CHOICES = [*VERDICT_LABELS, CUSTOM]
# a typed label that names a verdict (by its name or key, in any case) is that verdict
BUILT_IN_BY_NAME = {name.casefold(): key for key, name in VERDICT_LABELS.items()} | {
    key.casefold(): key for key in VERDICT_LABELS
}


def verdict_label(verdict: str | None) -> str:
    if verdict is None:
        return "no verdict"
    return VERDICT_LABELS.get(verdict, verdict)


def _choice_label(choice: str | None) -> str:
    return "Custom label…" if choice == CUSTOM else verdict_label(choice)


def chosen_verdict(choice: str | None, custom: str) -> str | None:
    """The stored verdict: the one chosen, else the label typed (with "Custom label…" or no
    verdict chosen: a typed label is meant), as the built-in verdict it may name."""
    typed = custom.strip()
    if choice not in (CUSTOM, None):
        if typed and BUILT_IN_BY_NAME.get(typed.casefold()) != choice:
            raise ReviewError(
                f"both the verdict “{verdict_label(choice)}” and the label “{typed}” are given: "
                "choose “Custom label…” to use the label, or clear it"
            )
        return choice
    if not typed:
        if choice == CUSTOM:
            raise ReviewError("type the custom label, or choose another verdict")
        return None
    return BUILT_IN_BY_NAME.get(typed.casefold(), typed)


def show_review_panel(
    trace_id: str, reviews: pl.DataFrame, span_id: str | None, span_names: dict[str, str]
) -> None:
    """The `reviews` (`current_reviews`) of one run; `span_id` is the inspected span a new
    review may be pinned to, `span_names` labels pinned spans ("turn 5", "9. tool · …")."""
    author = _reviewer()
    _show_notices()
    st.markdown(f"**{reviews.height} review{'s' if reviews.height != 1 else ''}**")
    for review in reviews.iter_rows(named=True):
        _show_review(review, author, span_names)
    if author:
        _new_review_form(trace_id, span_id, author, span_names)


PINNED_PREVIEW = 300  # characters of a pinned comment shown beside its span
# No `max_chars` on any field: the browser then drops a paste that would pass it, without a
# word; the store refuses a longer text with a message, and the text stays in the form to trim.
COMMENT_HELP = f"At most {MAX_COMMENT:,} characters."


def show_pinned_reviews(reviews: pl.DataFrame, span_id: str) -> None:
    """Those of a run's `reviews` pinned to one span, where the span is inspected (each
    whole in the review panel)."""
    for review in reviews.filter(pl.col("span_id") == span_id).iter_rows(named=True):
        with st.container(border=True):
            st.markdown(
                f":material/push_pin: **{escape_markdown(verdict_label(review['verdict']))}** "
                f"· by {escape_markdown(review['author'])} · {fmt.minute(review['created_at'])}"
            )
            comment = review["comment"] or ""
            if comment:
                cut = len(comment) > PINNED_PREVIEW
                st.text(comment[:PINNED_PREVIEW] + ("… (whole in Reviews below)" if cut else ""))


def _show_notices() -> None:
    if error := st.session_state.pop("review_error", None):
        st.error(error)
    if notice := st.session_state.pop("review_notice", None):
        st.success(notice)


def _reviewer() -> str | None:
    if name := st.session_state.pop("reviewer_to_remember", None):
        remember_reviewer(name)  # top level: its cookie script must be mounted to run
    author = reviewer_name()
    if signed_in_author():
        st.caption(f"Reviewing as {escape_markdown(author)} (signed in).")
        return author
    if author:
        st.caption(f"Reviewing as {escape_markdown(author)}.")
        with st.popover("Change name"):
            _name_form("change")
        return author
    st.info("Enter your name once to add reviews; this browser remembers it.")
    _name_form("first")
    return None


def _name_form(form: str) -> None:
    key = f"reviewer_name_{form}"
    with st.form(f"{key}_form"):
        st.text_input("Your name", key=key, help=f"At most {MAX_AUTHOR} characters.")
        st.form_submit_button("Save name", on_click=_save_name, args=(key,))


def _save_name(key: str) -> None:
    name = (st.session_state.get(key) or "").strip()
    try:
        check_length("a name", name, MAX_AUTHOR)
    except ReviewError as error:
        st.session_state["review_error"] = str(error)
        return
    if name:
        st.session_state["reviewer_name"] = name
        st.session_state["reviewer_to_remember"] = name


def _show_review(review: dict[str, Any], author: str | None, names: dict[str, str]) -> None:
    with st.container(border=True, key=f"review_{review['review_id']}"):
        st.markdown(_review_heading(review, names))
        if review["comment"]:
            st.text(review["comment"])
        if st.session_state.get("editing_review") == review["review_id"]:
            _edit_form(review, author)
            return
        if author and review["author"] == author:
            st.button(
                "Edit",
                key=f"edit_{review['review_id']}",
                on_click=st.session_state.__setitem__,
                args=("editing_review", review["review_id"]),
            )
        if review["edited"]:
            with st.expander("History"):
                _show_history(review["review_id"])


def _review_heading(review: dict[str, Any], names: dict[str, str]) -> str:
    """Verdict · author · when it was first written (reviews keep that order) · its span ·
    when it was last edited."""
    parts = [
        f"**{escape_markdown(verdict_label(review['verdict']))}**",
        f"by {escape_markdown(review['author'])}",
        fmt.minute(review["first_created_at"]),
    ]
    if review["span_id"]:
        href = page_href("trajectory", trace=review["trace_id"], span=review["span_id"])
        label = names.get(review["span_id"]) or short_id(review["span_id"])
        parts.append("on " + markdown_link(label, href))
    if review["edited"]:
        parts.append(f"*edited {fmt.minute(review['created_at'])}*")
    return " · ".join(parts)


def _show_history(review_id: str) -> None:
    history = review_history(connection(), review_id)
    st.caption("Every version, newest first:")
    st.dataframe(
        history.select("created_at", "author", review_verdict_names(), "comment"),
        hide_index=True,
        width="stretch",
        column_config={
            "created_at": st.column_config.DatetimeColumn("When (UTC)", width="small"),
            "author": st.column_config.TextColumn("Author", width="small"),
            "verdict": st.column_config.TextColumn("Verdict", width="small"),
            "comment": st.column_config.TextColumn("Comment", width="large"),
        },
        placeholder=fmt.MISSING_CELL,
    )


def _verdict_inputs(prefix: str, current: str | None = None) -> None:
    """The verdict choice and custom label, showing `current`, or what the state holds for
    them (a form reset after adding, or an edit moved to a newer version)."""
    known = current is None or current in VERDICT_LABELS
    choice = CUSTOM if not known else current
    st.selectbox(
        "Verdict",
        VERDICT_CHOICES,
        format_func=_choice_label,
        placeholder="No verdict (comment only)",
        key=f"{prefix}_verdict",
        **_unless_held(
            f"{prefix}_verdict", index=None if choice is None else VERDICT_CHOICES.index(choice)
        ),
    )
    st.text_input(
        "Custom label (when the verdict is “Custom label…” or none is chosen)",
        help=f"At most {MAX_LABEL} characters.",
        key=f"{prefix}_custom",
        **_unless_held(f"{prefix}_custom", value="" if known else current),
    )


def _unless_held(key: str, **initial) -> dict:
    """A widget's initial value, unless the session state already holds one for `key`
    (Streamlit warns when both are given)."""
    return {} if key in st.session_state else initial


def _form_values(prefix: str) -> tuple[str | None, str | None]:
    state = st.session_state
    verdict = chosen_verdict(state[f"{prefix}_verdict"], state[f"{prefix}_custom"] or "")
    return verdict, state[f"{prefix}_comment"]


def _new_review_form(
    trace_id: str, span_id: str | None, author: str, names: dict[str, str]
) -> None:
    with st.form("new_review"):
        st.markdown("**Add a review**")
        _verdict_inputs("new_review")
        st.text_area("Comment", key="new_review_comment", help=COMMENT_HELP)
        if span_id:
            label = names.get(span_id) or short_id(span_id)
            st.checkbox(
                f"Pin to the inspected span ({escape_markdown(label)})", key="new_review_pin"
            )
        st.form_submit_button(
            "Add review", type="primary", on_click=_add, args=(trace_id, span_id, author)
        )


def _add(trace_id: str, span_id: str | None, author: str) -> None:
    state = st.session_state
    try:
        verdict, comment = _form_values("new_review")
        pinned = span_id if span_id and state.get("new_review_pin") else None
        add_review(connection(), ReviewInput(trace_id, author, verdict, comment, pinned))
    except ReviewError as error:
        state["review_error"] = str(error)
        return
    state["review_notice"] = "Review added."
    state["new_review_verdict"], state["new_review_custom"] = None, ""
    state["new_review_comment"], state["new_review_pin"] = "", False


def _edit_form(review: dict[str, Any], author: str | None) -> None:
    prefix = f"edit_{review['review_id']}"
    if error := st.session_state.pop("edit_error", None):
        st.error(error)  # beside the form it is about, not at the top of the reviews
    with st.form(prefix):
        _verdict_inputs(prefix, review["verdict"])
        key = f"{prefix}_comment"
        st.text_area(
            "Comment",
            key=key,
            help=COMMENT_HELP,
            **_unless_held(key, value=review["comment"] or ""),
        )
        save, cancel = st.columns(2)
        save.form_submit_button(
            "Save", type="primary", on_click=_save_edit, args=(review["review_id"], author)
        )
        cancel.form_submit_button(
            "Cancel", on_click=st.session_state.pop, args=("editing_review", None)
        )


def _save_edit(review_id: str, author: str | None) -> None:
    state = st.session_state
    try:
        verdict, comment = _form_values(f"edit_{review_id}")
        edit_review(connection(), review_id, author or "", verdict, comment)
    except StaleEdit as stale:
        _move_edit(review_id, stale.latest_id)
        return
    except ReviewError as error:
        state["review_error"] = str(error)
        return
    state.pop("editing_review", None)
    state["review_notice"] = "Review updated; the earlier version is kept in its history."


def _move_edit(stale_id: str, latest_id: str) -> None:
    """Another tab saved this review first: edit its latest version, the text typed here kept."""
    state = st.session_state
    for field in ("verdict", "custom", "comment"):
        state[f"edit_{latest_id}_{field}"] = state.get(f"edit_{stale_id}_{field}")
    state["editing_review"] = latest_id
    state["edit_error"] = (
        "This review was saved elsewhere (another tab or window) while you edited it: its "
        "latest version is shown, and your text is still in the form. Save again to replace "
        "that version, or Cancel to keep it."
    )
