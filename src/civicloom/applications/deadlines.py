"""Legal deadlines in working days of the blueprint's holiday calendar, and the clock that
stops while the applicant is asked for information (ADR 0039)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.applications.case import CaseContext
from civicloom.applications.tables import TaskRow
from civicloom.catalogue import CALENDARS, Blueprint, Calendars, HolidayCalendar
from civicloom.kernel import NotFound
from civicloom.runtime import lent

REMIND_AT_FRACTION = 0.75  # remind when three quarters of the step's time has passed


def remind_at(start: datetime, sla_due_at: datetime | None) -> datetime | None:
    """When a step activated at ``start`` and due at ``sla_due_at`` is reminded."""
    if sla_due_at is None:
        return None
    return start + (sla_due_at - start) * REMIND_AT_FRACTION


def case_calendar(session: AsyncSession, blueprint: Blueprint) -> HolidayCalendar:
    """The holiday calendar the blueprint counts working days in (the deployment's, lent to the
    unit of work by the container; Monday to Friday for a blueprint that names none)."""
    return lent(session, CALENDARS).of(blueprint.calendar)


def stop_clock(case: CaseContext, now: datetime) -> None:
    """The applicant is asked for information: the legal deadline (and the SLA of the steps
    that wait for the answer) stops running until they answer (``restart_clock``)."""
    if case.app.clock_stopped_at is None:
        case.app.clock_stopped_at = now


def restart_clock(
    session: AsyncSession, case: CaseContext, resumed: list[TaskRow], now: datetime
) -> None:
    """The applicant answered: the legal deadline, and the SLA of each step that waited for
    the answer, move on by the working days the clock stood still (by the time it stood still
    for an SLA counted in seconds), in the blueprint's calendar."""
    stopped = case.app.clock_stopped_at
    if stopped is None:
        return
    case.app.clock_stopped_at = None
    calendar = case_calendar(session, case.blueprint)
    paused = max(calendar.working_days_between(stopped, now), 0)
    if case.app.deadline_at is not None:
        case.app.deadline_at = calendar.add_working_days(case.app.deadline_at, paused)
    waited = max(now - stopped, timedelta(0))
    for task in resumed:
        if task.sla_due_at is None:
            continue
        sla = case.graph.steps[task.step_id].sla
        if sla is not None and sla.seconds is not None:
            task.sla_due_at += waited
            task.remind_at = task.remind_at + waited if task.remind_at else None
        else:
            task.sla_due_at = calendar.add_working_days(task.sla_due_at, paused)
            if task.remind_at is not None:
                task.remind_at = calendar.add_working_days(task.remind_at, paused)


@dataclass(frozen=True)
class DeadlineClock:
    """What the applicant and the officer are told about the legal deadline."""

    deadline: date
    working_days_left: int  # negative once the deadline has passed
    stopped_on: date | None  # the clock stands still since this day (waiting for the applicant)


def deadline_clock(
    calendar: HolidayCalendar,
    deadline_at: datetime | None,
    clock_stopped_at: datetime | None,
    now: datetime,
) -> DeadlineClock | None:
    """The deadline's state at ``now``; while the clock is stopped the days left do not run."""
    if deadline_at is None:
        return None
    counted_from = clock_stopped_at or now
    return DeadlineClock(
        deadline=deadline_at.date(),
        working_days_left=calendar.working_days_between(counted_from, deadline_at),
        stopped_on=clock_stopped_at.date() if clock_stopped_at else None,
    )


def clock_of(
    calendars: Calendars,
    blueprint: Blueprint | None,
    deadline_at: datetime | None,
    clock_stopped_at: datetime | None,
    now: datetime,
) -> DeadlineClock | None:
    """``deadline_clock`` in the blueprint's calendar, for a page; None when the application
    has no deadline or its calendar is gone (the page then shows the date alone)."""
    if blueprint is None:
        return None
    try:
        calendar = calendars.of(blueprint.calendar)
    except NotFound:
        return None
    return deadline_clock(calendar, deadline_at, clock_stopped_at, now)
