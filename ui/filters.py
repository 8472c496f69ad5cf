"""The sidebar filters every page shares, bound to the URL so a link carries them.

They are drawn in the entrypoint (app.py), which keeps their values while moving between
pages; pages read them with `current_filter()`. A bound selectbox stores its displayed
label in the URL, so the labels here are the values themselves: verdicts are offered by
name and read back to their keys.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import streamlit as st

from analysis.filters import TrajectoryFilter
from analysis.queries import FilterChoices, filter_choices
from ui.db import connection, data_version
from ui.format import VERDICT_NAMES
from ui.text import escape_markdown

SELECT_FILTERS = (  # (URL key, label, FilterChoices field)
    ("agent", "Agent", "agents"),
    ("model", "Model", "models"),
    ("outcome", "Outcome", "outcomes"),
    ("verdict", "Verdict", "verdicts"),
    ("source", "Source", "sources"),
    ("upload", "Upload", "uploads"),
)
# Options shown (and put in the URL) by name; a link with the key still works.
OPTION_NAMES = {"verdict": VERDICT_NAMES}
OPTION_KEYS = {key: {name: k for k, name in names.items()} for key, names in OPTION_NAMES.items()}
TEXT_FILTERS = (("session", "Session id"), ("task", "Task key"))
DATE_FILTERS = (("since", "From (UTC)"), ("until", "Until (UTC, inclusive)"))
FILTER_KEYS = tuple(k for k, *_ in SELECT_FILTERS + TEXT_FILTERS + DATE_FILTERS)
FILTER_LABELS = {key: label for key, label, *_ in SELECT_FILTERS + TEXT_FILTERS + DATE_FILTERS}
UPLOAD_SEPARATOR = " · "


@st.cache_data(max_entries=8)
def _choices(version: str) -> FilterChoices:
    return filter_choices(connection())


def _options(choices: FilterChoices, key: str, field: str) -> list[str]:
    names = OPTION_NAMES.get(key, {})
    return [names.get(value, value) for value in getattr(choices, field)]


def show_sidebar_filters() -> None:
    choices = _choices(data_version())
    for key, names in OPTION_NAMES.items():  # a link made before options had names
        if (value := st.query_params.get(key)) in names:
            st.query_params[key] = st.session_state[key] = names[value]
    # read before the widgets: a bound selectbox drops a URL value that is not one of its
    # options, and a shared link would then show every run as if it were the filtered view
    ignored = [
        f"filters on {label.lower()} “{escape_markdown(value, 80)}”, which no trajectory in "
        "this store has"
        for key, label, field in SELECT_FILTERS
        if (value := st.query_params.get(key)) and value not in _options(choices, key, field)
    ] + [
        f"gives “{escape_markdown(value, 80)}” as {label}, which is not a date (YYYY-MM-DD)"
        for key, label in DATE_FILTERS
        if (value := st.query_params.get(key)) and not _is_date(value)
    ]
    odd = _repeated_filters() + _reversed_dates()
    with st.sidebar.expander("Filters", expanded=any(st.query_params.get(k) for k in FILTER_KEYS)):
        for key, label, field in SELECT_FILTERS:
            st.selectbox(
                label,
                _options(choices, key, field),
                index=None,
                placeholder="All",
                key=key,
                bind="query-params",
            )
        for key, label in TEXT_FILTERS:
            st.text_input(label, key=key, bind="query-params", placeholder="exact match")
        for key, label in DATE_FILTERS:
            st.date_input(label, value=None, key=key, bind="query-params")
        if any(st.session_state.get(k) for k in FILTER_KEYS):
            st.button("Clear filters", on_click=_clear)
    for problem in ignored:
        st.warning(
            f"This link {problem}: that filter is not applied.", icon=":material/filter_alt_off:"
        )
    for problem in odd:
        st.warning(f"This link {problem}.", icon=":material/filter_alt:")


def _repeated_filters() -> list[str]:
    """A filter given twice: the sidebar applies the last value, and says so."""
    notes = []
    for key, label in FILTER_LABELS.items():
        if len(values := st.query_params.get_all(key)) > 1:
            given = ", ".join(f"“{escape_markdown(value, 40)}”" for value in values)
            notes.append(
                f"gives {label} {len(values)} times ({given}); a filter takes one value, and "
                f"“{escape_markdown(values[-1], 40)}” is applied"
            )
    return notes


def _reversed_dates() -> list[str]:
    since, until = (st.query_params.get(key) for key, _ in DATE_FILTERS)
    if since and until and _is_date(since) and _is_date(until) and since > until:
        return [
            f"gives {escape_markdown(since)} as its first day and {escape_markdown(until)} as "
            "its last: no run can match both"
        ]
    return []


def warn_if_not_offered(key: str, label: str, options) -> None:
    """Say so when a link gives a page control (bound to `key`) a value it does not offer:
    Streamlit drops it, and a colleague would see another view with no notice. Call it
    before the control is drawn."""
    value = st.query_params.get(key)
    if value and value not in {str(option) for option in options}:
        st.warning(
            f"This link gives “{escape_markdown(value, 80)}” as {label}, which this page does "
            "not offer: that setting is not applied.",
            icon=":material/link_off:",
        )


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _clear() -> None:
    for key in FILTER_KEYS:
        st.session_state[key] = None if key not in dict(TEXT_FILTERS) else ""


def current_filter() -> TrajectoryFilter:
    """The filter the sidebar shows, as the analysis layer takes it."""
    state = st.session_state
    upload = state.get("upload")
    return TrajectoryFilter(
        agent=state.get("agent"),
        model=state.get("model"),
        outcome=state.get("outcome"),
        verdict=OPTION_KEYS["verdict"].get(state.get("verdict"), state.get("verdict")),
        source=state.get("source"),
        upload=upload.rsplit(UPLOAD_SEPARATOR, 1)[-1] if upload else None,
        session=(state.get("session") or "").strip() or None,
        task=(state.get("task") or "").strip() or None,
        since=_day_start(state.get("since")),
        until=_day_start(state.get("until"), plus_days=1),
    )


def _day_start(day: date | None, plus_days: int = 0) -> datetime | None:
    if day is None:
        return None
    return datetime.combine(day + timedelta(days=plus_days), time.min, tzinfo=UTC)
