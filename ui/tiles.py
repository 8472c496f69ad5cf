"""Metric tiles. An unknown value shows as a dash, with "not recorded" on hover: the words
are cut to "not reco…" in a row of five or six tiles, and a dash is what tables show."""

from __future__ import annotations

from typing import Any

from ui import format as fmt


def tile(container: Any, label: str, value: str, delta: str | None = None, **kw: Any) -> None:
    if value == fmt.NOT_RECORDED:
        value = fmt.MISSING_CELL
        kw["help"] = f"Not recorded. {kw['help']}" if kw.get("help") else "Not recorded."
    container.metric(label, value, delta, **kw)


def usd_tile(
    container: Any, label: str, amount: float | None, delta: str | None = None, **kw: Any
) -> None:
    """Dollars as `fmt.fine_usd` writes them, but in the room a tile has ("$0.0002" or
    "$947.16"): from $1,000 whole dollars, and under $0.00005 "≈ $0" ("<$0.0001" was cut to
    "<$0.0…"), the amount itself in the help."""
    value, exact = fmt.fine_usd(amount), None
    if amount is not None and abs(amount) >= 1000:  # "$1,261.67" was cut to "$1,26…" at 1280 px
        value, exact = f"{'-' if amount < 0 else ''}${abs(amount):,.0f}", fmt.usd(amount)
    elif amount is not None and 0 < abs(amount) < 0.00005:
        value, exact = "≈ $0", f"{'-' if amount < 0 else ''}${abs(amount):.10f}".rstrip("0")
    if exact is not None:
        kw["help"] = f"{exact}. {kw['help']}" if kw.get("help") else f"{exact}."
    tile(container, label, value, delta, **kw)
