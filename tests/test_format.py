"""ui.format: durations that round once, and dollars: unknown says so, amounts below $1 can
keep the 4 decimals the tables print, and a negative amount (a saving, e.g. an escalation's
extra cost below zero) puts its sign before the dollar sign."""

from __future__ import annotations

import pytest

from ui import format as fmt


def test_dollars_read_as_people_write_them():
    assert [fmt.usd(v) for v in (None, 0.0, 0.00001, 0.0049, 0.25, 1234.5, -0.041, -12.5)] == [
        "not recorded", "$0.00", "<$0.0001", "$0.0049", "$0.25", "$1,234.50", "-$0.04", "-$12.50",
    ]  # fmt: skip
    assert [fmt.fine_usd(v) for v in (None, 0.0, 0.0000054, 0.25, 3.5, -0.041, -3.5)] == [
        "not recorded", "$0.0000", "<$0.0001", "$0.2500", "$3.50", "-$0.0410", "-$3.50",
    ]  # fmt: skip


def test_signed_dollars_round_to_the_places_shown_without_a_negative_zero():
    import math

    import polars as pl

    from ui.fleet_common import signed_usd_values

    frame = pl.DataFrame({"gap": [-1.26e-7, -0.0000512, 0.0000049, -0.041049]})
    shown = frame.select(signed_usd_values("gap", 5))["gap"].to_list()
    assert shown == [0.0, -0.00005, 0.0, -0.04105]
    assert math.copysign(1.0, shown[0]) == 1.0  # "$0.00000", not "-$0.00000"


@pytest.mark.parametrize(
    ("ms", "text", "short"),
    [
        (950, "950 ms", "950 ms"),
        (58_240, "58.2 s", "58.2 s"),
        (59_960, "1 min 0 s", "1.0 min"),  # not "60.0 s"
        (112_000, "1 min 52 s", "1.9 min"),
        (119_600, "2 min 0 s", "2.0 min"),  # not "1 min 60 s"
        (3_700_000, "1 h 2 min", "1.0 h"),
        (None, fmt.NOT_RECORDED, fmt.NOT_RECORDED),
    ],
)
def test_durations_round_once_and_tiles_get_the_short_form(ms, text, short):
    assert (fmt.duration(ms), fmt.short_duration(ms)) == (text, short)
