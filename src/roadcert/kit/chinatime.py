"""Times as people in China read them: stored instants are UTC, pages and dates are UTC+8.

China has one time zone and no daylight saving, so a fixed offset is exact.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

CHINA_OFFSET = timedelta(hours=8)


def china_date(moment: datetime) -> date:
    """The calendar day in China at ``moment`` (validity days are China days)."""
    return (moment + CHINA_OFFSET).date()


def china_time(moment: datetime | None, *, seconds: bool = False) -> str:
    """``2026-11-21 23:49`` (or with seconds) in Beijing time; empty for None."""
    if moment is None:
        return ""
    return f"{moment + CHINA_OFFSET:%Y-%m-%d %H:%M{':%S' if seconds else ''}}"
