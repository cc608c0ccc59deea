"""Holiday calendars (``blueprints/calendars/<id>.yaml``) and working-day deadlines."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from civicloom.kernel import (
    FieldError,
    NotFound,
    ValidationFailed,
    add_working_days,
    working_days_between,
)
from civicloom.runtime import Key

_WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class Holiday(BaseModel):
    """A public holiday."""

    date: date
    name: str


class HolidayCalendar(BaseModel):
    """Which days are not working days for a legal deadline."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    weekend: list[str] = Field(default_factory=lambda: ["sat", "sun"])
    holidays: list[Holiday] = Field(default_factory=list)

    def is_working_day(self, day: date) -> bool:
        """Neither a weekend day nor a holiday."""
        if _WEEKDAYS[day.weekday()] in self.weekend:
            return False
        return all(h.date != day for h in self.holidays)

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The moment ``days`` working days after ``start`` (time of day kept)."""
        return add_working_days(start, days, is_working=self.is_working_day)

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """Working days after ``start``'s date up to and including ``end``'s date."""
        return working_days_between(start, end, is_working=self.is_working_day)


WEEKDAYS_ONLY = HolidayCalendar(id="weekdays", name="Monday to Friday, no holidays")
"""The calendar of a blueprint version stored without one."""


class Calendars:
    """Every holiday calendar of the deployment, by id (loaded once by the composition root)."""

    def __init__(self, calendars: Iterable[HolidayCalendar]) -> None:
        self._by_id = {c.id: c for c in calendars}

    @classmethod
    def from_directory(cls, blueprints_dir: Path) -> Calendars:
        """Every ``blueprints/calendars/*.yaml`` (ValidationFailed names a broken file)."""
        folder = blueprints_dir / "calendars"
        files = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
        return cls(load_calendar(blueprints_dir, f.stem) for f in files)

    def ids(self) -> list[str]:
        """The calendars' ids."""
        return sorted(self._by_id)

    def of(self, calendar_id: str | None) -> HolidayCalendar:
        """The calendar a blueprint names; Monday to Friday when it names none.

        NotFound when it names one the deployment does not have (publishing refuses that, so
        only a calendar file removed after publishing gets here): a deadline is never counted
        on the wrong days.
        """
        if calendar_id is None:
            return WEEKDAYS_ONLY
        try:
            return self._by_id[calendar_id]
        except KeyError:
            raise NotFound(f"no holiday calendar {calendar_id!r}") from None


CALENDARS: Key[Calendars] = Key("holiday calendars")
"""The deployment's holiday calendars, loaded once by the composition root."""


def load_calendar(blueprints_dir: Path, calendar_id: str) -> HolidayCalendar:
    """Read one calendar; NotFound if there is no such file."""
    path = blueprints_dir / "calendars" / f"{calendar_id}.yaml"
    if not path.exists():
        raise NotFound(f"no holiday calendar {calendar_id!r} ({path})")
    try:
        return HolidayCalendar.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (yaml.YAMLError, ValidationError) as exc:
        raise ValidationFailed([FieldError(str(path), "calendar", str(exc))]) from exc
