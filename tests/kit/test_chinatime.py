"""China time from stored UTC instants: the day turns at 16:00 UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from roadcert.kit import chinatime
from roadcert.kit.chinatime import china_date, china_time, iso_date


def test_the_day_and_time_in_china() -> None:
    late = datetime(2026, 11, 21, 15, 59, 30, tzinfo=UTC)
    assert china_date(late) == date(2026, 11, 21)
    assert china_date(datetime(2026, 11, 21, 16, 0, tzinfo=UTC)) == date(2026, 11, 22)
    assert china_time(late) == "2026-11-21 23:59"
    assert china_time(late, seconds=True) == "2026-11-21 23:59:30"
    assert china_time(None) == ""


def test_iso_date_writes_what_isoformat_writes_and_forgets_past_its_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(chinatime, "_ISO_DATES", {})
    monkeypatch.setattr(chinatime, "_ISO_DATES_LIMIT", 50)
    days = [date(1, 1, 1), date(9999, 12, 31)] + [
        date(1960, 2, 28) + timedelta(days=n) for n in range(120)
    ]
    for day in days + days:  # the second time from the table (what is left of it)
        assert iso_date(day) == day.isoformat()
    assert 0 < len(chinatime._ISO_DATES) <= 50
    # A datetime is a date too, and equal to none: it keeps its own form.
    moment = datetime(2026, 11, 22, 8, 30)
    assert iso_date(date(2026, 11, 22)) == "2026-11-22"
    assert iso_date(moment) == "2026-11-22T08:30:00"
