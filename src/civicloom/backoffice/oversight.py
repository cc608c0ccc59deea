"""Read models of the operator, auditor and service-owner pages."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import String, column, func, or_, select, table

from civicloom.applications import ApplicationRow, DeadLetterRow, Forbidden, list_dead_letters
from civicloom.audit import (
    PERSONAL_DATA_READS,
    AuditEntryRow,
    AuditReport,
    KeysMissing,
    chain_key,
    entry_line,
    export_audit,
    load_public_keys,
    verify_audit,
)
from civicloom.catalogue import BlueprintVersionRow
from civicloom.db import UnitOfWork, UTCDateTime
from civicloom.departments import HealthReport
from civicloom.kernel import Clock, FieldError, Principal, ValidationFailed
from civicloom.outbox import OutboxRow, oldest_pending_age
from civicloom.rules import DecisionModel, RuleBook, TestReport, run_tests

# The worker module sits above this one in the layers; its heartbeat table is read as plain
# columns (read-only) rather than importing ``civicloom.worker`` (ADR 0020).
_HEARTBEATS = table(
    "worker_heartbeats",
    column("worker_id", String),
    column("host", String),
    column("pid", String),
    column("started_at", UTCDateTime),
    column("seen_at", UTCDateTime),
)
HEARTBEAT_STALE = timedelta(seconds=60)
CHECK_TIMEOUT = 12.0
AUDIT_PAGE = 200


def require_role(principal: Principal, role: str) -> None:
    """Forbidden unless the principal holds the role (the route guard already checked it)."""
    if role not in principal.roles:
        raise Forbidden(f"only a {role} may see this")


@dataclass(frozen=True)
class Heartbeat:
    """A worker process as last seen."""

    worker_id: str
    host: str
    started_at: datetime
    seen_at: datetime
    alive: bool


@dataclass
class OperatorStatus:
    """Connector health, breakers, outbox lag, workers and dead letters at one moment."""

    connectors: list[HealthReport] | None
    breakers: list[Any]
    outbox_lag_seconds: float
    outbox_pending: int
    outbox_dead: int
    heartbeats: list[Heartbeat]
    dead_letters: list[DeadLetterRow]


async def _probe(gateway: Any) -> list[HealthReport] | None:
    check_all = getattr(gateway, "check_all", None)
    if check_all is None:
        return None
    try:
        return list(await asyncio.wait_for(check_all(), CHECK_TIMEOUT))
    except TimeoutError:
        return []


async def operator_status(
    uow_factory: Any, clock: Clock, principal: Principal, gateway: Any
) -> OperatorStatus:
    """Everything the operator page shows (the probes have no side effects)."""
    require_role(principal, "operator")
    letters = await list_dead_letters(uow_factory(), principal)
    now = clock.now()
    async with uow_factory() as uow:
        session = uow.session
        lag = await oldest_pending_age(session, now)
        pending = await session.scalar(
            select(func.count())
            .select_from(OutboxRow)
            .where(OutboxRow.dispatched_at.is_(None), OutboxRow.dead_at.is_(None))
        )
        dead = await session.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.dead_at.is_not(None))
        )
        beats = [
            Heartbeat(
                worker_id=str(r.worker_id),
                host=str(r.host),
                started_at=r.started_at,
                seen_at=r.seen_at,
                alive=now - r.seen_at <= HEARTBEAT_STALE,
            )
            for r in await session.execute(
                select(_HEARTBEATS).order_by(_HEARTBEATS.c.seen_at.desc()).limit(100)
            )
        ]
    breakers = list(getattr(gateway, "breaker_states", list)())
    return OperatorStatus(
        connectors=await _probe(gateway),
        breakers=breakers,
        outbox_lag_seconds=lag,
        outbox_pending=int(pending or 0),
        outbox_dead=int(dead or 0),
        heartbeats=beats,
        dead_letters=letters,
    )


@dataclass(frozen=True)
class AuditQuery:
    """The auditor's search: any combination of the filters."""

    application: str | None = None  # id or reference
    person: str | None = None  # the applicant's subject, or anyone acting
    officer: str | None = None  # actor subject
    department: str | None = None
    since: date | None = None
    until: date | None = None
    reads_only: bool = False

    def validate(self) -> None:
        """Refuse an impossible date range naming the field."""
        if self.since and self.until and self.until < self.since:
            raise ValidationFailed(
                [FieldError("until", "after-since", "the end date must be on or after the start")]
            )

    @property
    def empty(self) -> bool:
        """No filter at all."""
        return not any(
            (self.application, self.person, self.officer, self.department, self.since, self.until)
        )


@dataclass
class AuditResults:
    """Matching entries, newest first, and whether more matched than are shown."""

    entries: list[AuditEntryRow] = field(default_factory=list)
    truncated: bool = False
    references: dict[str, str] = field(default_factory=dict)  # application id -> reference


def _actor_is(subject: str) -> Any:
    return or_(AuditEntryRow.actor == subject, AuditEntryRow.actor.like(f"%:{subject}"))


def _audit_select(q: AuditQuery) -> Any:
    query = select(AuditEntryRow)
    if q.application:
        ids = select(ApplicationRow.id).where(
            or_(ApplicationRow.id == q.application, ApplicationRow.reference == q.application)
        )
        query = query.where(
            AuditEntryRow.subject_type == "application", AuditEntryRow.subject_id.in_(ids)
        )
    if q.person:
        theirs = select(ApplicationRow.id).where(ApplicationRow.applicant_id == q.person)
        query = query.where(
            or_(
                (AuditEntryRow.subject_type == "application")
                & AuditEntryRow.subject_id.in_(theirs),
                _actor_is(q.person),
            )
        )
    if q.officer:
        query = query.where(_actor_is(q.officer))
    if q.department:
        query = query.where(AuditEntryRow.department == q.department)
    if q.since:
        query = query.where(AuditEntryRow.occurred_at >= datetime.combine(q.since, time(), UTC))
    if q.until:
        end = datetime.combine(q.until + timedelta(days=1), time(), UTC)
        query = query.where(AuditEntryRow.occurred_at < end)
    if q.reads_only:
        query = query.where(AuditEntryRow.action.in_(sorted(a.value for a in PERSONAL_DATA_READS)))
    return query


async def search_audit(uow: UnitOfWork, principal: Principal, q: AuditQuery) -> AuditResults:
    """Audit entries matching the query, newest first (at most a page)."""
    require_role(principal, "auditor")
    q.validate()
    async with uow:
        rows = list(
            await uow.session.scalars(
                _audit_select(q)
                .order_by(AuditEntryRow.occurred_at.desc(), AuditEntryRow.seq.desc())
                .limit(AUDIT_PAGE + 1)
            )
        )
        ids = {r.subject_id for r in rows if r.subject_type == "application"}
        result = await uow.session.execute(
            select(ApplicationRow.id, ApplicationRow.reference).where(
                ApplicationRow.id.in_(sorted(ids))
            )
        )
        refs = {str(app_id): str(reference) for app_id, reference in result}
    return AuditResults(rows[:AUDIT_PAGE], len(rows) > AUDIT_PAGE, refs)


async def export_search(
    uow_factory: Any, principal: Principal, q: AuditQuery
) -> AsyncIterator[str]:
    """JSON Lines of the search: for exactly one application, its whole chain with seals and
    Merkle proofs (the audit module's export); otherwise every matching entry."""
    require_role(principal, "auditor")
    q.validate()
    async with uow_factory() as uow:
        session = uow.session
        only_app = q.application and not any(
            (q.person, q.officer, q.department, q.since, q.until, q.reads_only)
        )
        app_id = None
        if only_app:
            app_id = await session.scalar(
                select(ApplicationRow.id).where(
                    or_(
                        ApplicationRow.id == q.application,
                        ApplicationRow.reference == q.application,
                    )
                )
            )
        if app_id is not None:
            async for record in export_audit(session, chain_key("application", app_id)):
                yield json.dumps(record, sort_keys=True) + "\n"
            return
        query = _audit_select(q).order_by(AuditEntryRow.seq)
        async for row in await session.stream_scalars(query):
            yield json.dumps(entry_line(row), sort_keys=True) + "\n"


async def verify_audit_trail(uow: UnitOfWork, principal: Principal, keys_dir: Path) -> AuditReport:
    """Check every chain and seal (signatures too when the public keys are present)."""
    require_role(principal, "auditor")
    try:
        keys = load_public_keys(keys_dir)
    except KeysMissing:
        keys = None
    async with uow:
        return await verify_audit(uow.session, keys)


@dataclass(frozen=True)
class ModelVersion:
    """One version of a decision model with the result of its own test cases."""

    model: DecisionModel
    report: TestReport


async def blueprint_versions(uow: UnitOfWork, principal: Principal) -> list[BlueprintVersionRow]:
    """Every stored version of the services the service owner's department owns."""
    require_role(principal, "service-owner")
    async with uow:
        query = select(BlueprintVersionRow).order_by(
            BlueprintVersionRow.service_id, BlueprintVersionRow.version.desc()
        )
        if principal.department is not None:
            query = query.where(BlueprintVersionRow.owner_department == principal.department)
        return list(await uow.session.scalars(query))


def model_versions(book: RuleBook, principal: Principal) -> list[ModelVersion]:
    """Decision models (every version) with their test results; a department's service owner
    sees their department's models first and only those."""
    require_role(principal, "service-owner")
    return [
        ModelVersion(m, run_tests(m))
        for m in book.all_models()
        if principal.department is None or m.department == principal.department
    ]
