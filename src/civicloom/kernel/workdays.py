"""Working-day arithmetic for legal deadlines and SLAs.

A working day is one the calendar's ``is_working`` predicate accepts; without one, Monday to
Friday except ``holidays``. Holiday calendars (``catalogue.HolidayCalendar``) pass their own.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import date, datetime, timedelta

WorkingDay = Callable[[date], bool]


def _predicate(holidays: Collection[date], is_working: WorkingDay | None) -> WorkingDay:
    if is_working is not None:
        return is_working
    return lambda day: day.weekday() < 5 and day not in holidays


def add_working_days(
    start: datetime,
    days: int,
    holidays: Collection[date] = (),
    *,
    is_working: WorkingDay | None = None,
) -> datetime:
    """The moment ``days`` working days after ``start``.

    The time of day is kept; day 0 is ``start`` itself.
    """
    working = _predicate(holidays, is_working)
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if working(current.date()):
            remaining -= 1
    return current


def working_days_between(
    start: datetime,
    end: datetime,
    holidays: Collection[date] = (),
    *,
    is_working: WorkingDay | None = None,
) -> int:
    """Working days after ``start``'s date up to and including ``end``'s date (negative if
    ``end`` is earlier): how many working days an interval used up."""
    if end < start:
        return -working_days_between(end, start, holidays, is_working=is_working)
    working = _predicate(holidays, is_working)
    count = 0
    day = start.date()
    while day < end.date():
        day += timedelta(days=1)
        if working(day):
            count += 1
    return count
