"""ui.format's dollars: unknown says so, amounts below $1 can keep the 4 decimals the tables
print, and a negative amount (a saving, e.g. an escalation's extra cost below zero) puts its
sign before the dollar sign."""

from __future__ import annotations

from ui import format as fmt


def test_dollars_read_as_people_write_them():
    assert [fmt.usd(v) for v in (None, 0.0, 0.00001, 0.0049, 0.25, 1234.5, -0.041, -12.5)] == [
        "not recorded", "$0.00", "<$0.0001", "$0.0049", "$0.25", "$1,234.50", "-$0.04", "-$12.50",
    ]  # fmt: skip
    assert [fmt.fine_usd(v) for v in (None, 0.25, 3.5, -0.041, -3.5)] == [
        "not recorded", "$0.2500", "$3.50", "-$0.0410", "-$3.50",
    ]  # fmt: skip


def test_signed_dollars_round_to_the_places_shown_without_a_negative_zero():
    import math

    import polars as pl

    from ui.fleet_common import signed_usd_values

    frame = pl.DataFrame({"gap": [-1.26e-7, -0.0000512, 0.0000049, -0.041049]})
    shown = frame.select(signed_usd_values("gap", 5))["gap"].to_list()
    assert shown == [0.0, -0.00005, 0.0, -0.04105]
    assert math.copysign(1.0, shown[0]) == 1.0  # "$0.00000", not "-$0.00000"
