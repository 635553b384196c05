"""China time from stored UTC instants: the day turns at 16:00 UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime

from roadcert.kit.chinatime import china_date, china_time


def test_the_day_and_time_in_china() -> None:
    late = datetime(2026, 11, 21, 15, 59, 30, tzinfo=UTC)
    assert china_date(late) == date(2026, 11, 21)
    assert china_date(datetime(2026, 11, 21, 16, 0, tzinfo=UTC)) == date(2026, 11, 22)
    assert china_time(late) == "2026-11-21 23:59"
    assert china_time(late, seconds=True) == "2026-11-21 23:59:30"
    assert china_time(None) == ""
