"""Use cases: build the daily fact table from the platform's records, and read statements.

The fact table is the only thing statements read; ``rebuild_days`` recomputes whole days
(delete, then insert in one transaction), so rebuilding any day twice gives the same rows and
an event recorded late lands in the day its own timestamp says.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from civicloom.applications import UsageRecord, case_usage, departments_handling, services_of
from civicloom.audit import (
    AuditAction,
    AuditRecord,
    append_audit,
    machine_client_actions,
    task_hand_overs,
)
from civicloom.catalogue import StepKind, list_current_blueprints
from civicloom.db import UnitOfWork
from civicloom.departments import list_departments
from civicloom.documents import licences_issued, stored_documents
from civicloom.funding.domain import (
    UNATTRIBUTED,
    Fact,
    Meter,
    Month,
    Statement,
    Tariffs,
    build_statement,
)
from civicloom.funding.tables import UsageFactRow
from civicloom.identity import list_api_keys
from civicloom.kernel import Clock, NotFound, Principal
from civicloom.notifications import messages_sent
from civicloom.registries import register_reads

LOOKBACK_DAYS = 1  # the worker rebuilds from the day before the newest day with facts
REBUILD_WINDOW_DAYS = 7  # CIVICLOOM_USAGE_FACTS_WINDOW_DAYS: late records this old are caught
DECLARED = "declared"  # a provider fee the provider did not report: the tariff's, per transaction
PLATFORM_STEP = "platform"  # a step no department system served (timer, licence, notify)
UNSUBMITTED = "draft"  # a register read for a draft that was never submitted
API_SERVICE = "api"  # API calls are a client's, not a service's
BYTES_PER_MB = 1_000_000
CHANNEL_METERS = {"email": Meter.EMAIL, "sms": Meter.SMS, "portal": Meter.PORTAL}
FINANCE_OFFICER = "finance-officer"
PLATFORM_OWNER = "platform-owner"


def _start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _day(at: datetime) -> date:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).date()


def _minor(amount: str | None) -> int:
    try:
        value = Decimal(amount or "0") * 100
    except InvalidOperation:
        return 0
    return int(value) if value.is_finite() else 0


async def rebuild_days(uow: UnitOfWork, first: date, last: date) -> list[Fact]:
    """Recompute the facts of every day in ``[first, last]`` from the records (one transaction)."""
    start, end = _start(first), _start(last + timedelta(days=1))
    clients = {c.prefix: c.department for c in await list_api_keys(uow)}
    sums: dict[tuple[date, str, str, str, str], list[int]] = defaultdict(lambda: [0, 0])

    def add(
        at: datetime | date,
        dept: str,
        service: str,
        meter: Meter,
        quantity: int = 1,
        amount: int = 0,
        detail: str = "",
    ) -> None:
        day = at if not isinstance(at, datetime) else _day(at)
        cell = sums[(day, dept, service, meter.value, detail)]
        cell[0] += quantity
        cell[1] += amount

    async with uow:
        session = uow.session
        owners = {p.blueprint.id: p.blueprint.owner for p in await list_current_blueprints(session)}
        kinds = {d.id: str(d.connector.get("kind", "")) for d in await list_departments(session)}
        reviews: list[UsageRecord] = []
        for record in await case_usage(session, start, end):
            owner = owners.get(record.service, UNATTRIBUTED)
            if record.kind == "application":
                add(record.at, owner, record.service, Meter.APPLICATIONS)
            elif record.kind == StepKind.PAYMENT:
                add(record.at, owner, record.service, Meter.PAYMENTS, amount=_minor(record.amount))
                # one provider transaction; the payments record carries no provider fee, so
                # the tariff's declared fee per transaction prices it
                add(record.at, owner, record.service, Meter.PROVIDER_FEES, detail=DECLARED)
            elif record.kind == StepKind.OFFICER_REVIEW:
                add(record.at, record.department or owner, record.service, Meter.OFFICER_TASKS)
                reviews.append(record)
            else:
                system = (record.capability or "").partition(".")[0]
                kind = kinds.get(system, "") if record.capability else PLATFORM_STEP
                add(record.at, record.department or owner, record.service, Meter.STEPS, detail=kind)
        for service, dept, at in await departments_handling(session, start, end):
            add(at, dept or owners.get(service, UNATTRIBUTED), service, Meter.APPLICATIONS_HANDLED)
        taken = await task_hand_overs(session, {r.application_id or "" for r in reviews})
        minutes: dict[tuple[date, str, str], int] = defaultdict(int)  # seconds, then minutes
        for r in reviews:
            since = taken.get(r.task_id or "")
            if since is not None and since <= r.at:
                dept = r.department or owners.get(r.service, UNATTRIBUTED)
                minutes[(_day(r.at), dept, r.service)] += int((r.at - since).total_seconds())
        for (day, dept, service), seconds in minutes.items():
            add(day, dept, service, Meter.OFFICER_MINUTES, quantity=seconds // 60)
        messages = await messages_sent(session, start, end)
        reads = await register_reads(session, start, end)
        letters = await licences_issued(session, start, end)
        stored = await stored_documents(session, start, end)
        service_of = await services_of(
            session,
            {m.application_id for m in messages if m.application_id}
            | {a for _, _, a, _ in reads if a}
            | {a for a, _, _ in letters}
            | {a for a, _, _, _, _ in stored},
        )
        for m in messages:
            meter = CHANNEL_METERS.get(m.channel)
            about = service_of.get(m.application_id or "")
            if meter is None or about is None:
                continue  # not about an application: the centre's own messages
            add(m.sent_at, owners.get(about, UNATTRIBUTED), about, meter)
            if meter is Meter.SMS:
                add(
                    m.sent_at,
                    owners.get(about, UNATTRIBUTED),
                    about,
                    Meter.SMS_FRAGMENTS,
                    quantity=m.fragments,
                )
        for app_id, dept, at in letters:
            add(at, dept, service_of.get(app_id, UNATTRIBUTED), Meter.LETTERS)
        for reader, register, read_for, at in reads:
            add(
                at,
                reader,
                service_of.get(read_for or "", UNSUBMITTED),
                Meter.REGISTER_READS,
                detail=register,
            )
        for actor, dept, at in await machine_client_actions(session, start, end):
            prefix = actor.removeprefix("client:")
            add(
                at,
                clients.get(prefix) or dept or UNATTRIBUTED,
                API_SERVICE,
                Meter.API_CALLS,
                detail=prefix,
            )
        for (day, dept, service), stored_bytes in _stored_bytes(
            stored, service_of, owners, first, last
        ).items():
            add(day, dept, service, Meter.STORAGE, quantity=stored_bytes // BYTES_PER_MB)
        facts = [
            Fact(day, dept, service, Meter(meter), q, amount, detail)
            for (day, dept, service, meter, detail), (q, amount) in sorted(sums.items())
            if q or amount
        ]
        await session.execute(
            delete(UsageFactRow).where(UsageFactRow.day >= first).where(UsageFactRow.day <= last)
        )
        if facts:
            await session.execute(
                insert(UsageFactRow),
                [
                    {
                        "day": f.day,
                        "department": f.department,
                        "service": f.service,
                        "meter": f.meter.value,
                        "detail": f.detail,
                        "quantity": f.quantity,
                        "amount_minor": f.amount_minor,
                    }
                    for f in facts
                ],
            )
        await uow.commit()
    return facts


def _stored_bytes(
    stored: list[tuple[str, str, int, datetime, datetime | None]],
    service_of: dict[str, str],
    owners: dict[str, str],
    first: date,
    last: date,
) -> dict[tuple[date, str, str], int]:
    """Bytes stored at the end of each day of ``[first, last]`` per department and service:
    a document counts from the day it was stored until the day before it was purged (one
    pass: a difference per day, then a running sum)."""
    change: dict[tuple[str, str], dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for app_id, _type, size, at, purged in stored:
        service = service_of.get(app_id, UNATTRIBUTED)
        key = (owners.get(service, UNATTRIBUTED), service)
        change[key][max(_day(at), first)] += size
        if purged is not None:
            gone = _day(purged)
            if gone <= last:
                change[key][max(gone, first)] -= size
    out: dict[tuple[date, str, str], int] = {}
    for (dept, service), deltas in change.items():
        running, day = 0, first
        while day <= last:
            running += deltas.get(day, 0)
            if running > 0:
                out[(day, dept, service)] = running
            day += timedelta(days=1)
    return out


async def build_recent_facts(
    uow: UnitOfWork, clock: Clock, tariffs: Tariffs, window_days: int = REBUILD_WINDOW_DAYS
) -> int:
    """The worker's job: rebuild the last ``window_days`` days up to today, and from the day
    before the newest day with facts if that is earlier (or, on the first run, from the start
    of the current financial year). A record written late (an SMS receipt, a licence recorded
    after a restore) lands in its own day without a manual rebuild as long as it is at most
    ``window_days`` old. Safe when two workers run it at once: the loser's insert conflicts,
    it rolls back and the next run catches up."""
    today = _day(clock.now())
    async with uow:
        last_built = await uow.session.scalar(select(func.max(UsageFactRow.day)))
    if last_built is None:
        try:
            first = tariffs.for_day(today).starts
        except NotFound:
            first = today
    else:
        newest = min(date.fromisoformat(str(last_built)), today)
        first = min(newest - timedelta(days=LOOKBACK_DAYS), today - timedelta(days=window_days))
    try:
        return len(await rebuild_days(uow, first, today))
    except IntegrityError:
        return 0


async def read_facts(uow: UnitOfWork, first: date, last: date) -> list[Fact]:
    """The fact rows of ``[first, last]`` in key order (tests and the CLI)."""
    async with uow:
        rows = await uow.session.execute(
            select(UsageFactRow)
            .where(UsageFactRow.day >= first)
            .where(UsageFactRow.day <= last)
            .order_by(
                UsageFactRow.day,
                UsageFactRow.department,
                UsageFactRow.service,
                UsageFactRow.meter,
                UsageFactRow.detail,
            )
        )
        return [
            Fact(
                r.day, r.department, r.service, Meter(r.meter), r.quantity, r.amount_minor, r.detail
            )
            for r in rows.scalars()
        ]


def may_read(principal: Principal, department: str) -> bool:
    """The platform owner reads every statement; a finance officer only its department's."""
    if PLATFORM_OWNER in principal.roles:
        return True
    return FINANCE_OFFICER in principal.roles and principal.department == department


def visible_departments(principal: Principal, tariffs: Tariffs, month: Month) -> list[str]:
    """The departments whose statements the caller may read for the month."""
    tariff = tariffs.for_day(month.first)
    return [d for d in tariff.departments if may_read(principal, d)]


async def _sums(
    uow: UnitOfWork, department: str | None, first: date, before: date
) -> dict[str, dict[str, tuple[int, int]]]:
    query = (
        select(
            UsageFactRow.department,
            UsageFactRow.meter,
            func.sum(UsageFactRow.quantity),
            func.sum(UsageFactRow.amount_minor),
        )
        .where(UsageFactRow.day >= first)
        .where(UsageFactRow.day < before)
        .group_by(UsageFactRow.department, UsageFactRow.meter)
    )
    if department is not None:
        query = query.where(UsageFactRow.department == department)
    out: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    for dept, meter, q, amount in await uow.session.execute(query):
        out[str(dept)][str(meter)] = (int(q or 0), int(amount or 0))
    return out


async def statements(
    uow: UnitOfWork, tariffs: Tariffs, month: Month, departments: Iterable[str], today: date
) -> list[Statement]:
    """The month's statements of the departments (three grouped reads of the fact table); a
    month that has not begun has none."""
    if month.first > today:
        raise NotFound(f"no statements yet for {month}")
    tariff = tariffs.for_day(month.first)
    wanted = [d for d in departments if d in tariff.departments]
    single = wanted[0] if len(wanted) == 1 else None
    async with uow:
        ytd = await _sums(uow, single, tariff.starts, month.after)
        in_month = await _sums(uow, single, month.first, month.after)
        query = (
            select(
                UsageFactRow.department,
                UsageFactRow.service,
                UsageFactRow.meter,
                func.sum(UsageFactRow.quantity),
            )
            .where(UsageFactRow.day >= month.first)
            .where(UsageFactRow.day < month.after)
            .group_by(UsageFactRow.department, UsageFactRow.service, UsageFactRow.meter)
        )
        if single is not None:
            query = query.where(UsageFactRow.department == single)
        by_service: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
        for dept, service, meter, q in await uow.session.execute(query):
            by_service[str(dept)].append((str(service), str(meter), int(q or 0)))
    return [
        build_statement(tariff, d, month, ytd.get(d, {}), in_month.get(d, {}), by_service[d], today)
        for d in wanted
    ]


async def read_statement(
    uow: UnitOfWork,
    clock: Clock,
    tariffs: Tariffs,
    principal: Principal,
    department: str,
    month: Month,
    channel: str,
) -> Statement:
    """One department's statement for the caller, audited; another department's answers
    ``NotFound`` (its existence is not confirmed)."""
    tariff = tariffs.for_day(month.first)
    if department not in tariff.departments or not may_read(principal, department):
        raise NotFound(f"no statement for {department!r} in {month}")
    (statement,) = await statements(uow, tariffs, month, [department], _day(clock.now()))
    async with uow:
        await append_audit(
            uow.session,
            AuditRecord(
                actor=principal.subject,
                action=AuditAction.FUNDING_STATEMENT_READ,
                subject_type="funding-statement",
                subject_id=f"{department}/{month}",
                occurred_at=clock.now(),
                department=department,
                purpose="funding statement",
                details={"as": channel},
            ),
        )
        await uow.commit()
    return statement


async def day_usage(
    uow: UnitOfWork, department: str, month: Month
) -> list[tuple[date, str, str, str, int, int]]:
    """The drill-down: ``(day, service, meter, detail, quantity, amount)`` of the month (the
    detail is a step's connector kind, a register's owner or an API client)."""
    async with uow:
        rows = await uow.session.execute(
            select(
                UsageFactRow.day,
                UsageFactRow.service,
                UsageFactRow.meter,
                UsageFactRow.detail,
                UsageFactRow.quantity,
                UsageFactRow.amount_minor,
            )
            .where(UsageFactRow.department == department)
            .where(UsageFactRow.day >= month.first)
            .where(UsageFactRow.day < month.after)
            .order_by(
                UsageFactRow.day, UsageFactRow.service, UsageFactRow.meter, UsageFactRow.detail
            )
        )
        return [(d, str(s), str(m), str(x), int(q), int(a)) for d, s, m, x, q, a in rows]


async def cost_avoided(
    uow: UnitOfWork, clock: Clock, tariffs: Tariffs
) -> tuple[str, list[tuple[str, int]], int] | None:
    """This financial year's cost avoided per department and in total, from the current
    month's statements (``None`` without a tariff for today): ``(currency, rows, total)``."""
    month = Month.of(_day(clock.now()))
    try:
        tariff = tariffs.for_day(month.first)
    except NotFound:
        return None
    found = await statements(uow, tariffs, month, tariff.departments, _day(clock.now()))
    rows = [(s.department, s.avoided_total_minor) for s in found]
    return tariff.currency, rows, sum(a for _, a in rows)
