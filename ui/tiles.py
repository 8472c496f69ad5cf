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
    """Dollars as `fmt.fine_usd` writes them, except an amount under $0.00005: a tile has
    room for "$0.0002" but cut "<$0.0001" to "<$0.0…", so it reads "≈ $0" and its help
    gives the amount."""
    value = fmt.fine_usd(amount)
    if amount is not None and 0 < abs(amount) < 0.00005:
        value = "≈ $0"
        exact = f"{'-' if amount < 0 else ''}${abs(amount):.10f}".rstrip("0")
        kw["help"] = f"{exact}. {kw['help']}" if kw.get("help") else f"{exact}."
    tile(container, label, value, delta, **kw)
