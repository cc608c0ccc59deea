"""Read models of the operator, auditor and service-owner pages."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.applications import (
    DeadLetterView,
    Forbidden,
    application_ids_of,
    list_dead_letters,
    references_of,
    resolve_application_id,
    services_of,
)
from civicloom.audit import (
    AuditAction,
    AuditFilter,
    AuditRecord,
    AuditReport,
    KeysMissing,
    chain_key,
    export_audit,
    export_entries,
    load_public_keys,
    pending_reads,
    search_entries,
    verify_audit,
)
from civicloom.catalogue import BlueprintVersionView, list_blueprint_versions
from civicloom.db import UnitOfWork
from civicloom.kernel import Clock, FieldError, NotFound, Principal, ValidationFailed
from civicloom.outbox import outbox_backlog
from civicloom.rules import DecisionModel, RuleBook, TestReport, run_tests
from civicloom.worker import ConnectorState, Heartbeat, connector_states, list_heartbeats

AUDIT_PAGE = 200
REFUSED_COMPLETIONS = AuditFilter(actions=(AuditAction.COMPLETION_REFUSED,))
REFUSED_SHOWN = 20  # the operator page lists the latest refused completions (ADR 0032)


def require_role(principal: Principal, role: str) -> None:
    """Forbidden unless the principal holds the role (the route guard already checked it)."""
    if role not in principal.roles:
        raise Forbidden(f"only a {role} may see this")


@dataclass
class OperatorStatus:
    """Connector health and breakers as the workers report them, outbox lag, workers and dead
    letters at one moment."""

    connectors: list[ConnectorState]
    outbox_lag_seconds: float
    outbox_pending: int
    outbox_dead: int
    heartbeats: list[Heartbeat]
    dead_letters: list[DeadLetterView]
    refused_completions: list[AuditRecord] = field(default_factory=list)
    references: dict[str, str] = field(default_factory=dict)  # application id -> reference
    # reads of personal data waiting for the worker's audit-read-fold job, and how long the
    # oldest has waited (None when none waits): growing means the fold stopped (ADR 0081)
    reads_waiting: int = 0
    oldest_read_wait_seconds: float | None = None
    services: dict[str, str] = field(default_factory=dict)  # application id -> service id


async def operator_status(uow_factory: Any, clock: Clock, principal: Principal) -> OperatorStatus:
    """Everything the operator page shows, read from the database: the workers' breakers and
    probes come with their heartbeats, so a page view calls no department (ADR 0062)."""
    require_role(principal, "operator")
    letters = await list_dead_letters(uow_factory(), principal)
    now = clock.now()
    async with uow_factory() as uow:
        backlog = await outbox_backlog(uow.session)
        beats = await list_heartbeats(uow.session, now)
        connectors = await connector_states(uow.session, now)
        refused = await search_entries(uow.session, REFUSED_COMPLETIONS, REFUSED_SHOWN)
        # a refused answer names its step and application: shown by title and reference
        answered = {
            str(r.details["application_id"]) for r in refused if r.details.get("application_id")
        }
        references = await references_of(
            uow.session, {d.application_id for d in letters} | answered
        )
        services = await services_of(uow.session, answered)
        waiting, oldest_read = await pending_reads(uow.session)
    return OperatorStatus(
        connectors=connectors,
        outbox_lag_seconds=backlog.lag_seconds(now),
        outbox_pending=backlog.pending,
        outbox_dead=backlog.dead,
        heartbeats=beats,
        dead_letters=letters,
        refused_completions=refused,
        references=references,
        reads_waiting=waiting,
        oldest_read_wait_seconds=(
            None if oldest_read is None else max(0.0, (now - oldest_read).total_seconds())
        ),
        services=services,
    )


async def dead_letter_to_abandon(
    uow_factory: Any, principal: Principal, letter_id: str
) -> tuple[DeadLetterView, str]:
    """An open dead letter and its application's reference, for the confirmation page."""
    require_role(principal, "operator")
    letters = await list_dead_letters(uow_factory(), principal)
    letter = next((d for d in letters if d.id == letter_id and d.resolved_at is None), None)
    if letter is None:
        raise NotFound(f"no open dead letter {letter_id!r}")
    async with uow_factory() as uow:
        references = await references_of(uow.session, {letter.application_id})
    return letter, references.get(letter.application_id, "")


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

    entries: list[AuditRecord] = field(default_factory=list)
    truncated: bool = False
    references: dict[str, str] = field(default_factory=dict)  # application id -> reference


async def _audit_filter(session: AsyncSession, q: AuditQuery) -> AuditFilter:
    """The audit module's filter for the auditor's query (application ids resolved here)."""
    applications = None
    if q.application:
        found = await resolve_application_id(session, q.application)
        applications = (found,) if found is not None else ()
    theirs: tuple[str, ...] = ()
    if q.person:
        theirs = tuple(await application_ids_of(session, q.person))
    return AuditFilter(
        applications=applications,
        person=q.person,
        person_applications=theirs,
        actor=q.officer,
        department=q.department,
        since=datetime.combine(q.since, time(), UTC) if q.since else None,
        until=datetime.combine(q.until + timedelta(days=1), time(), UTC) if q.until else None,
        reads_only=q.reads_only,
    )


async def search_audit(uow: UnitOfWork, principal: Principal, q: AuditQuery) -> AuditResults:
    """Audit entries matching the query, newest first (at most a page)."""
    require_role(principal, "auditor")
    q.validate()
    async with uow:
        flt = await _audit_filter(uow.session, q)
        rows = await search_entries(uow.session, flt, AUDIT_PAGE + 1)
        ids = {r.subject_id for r in rows if r.subject_type == "application"}
        refs = await references_of(uow.session, ids)
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
        if only_app and q.application:
            app_id = await resolve_application_id(session, q.application)
        if app_id is not None:
            async for record in export_audit(session, chain_key("application", app_id)):
                yield json.dumps(record, sort_keys=True) + "\n"
            return
        async for line in export_entries(session, await _audit_filter(session, q)):
            yield json.dumps(line, sort_keys=True) + "\n"


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


async def blueprint_versions(uow: UnitOfWork, principal: Principal) -> list[BlueprintVersionView]:
    """Every stored version of the services the service owner's department owns."""
    require_role(principal, "service-owner")
    async with uow:
        return await list_blueprint_versions(uow.session, principal.department)


def model_versions(book: RuleBook, principal: Principal) -> list[ModelVersion]:
    """Decision models (every version) with their test results; a department's service owner
    sees their department's models first and only those."""
    require_role(principal, "service-owner")
    return [
        ModelVersion(m, run_tests(m))
        for m in book.all_models()
        if principal.department is None or m.department == principal.department
    ]
