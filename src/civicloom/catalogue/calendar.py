"""Holiday calendars (``blueprints/calendars/<id>.yaml``) and working-day deadlines."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from civicloom.kernel import FieldError, NotFound, ValidationFailed

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
        current, remaining = start, days
        while remaining > 0:
            current += timedelta(days=1)
            if self.is_working_day(current.date()):
                remaining -= 1
        return current


def load_calendar(blueprints_dir: Path, calendar_id: str) -> HolidayCalendar:
    """Read one calendar; NotFound if there is no such file."""
    path = blueprints_dir / "calendars" / f"{calendar_id}.yaml"
    if not path.exists():
        raise NotFound(f"no holiday calendar {calendar_id!r} ({path})")
    try:
        return HolidayCalendar.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (yaml.YAMLError, ValidationError) as exc:
        raise ValidationFailed([FieldError(str(path), "calendar", str(exc))]) from exc
