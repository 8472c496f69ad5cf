"""Numbers as people read them, with units, and "not recorded" for unknowns — never 0."""

from __future__ import annotations

import math

NOT_RECORDED = "not recorded"
VERDICT_NAMES = {  # the computed verdicts (analysis/verdicts.py), as tables and charts name them
    "escalation_needed": "Escalation needed",
    "escalation_premature": "Premature escalation",
    "escalation_futile": "Futile escalation",
    "large_needed": "Larger model needed",
    "over_provisioned": "Over-provisioned",
    "small_sufficient": "Small model sufficient",
    "undetermined": "Undetermined",
}
MISSING_CELL = "—"  # what a table cell shows for an unknown value (Streamlit's default: "None")


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def minute(moment) -> str:
    """A UTC timestamp to the minute, as reviews and reports date things."""
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def duration(ms: float | None) -> str:
    if _missing(ms):
        return NOT_RECORDED
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 59_950:  # below, one decimal of a second never rounds up to "60.0 s"
        return f"{ms / 1000:.1f} s"
    minutes, seconds = divmod(round(ms / 1000), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(round(ms / 60_000), 60)
    return f"{hours} h {minutes} min"


def short_duration(ms: float | None) -> str:
    """A duration for a tile, as short as "58.2 s": "1.9 min", "2.3 h"."""
    if _missing(ms) or ms < 59_950:
        return duration(ms)
    return f"{ms / 60_000:.1f} min" if ms < 3_597_000 else f"{ms / 3_600_000:.1f} h"


def tokens(count: float | None) -> str:
    return NOT_RECORDED if _missing(count) else f"{compact(count)} tokens"


def compact(count: float | None) -> str:
    """A large count in few characters (1.78M, 45.2k), for metric tiles whose label names the unit."""
    if _missing(count):
        return NOT_RECORDED
    if count >= 1_000_000:
        return f"{count / 1_000_000:.2f}M"
    if count >= 10_000:
        return f"{count / 1000:.1f}k"
    return f"{count:,.0f}"


def usd(amount: float | None) -> str:
    if _missing(amount):
        return NOT_RECORDED
    if amount < 0:  # a saving: -$0.0410, not $-0.0410
        return f"-{usd(-amount)}"
    if 0 < amount < 0.00005:  # would print as $0.0000, which reads as nothing
        return "<$0.0001"
    if 0 < amount < 0.01:
        return f"${amount:.4f}"
    return f"${amount:,.2f}"


def fine_usd(amount: float | None) -> str:
    """Dollars with 4 decimals below $1: a run's turns, or a task, cost fractions of a cent,
    and tables print them with 4 (`$%.4f`), so a sentence beside one says the same amount."""
    if _missing(amount) or abs(amount) >= 1 or 0 < abs(amount) < 0.00005:
        return usd(amount)  # whole dollars, or "<$0.0001" for what would print as $0.0000
    return f"{'-' if amount < 0 else ''}${abs(amount):.4f}"


def percent(fraction: float | None, places: int = 0) -> str:
    if _missing(fraction):
        return NOT_RECORDED
    return f"{fraction * 100:.{places}f}%"


def count(value: float | None) -> str:
    if _missing(value):
        return NOT_RECORDED
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def counted(number: int, one: str, many: str | None = None) -> str:
    """`1 span`, `2 spans`, `1 trajectory`, `3 trajectories` (pass `many` when not one + s)."""
    return f"{number:,} {one if number == 1 else many or one + 's'}"


# Plotly axes of dollars: "$0.0008", never plotly's SI default ("800μ", read as micro-something).
USD_AXIS = {"tickprefix": "$", "exponentformat": "none", "separatethousands": True}
