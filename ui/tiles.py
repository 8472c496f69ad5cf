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
