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


#: ``date.isoformat`` results by date, for ``iso_date``; cleared when it grows past the limit.
_ISO_DATES: dict[date, str] = {}
_ISO_DATES_LIMIT = 100_000


def iso_date(day: date) -> str:
    """``day.isoformat()``, remembered.

    CPython formats a date through ``PyUnicode_FromFormat`` and three C ``sprintf`` calls, about
    3,000 instructions; an e-cert's face and metadata write ten or so dates, and a million e-certs
    use a few thousand distinct ones (bench/instructions.py: ``isoformat`` took 6 % of the
    instructions of a practitioner's e-cert besides signing).
    """
    text = _ISO_DATES.get(day)
    if text is None:
        if len(_ISO_DATES) >= _ISO_DATES_LIMIT:
            _ISO_DATES.clear()
        text = _ISO_DATES[day] = day.isoformat()
    return text
