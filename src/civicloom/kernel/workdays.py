"""Working-day arithmetic for legal deadlines and SLAs."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, timedelta


def add_working_days(start: datetime, days: int, holidays: Collection[date] = ()) -> datetime:
    """The moment ``days`` working days (Mon–Fri, not a holiday) after ``start``.

    The time of day is kept; day 0 is ``start`` itself.
    """
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5 and current.date() not in holidays:
            remaining -= 1
    return current


def working_days_between(start: datetime, end: datetime, holidays: Collection[date] = ()) -> int:
    """Whole working days from ``start`` to ``end`` (negative if ``end`` is earlier)."""
    if end < start:
        return -working_days_between(end, start, holidays)
    count = 0
    day = start.date()
    while day < end.date():
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in holidays:
            count += 1
    return count
