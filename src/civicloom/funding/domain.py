"""Meters, tariffs (one file per financial year in ``blueprints/tariffs/``) and statements.

Pure: ``services`` reads the fact table and hands the sums here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from civicloom.kernel import FieldError, NotFound, ValidationFailed

UNATTRIBUTED = "platform"  # messages about no application: the centre's own cost


class Meter(StrEnum):
    """What the platform counts per department, service and day."""

    APPLICATIONS = "applications"  # applications submitted (owning department)
    STEPS = "steps"  # other steps completed: automated, timers, licences (the step's department)
    OFFICER_TASKS = "officer-tasks"  # officer reviews completed (the step's department)
    EMAIL = "email"
    SMS = "sms"
    PORTAL = "portal"  # messages to the portal inbox
    PAYMENTS = "payments"  # payment steps completed (quantity) and the fees they took (amount)
    # ADR 0040, "The remaining meters":
    APPLICATIONS_HANDLED = "applications-handled"  # per department with a step, its first day
    OFFICER_MINUTES = "officer-minutes"  # officer reviews: first claim to decision, in minutes
    SMS_FRAGMENTS = "sms-fragments"  # the parts SMS went as (160/153 GSM-7, 70/67 UCS-2)
    LETTERS = "letters"  # letters/PDFs issued to the applicant (licence PDFs)
    PROVIDER_FEES = "provider-fees"  # payment transactions; the fee per transaction (tariff)
    STORAGE = "storage-mb-days"  # documents and licences stored at each day's end (MB-days)
    REGISTER_READS = "register-reads"  # base register reads made by once-only prefill
    API_CALLS = "api-calls"  # audited calls by machine clients (detail: the client)


def meter_labels(_: Callable[[str], str]) -> dict[str, str]:
    """What each meter is called on pages and PDFs, in the reader's language."""
    return {
        Meter.APPLICATIONS.value: _("Applications submitted"),
        Meter.STEPS.value: _("Steps executed"),
        Meter.OFFICER_TASKS.value: _("Officer tasks"),
        Meter.EMAIL.value: _("E-mails"),
        Meter.SMS.value: _("Text messages"),
        Meter.PORTAL.value: _("Portal messages"),
        Meter.PAYMENTS.value: _("Payments processed"),
        Meter.APPLICATIONS_HANDLED.value: _("Applications handled"),
        Meter.OFFICER_MINUTES.value: _("Officer time (minutes)"),
        Meter.SMS_FRAGMENTS.value: _("Text message parts"),
        Meter.LETTERS.value: _("Letters and PDFs"),
        Meter.PROVIDER_FEES.value: _("Payment provider fees"),
        Meter.STORAGE.value: _("Storage (MB-days)"),
        Meter.REGISTER_READS.value: _("Register reads"),
        Meter.API_CALLS.value: _("API calls"),
    }


Funding = Literal["per-use", "central", "fixed-share"]


class MeterTariff(BaseModel):
    """A meter's unit rate and the shared component it belongs to."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    component: str
    rate_minor: int = Field(ge=0)


class Component(BaseModel):
    """How a shared component is funded and what a department's own system would cost."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    funding: Funding
    duplicate_cost_minor: int = Field(ge=0)
    source: str = Field(min_length=1)
    annual_cost_minor: int = Field(0, ge=0)
    shares: dict[str, int] = Field(default_factory=dict)


class Tariff(BaseModel):
    """One version of a financial year's tariff.

    Governance marker (what a change request produces, ADR 0040 "Tariff versions"): ``version``
    counts up per year; ``status`` is ``draft`` (never read for statements) or ``published``
    (``published_on`` and ``approved_by`` say when and by which change request or review);
    ``effective`` is the first day the version prices (within the year; version 1 from the
    year's start). A published file is never edited: a change is a new version."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    year: str
    version: int = Field(ge=1)
    status: Literal["draft", "published"]
    published_on: date | None = None
    approved_by: str | None = Field(None, min_length=1, max_length=100)
    effective: date
    starts: date
    ends: date
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    departments: list[str]
    meters: dict[Meter, MeterTariff]
    allowances: dict[str, dict[Meter, int]]
    components: dict[str, Component]

    @model_validator(mode="after")
    def _consistent(self) -> Tariff:
        if self.ends < self.starts:
            raise ValueError("ends before starts")
        if not self.starts <= self.effective <= self.ends:
            raise ValueError("effective outside the financial year")
        if self.status == "published" and (self.published_on is None or not self.approved_by):
            raise ValueError("a published tariff names published_on and approved_by")
        for meter, tariff in self.meters.items():
            if tariff.component not in self.components:
                raise ValueError(f"meter {meter} names unknown component {tariff.component!r}")
        for name, component in self.components.items():
            if component.funding == "fixed-share" and sum(component.shares.values()) != 100:
                raise ValueError(f"shares of {name} do not add up to 100")
        return self

    def allowance(self, department: str, meter: Meter) -> int:
        """Free units of a meter for a department over the year."""
        own = self.allowances.get(department)
        return (own if own is not None else self.allowances.get("default", {})).get(meter, 0)

    @property
    def days(self) -> int:
        """Days in the financial year."""
        return (self.ends - self.starts).days + 1


@dataclass(frozen=True)
class Tariffs:
    """Every financial year's published tariff versions, by year id (oldest version first)."""

    versions: Mapping[str, tuple[Tariff, ...]]

    @property
    def years(self) -> dict[str, Tariff]:
        """Each year's newest published version (whatever its effective day)."""
        return {year: found[-1] for year, found in self.versions.items()}

    def for_day(self, day: date) -> Tariff:
        """The tariff in force on a day: the newest published version of the day's financial
        year that has taken effect by then."""
        for found in self.versions.values():
            if found[0].starts <= day <= found[0].ends:
                effective = [t for t in found if t.effective <= day]
                if effective:
                    return effective[-1]
        raise NotFound(f"no tariff covers {day.isoformat()}")


def load_tariffs(blueprints_dir: Path) -> Tariffs:
    """Every published ``blueprints/tariffs/*.yaml`` (drafts are skipped); two files with the
    same year and version, or versions of a year that disagree on its dates, are refused."""
    found: dict[str, dict[int, Tariff]] = {}
    for path in sorted((blueprints_dir / "tariffs").glob("*.yaml")):
        tariff = Tariff.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        if tariff.status != "published":
            continue
        of_year = found.setdefault(tariff.year, {})
        if tariff.version in of_year:
            raise ValueError(f"{path.name}: {tariff.year} version {tariff.version} twice")
        of_year[tariff.version] = tariff
    versions: dict[str, tuple[Tariff, ...]] = {}
    for name, by_version in found.items():
        ordered = tuple(by_version[v] for v in sorted(by_version))
        if any((t.starts, t.ends) != (ordered[0].starts, ordered[0].ends) for t in ordered):
            raise ValueError(f"the versions of {name} disagree on the year's dates")
        versions[name] = ordered
    return Tariffs(versions)


@dataclass(frozen=True)
class Month:
    """A calendar month, ``YYYY-MM``."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """``2026-11``; anything else names the field."""
        try:
            year, month = (int(p) for p in text.split("-"))
            if len(text) != 7 or not 1 <= month <= 12:
                raise ValueError(text)
        except ValueError:
            raise ValidationFailed(
                [FieldError("month", "year-month", "'month' must be a month like 2026-11")]
            ) from None
        return cls(year, month)

    @classmethod
    def of(cls, day: date) -> Month:
        """The month a day falls in."""
        return cls(day.year, day.month)

    @property
    def first(self) -> date:
        """Its first day."""
        return date(self.year, self.month, 1)

    @property
    def after(self) -> date:
        """The first day of the next month."""
        return date(self.year + self.month // 12, self.month % 12 + 1, 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True)
class Fact:
    """One row of the daily fact table."""

    day: date
    department: str
    service: str
    meter: Meter
    quantity: int
    amount_minor: int
    detail: str = ""  # steps: connector kind; register reads: register owner; API calls: client


@dataclass(frozen=True)
class StatementLine:
    """One meter (or one fixed-share component) on a department's monthly statement."""

    component: str
    funding: Funding
    meter: str  # "" for a fixed-share component
    rate_minor: int
    month_quantity: int
    ytd_quantity: int
    allowance: int
    month_charge_minor: int
    ytd_charge_minor: int
    forecast_quantity: int
    forecast_charge_minor: int
    month_value_minor: int  # payments: the money taken


@dataclass(frozen=True)
class ServiceUsage:
    """The drill-down: one service's use of one meter in the month."""

    service: str
    meter: str
    quantity: int
    charge_minor: int  # at the unit rate, before the allowance


@dataclass(frozen=True)
class Avoided:
    """The cost of a duplicate system against the department's share of the shared one."""

    component: str
    duplicate_cost_minor: int
    forecast_charge_minor: int
    source: str

    @property
    def avoided_minor(self) -> int:
        """Duplicate cost minus what the department pays for the shared component."""
        return self.duplicate_cost_minor - self.forecast_charge_minor


@dataclass(frozen=True)
class Statement:
    """A department's statement for one month of a financial year."""

    department: str
    month: Month
    year: str
    currency: str
    elapsed_days: int
    year_days: int
    lines: tuple[StatementLine, ...]
    services: tuple[ServiceUsage, ...]
    avoided: tuple[Avoided, ...]

    @property
    def month_total_minor(self) -> int:
        """Charged this month."""
        return sum(line.month_charge_minor for line in self.lines)

    @property
    def ytd_total_minor(self) -> int:
        """Charged since the financial year began."""
        return sum(line.ytd_charge_minor for line in self.lines)

    @property
    def forecast_total_minor(self) -> int:
        """Expected for the whole year at the current run rate."""
        return sum(line.forecast_charge_minor for line in self.lines)

    @property
    def avoided_total_minor(self) -> int:
        """Cost avoided over the year by using the shared components."""
        return sum(a.avoided_minor for a in self.avoided)

    def rows(self) -> list[list[str]]:
        """CSV rows (header first): one per line, then the totals."""
        out = [
            [
                "component",
                "funding",
                "meter",
                "rate_minor",
                "month_quantity",
                "ytd_quantity",
                "allowance",
                "month_charge_minor",
                "ytd_charge_minor",
                "forecast_quantity",
                "forecast_charge_minor",
                "month_value_minor",
            ]
        ]
        for x in self.lines:
            out.append(
                [
                    x.component,
                    x.funding,
                    x.meter,
                    str(x.rate_minor),
                    str(x.month_quantity),
                    str(x.ytd_quantity),
                    str(x.allowance),
                    str(x.month_charge_minor),
                    str(x.ytd_charge_minor),
                    str(x.forecast_quantity),
                    str(x.forecast_charge_minor),
                    str(x.month_value_minor),
                ]
            )
        out.append(
            [
                "total",
                "",
                "",
                "",
                "",
                "",
                "",
                str(self.month_total_minor),
                str(self.ytd_total_minor),
                "",
                str(self.forecast_total_minor),
                "",
            ]
        )
        # the year's cost avoided sits in the forecast column (it is a yearly figure)
        out.append(["cost-avoided", *[""] * 9, str(self.avoided_total_minor), ""])
        return out


def _billable(quantity: int, allowance: int) -> int:
    return max(0, quantity - allowance)


def build_statement(
    tariff: Tariff,
    department: str,
    month: Month,
    ytd: Mapping[str, tuple[int, int]],
    in_month: Mapping[str, tuple[int, int]],
    by_service: Sequence[tuple[str, str, int]],
    as_of: date | None = None,
) -> Statement:
    """A statement from the fact sums: ``ytd`` and ``in_month`` map a meter to its
    ``(quantity, amount)``; ``by_service`` is ``(service, meter, quantity)`` for the month.
    The run rate counts the days up to the month's end, or up to ``as_of`` (today, included)
    while the month is still running."""
    end = min(month.after, tariff.ends + timedelta(days=1))
    if as_of is not None:
        end = min(end, as_of + timedelta(days=1))
    elapsed = max(1, (end - tariff.starts).days)
    months_elapsed = (month.year - tariff.starts.year) * 12 + month.month - tariff.starts.month + 1
    lines: list[StatementLine] = []
    used: dict[str, int] = {}  # component -> forecast charge
    for meter, mt in tariff.meters.items():
        component = tariff.components[mt.component]
        ytd_q, _ = ytd.get(meter.value, (0, 0))
        month_q, month_value = in_month.get(meter.value, (0, 0))
        allowance = tariff.allowance(department, meter)
        forecast_q = ytd_q * tariff.days // elapsed
        rate = mt.rate_minor if component.funding == "per-use" else 0
        line = StatementLine(
            component=mt.component,
            funding=component.funding,
            meter=meter.value,
            rate_minor=rate,
            month_quantity=month_q,
            ytd_quantity=ytd_q,
            allowance=allowance,
            month_charge_minor=rate
            * (_billable(ytd_q, allowance) - _billable(ytd_q - month_q, allowance)),
            ytd_charge_minor=rate * _billable(ytd_q, allowance),
            forecast_quantity=forecast_q,
            forecast_charge_minor=rate * _billable(forecast_q, allowance),
            month_value_minor=month_value,
        )
        lines.append(line)
        if ytd_q:
            used[mt.component] = used.get(mt.component, 0) + line.forecast_charge_minor
    for name, component in tariff.components.items():
        if component.funding != "fixed-share":
            continue
        monthly = component.annual_cost_minor * component.shares.get(department, 0) // 1200
        lines.append(
            StatementLine(
                component=name,
                funding="fixed-share",
                meter="",
                rate_minor=0,
                month_quantity=0,
                ytd_quantity=0,
                allowance=0,
                month_charge_minor=monthly,
                ytd_charge_minor=monthly * months_elapsed,
                forecast_quantity=0,
                forecast_charge_minor=monthly * 12,
                month_value_minor=0,
            )
        )
        used[name] = monthly * 12
    for name, component in tariff.components.items():
        metered = any(mt.component == name for mt in tariff.meters.values())
        if not metered and component.funding == "central":
            used[name] = 0  # every department uses it (sign-in)
    avoided = tuple(
        Avoided(
            name,
            tariff.components[name].duplicate_cost_minor,
            charge,
            tariff.components[name].source,
        )
        for name, charge in sorted(used.items())
    )
    services = tuple(
        ServiceUsage(service, meter, quantity, quantity * _rate(tariff, meter))
        for service, meter, quantity in sorted(by_service)
    )
    return Statement(
        department=department,
        month=month,
        year=tariff.year,
        currency=tariff.currency,
        elapsed_days=elapsed,
        year_days=tariff.days,
        lines=tuple(lines),
        services=services,
        avoided=avoided,
    )


def _rate(tariff: Tariff, meter: str) -> int:
    mt = tariff.meters.get(Meter(meter))
    if mt is None or tariff.components[mt.component].funding != "per-use":
        return 0
    return mt.rate_minor


def format_minor(amount: int, currency: str) -> str:
    """``1234`` → ``EUR 12.34``."""
    sign = "-" if amount < 0 else ""
    return f"{currency} {sign}{abs(amount) // 100:,}.{abs(amount) % 100:02d}"
