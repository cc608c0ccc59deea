"""The assisted channel's part of the case (ADR 0044): a counter application becomes the
citizen's own when they take it over online."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.applications.tables import ApplicationRow
from civicloom.audit import AuditAction, AuditRecord, append_audit
from civicloom.kernel import Clock, NotFound, Principal

COUNTER_APPLICANT = "counter:"
"""Prefix of the applicant of a counter application nobody has taken over yet."""


def counter_applicant(counter_id: str) -> str:
    """The stand-in applicant of a counter application until the citizen takes it over."""
    return f"{COUNTER_APPLICANT}{counter_id}"


async def take_over_in(
    session: AsyncSession, clock: Clock, application_id: str, counter_id: str, citizen: Principal
) -> str:
    """Make the counter application ``citizen``'s own (in the caller's transaction, audited).

    Only an application still held by its counter stand-in moves; returns its reference.
    """
    row = await session.get(ApplicationRow, application_id, with_for_update=True)
    if row is None or row.applicant_id != counter_applicant(counter_id):
        raise NotFound("no counter application to take over")
    row.applicant_id = citizen.subject
    await append_audit(
        session,
        AuditRecord(
            actor=citizen.audit_name,
            action=AuditAction.APPLICATION_TAKEN_OVER,
            subject_type="application",
            subject_id=row.id,
            occurred_at=clock.now(),
            purpose="the applicant takes over an application made for them at a counter",
            details={"from": counter_applicant(counter_id), "channel": "counter"},
        ),
    )
    return row.reference
