"""Working days in a holiday calendar, the deadline clock, and what the engine is lent
(ADR 0039). Every expected date is counted by hand on blueprints/calendars/riverton.yaml."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.applications import deadline_clock
from civicloom.catalogue import WEEKDAYS_ONLY, Calendars, DecisionCall, DecisionDay
from civicloom.kernel import FixedClock, NotFound, add_working_days, working_days_between
from civicloom.runtime import CLOCK, Key, NotWired, lent

BLUEPRINTS = Path(__file__).resolve().parents[2] / "blueprints"
RIVERTON = Calendars.from_directory(BLUEPRINTS).of("riverton")


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=UTC)


def test_working_days_skip_weekends_and_the_calendars_holidays() -> None:
    monday = at(date(2026, 12, 21))
    assert RIVERTON.add_working_days(monday, 20) == at(date(2027, 1, 20))
    assert WEEKDAYS_ONLY.add_working_days(monday, 20) == at(date(2027, 1, 18))
    assert RIVERTON.add_working_days(monday, 4) == at(date(2026, 12, 28))  # 25 Dec skipped
    assert RIVERTON.add_working_days(monday, 0) == monday
    # Spring Festival 2027: Sat 6 Feb and the observed Mon 8 Feb.
    assert RIVERTON.add_working_days(at(date(2027, 2, 5)), 1) == at(date(2027, 2, 9))


def test_working_days_between_counts_the_days_used_up() -> None:
    wednesday = at(date(2026, 12, 23), 11)
    assert RIVERTON.working_days_between(wednesday, at(date(2027, 1, 5), 11)) == 7
    assert RIVERTON.working_days_between(wednesday, at(date(2027, 1, 20))) == 18
    assert RIVERTON.working_days_between(at(date(2027, 1, 20)), wednesday) == -18
    assert RIVERTON.working_days_between(wednesday, at(date(2026, 12, 23), 17)) == 0
    assert RIVERTON.working_days_between(wednesday, at(date(2026, 12, 25))) == 1  # 24 Dec


def test_the_kernel_counts_monday_to_friday_with_given_holidays() -> None:
    thursday = at(date(2026, 12, 31))
    assert add_working_days(thursday, 1) == at(date(2027, 1, 1))
    assert add_working_days(thursday, 1, [date(2027, 1, 1)]) == at(date(2027, 1, 4))
    assert working_days_between(thursday, at(date(2027, 1, 4)), [date(2027, 1, 1)]) == 1


def test_an_unknown_calendar_is_not_silently_weekdays_only() -> None:
    calendars = Calendars.from_directory(BLUEPRINTS)
    assert calendars.of(None) is WEEKDAYS_ONLY
    with pytest.raises(NotFound, match="atlantis"):
        calendars.of("atlantis")


def test_the_deadline_clock_stands_still_while_stopped() -> None:
    deadline = at(date(2027, 1, 20))
    running = deadline_clock(RIVERTON, deadline, None, at(date(2027, 1, 5), 11))
    assert running is not None
    assert (running.working_days_left, running.stopped_on) == (11, None)
    stopped = deadline_clock(
        RIVERTON, deadline, at(date(2026, 12, 23), 11), at(date(2027, 1, 5), 11)
    )
    assert stopped is not None
    assert (stopped.working_days_left, stopped.stopped_on) == (18, date(2026, 12, 23))
    late = deadline_clock(RIVERTON, deadline, None, at(date(2027, 1, 22)))
    assert late is not None
    assert late.working_days_left == -2
    assert deadline_clock(RIVERTON, None, None, deadline) is None


def test_a_decision_is_taken_on_the_submission_date_unless_the_blueprint_says_otherwise() -> None:
    call = DecisionCall.model_validate({"model": "local-admin/licence-fee"})
    assert call.on is DecisionDay.SUBMISSION
    assert "on" not in call.model_dump(exclude_unset=True)  # stored blueprints hash the same
    later = DecisionCall.model_validate({"model": "local-admin/licence-fee", "on": "decision"})
    assert later.on is DecisionDay.DECISION
    with pytest.raises(ValueError, match="on"):
        DecisionCall.model_validate({"model": "local-admin/licence-fee", "on": "today"})


def test_only_a_containers_unit_of_work_lends_components() -> None:
    bare = AsyncSession()
    with pytest.raises(NotWired, match="clock"):
        lent(bare, CLOCK)
    clock = FixedClock(at(date(2027, 1, 5)))
    bare.info["civicloom.lent"] = {CLOCK: clock}
    assert lent(bare, CLOCK) is clock
    with pytest.raises(NotWired, match="other"):
        lent(bare, Key[str]("other"))
