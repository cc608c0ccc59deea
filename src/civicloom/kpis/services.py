"""Use cases: read one service's records for a period and report its KPIs (read-only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from civicloom.applications import service_case_facts
from civicloom.catalogue import Blueprint, get_current_blueprint, list_current_blueprints
from civicloom.db import UnitOfWork
from civicloom.documents import uploads_per_application
from civicloom.kernel import Clock, FieldError, NotFound, Principal, ValidationFailed
from civicloom.kpis.compute import Records, ReportBuilder, ServiceFacts, sharing_of
from civicloom.kpis.config import KpiConfig
from civicloom.kpis.domain import Baseline, KpiReport, KpiScope, kpi_scope, scoped_report
from civicloom.portal import prefilled_sources
from civicloom.rules import decisions_per_department

DEFAULT_DAYS = 90
FACTS_CHUNK = 1000
"""Applications read (with their tasks) per round trip of a report: what memory holds at most
besides the report's counters and durations (ADR 0074)."""
MAX_DAYS = 366
"""The longest period a report covers (a year, leap day included; ADR 0061)."""


@dataclass(frozen=True)
class Period:
    """Submission dates ``[start, end)``, from calendar days (both inclusive) in UTC."""

    start: datetime
    end: datetime

    @classmethod
    def of_days(cls, first: date, last: date) -> Period:
        """From the first to the last day, both included."""
        if last < first:
            raise ValidationFailed([FieldError("to", "after-from", "'to' is before 'from'")])
        if (last - first).days > MAX_DAYS:
            raise ValidationFailed(
                [FieldError("to", "max-period", f"a period is at most {MAX_DAYS} days")]
            )
        if last >= date.max:  # the day after it is not a date (it was a 500)
            raise ValidationFailed([FieldError("to", "iso-date", "'to' is not a date we can use")])
        start = datetime.combine(first, time(), tzinfo=UTC)
        return cls(start, datetime.combine(last + timedelta(days=1), time(), tzinfo=UTC))


def parse_period(clock: Clock, start: str | None, end: str | None) -> Period:
    """``from``/``to`` as ISO dates (``YYYY-MM-DD``); defaults: the last 90 days to today."""
    today = clock.now().astimezone(UTC).date()

    def day(value: str | None, name: str, default: date) -> date:
        if value in (None, ""):
            return default
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise ValidationFailed(
                [FieldError(name, "iso-date", f"'{name}' must be a date like 2027-03-01")]
            ) from None

    last = day(end, "to", today)
    first = day(start, "from", last - timedelta(days=DEFAULT_DAYS - 1))
    period = Period.of_days(first, last)
    if first > today:  # nothing was submitted yet: a report of it would only hold a slot
        raise ValidationFailed(
            [FieldError("from", "not-in-future", "'from' must not be after today")]
        )
    return period


def _scope(principal: Principal, blueprint: Blueprint) -> KpiScope | None:
    departments = {s.department for s in blueprint.steps if s.department}
    return kpi_scope(principal, blueprint.owner, departments)


async def list_kpi_services(
    uow: UnitOfWork, principal: Principal
) -> list[tuple[str, dict[str, str]]]:
    """Published services that declare a baseline and whose figures ``principal`` may see:
    ``(id, title)``."""
    async with uow:
        published = await list_current_blueprints(uow.session)
    out = []
    for p in published:
        if p.blueprint.baseline is not None and _scope(principal, p.blueprint) is not None:
            out.append((p.blueprint.id, p.blueprint.title.model_dump(by_alias=True)))
    return sorted(out)


async def staff_kpis(
    uow: UnitOfWork,
    clock: Clock,
    config: KpiConfig,
    service: str,
    period: Period,
    principal: Principal,
) -> tuple[KpiReport, KpiScope]:
    """The dashboard's report for one reader: limited to their department's rows unless they
    oversee the whole service (``kpi_scope``); a service they may not see is a 404."""
    scope = await staff_scope(uow, service, principal)
    report = await service_kpis(uow, clock, config, service, period)
    return scoped_report(report, scope), scope


async def staff_scope(uow: UnitOfWork, service: str, principal: Principal) -> KpiScope:
    """What of the service's figures ``principal`` may see; a service they may not see (or
    that is not published) is a 404."""
    async with uow:
        published = await get_current_blueprint(uow.session, service)
    scope = None if published is None else _scope(principal, published.blueprint)
    if scope is None:
        raise NotFound(f"no published service {service!r} whose figures you may see")
    return scope


async def service_kpis(
    uow: UnitOfWork, clock: Clock, config: KpiConfig, service: str, period: Period
) -> KpiReport:
    """Every KPI of a published service for applications submitted in the period, every
    department included (the CLI, the public page's headline; staff read ``staff_kpis``)."""
    async with uow:
        session = uow.session
        published = await get_current_blueprint(session, service)
        if published is None:
            raise NotFound(f"no published service {service!r}")
        blueprint = published.blueprint
        facts = ServiceFacts(
            service=service,
            title=blueprint.title.model_dump(by_alias=True),
            baseline=Baseline.from_document(
                blueprint.baseline.model_dump() if blueprint.baseline else None
            ),
            sharing=sharing_of(blueprint.data_sharing),
            step_roles={s.id: s.role for s in blueprint.steps if s.role},
            model=config.model_for(service),
            costs=config.costs,
        )
        builder = ReportBuilder(facts, clock.now())
        after: tuple[datetime, str] | None = None
        while True:  # a chunk of applications at a time: memory holds one (ADR 0074)
            cases = await service_case_facts(
                session, service, period.start, period.end, after, FACTS_CHUNK
            )
            if cases.applications:
                ids = cases.application_ids
                builder.add(
                    Records(
                        apps=cases.applications,
                        tasks=cases.steps,
                        prefilled=await prefilled_sources(session, ids),
                        documents=await uploads_per_application(session, ids),
                        answers=cases.answers,
                        decisions=await decisions_per_department(session, ids),
                    )
                )
            if len(cases.applications) < FACTS_CHUNK:
                break
            last = cases.applications[-1]
            after = (last.submitted_at, last.id)
    return builder.report(period.start, period.end)
