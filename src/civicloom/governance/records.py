"""Change request rows read and written by this module's use cases: the mapping to the domain
and the audit entry every state change appends (one write path, ADR 0049)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.audit import AuditAction, AuditRecord, append_audit
from civicloom.governance.domain import (
    Approval,
    ChangeKind,
    ChangeRequest,
    ChangeState,
    CheckResult,
    DiffLine,
)
from civicloom.governance.tables import ChangeApprovalRow, ChangeRequestRow
from civicloom.kernel import NotFound


def rank(required: Sequence[Any], party: str) -> int:
    """Approvals given at the same moment are listed in the order the parties are required."""
    return list(required).index(party) if party in required else len(required)


def to_domain(row: ChangeRequestRow, approvals: Sequence[ChangeApprovalRow]) -> ChangeRequest:
    """A change request row and its approval rows as the domain object."""
    return ChangeRequest(
        id=row.id,
        kind=ChangeKind(row.kind),
        target=row.target,
        title=row.title,
        state=ChangeState(row.state),
        author=row.author,
        author_name=row.author_name,
        author_department=row.author_department,
        files=dict(row.files),
        base_files=dict(row.base_files),
        required=tuple(str(p) for p in row.required),
        approvals=tuple(
            Approval(a.party, a.approver, a.approver_name, a.approved_at)
            for a in sorted(approvals, key=lambda a: (a.approved_at, rank(row.required, a.party)))
        ),
        checks=tuple(
            CheckResult(
                str(c["name"]),
                bool(c["passed"]),
                tuple(c.get("lines") or ()),
                tuple(c.get("params") or ()),
            )
            for c in row.checks
        ),
        diff=tuple(
            DiffLine(str(d["part"]), str(d["message"]), dict(d.get("params") or {}), d.get("owner"))
            for d in row.diff
        ),
        effective_at=row.effective_at,
        created_at=row.created_at,
        submitted_at=row.submitted_at,
        published_at=row.published_at,
        source_environment=row.source_environment,
        bundle_id=row.bundle_id,
        migration=None if row.migration is None else dict(row.migration),
    )


async def approvals_of(session: AsyncSession, change_id: str) -> list[ChangeApprovalRow]:
    """The approval rows of a change, in the order given."""
    rows = await session.scalars(
        select(ChangeApprovalRow)
        .where(ChangeApprovalRow.change_id == change_id)
        .order_by(ChangeApprovalRow.approved_at, ChangeApprovalRow.id)
    )
    return list(rows)


async def row_of(session: AsyncSession, change_id: str) -> ChangeRequestRow:
    """The row of a change request (``NotFound`` if there is none)."""
    row = await session.get(ChangeRequestRow, change_id)
    if row is None:
        raise NotFound(f"no change request {change_id!r}")
    return row


async def audit_change(
    session: AsyncSession,
    action: AuditAction,
    row: ChangeRequestRow,
    actor: str,
    at: datetime,
    department: str | None = None,
    **details: Any,
) -> None:
    await append_audit(
        session,
        AuditRecord(
            actor=actor,
            action=action,
            subject_type="change_request",
            subject_id=row.id,
            occurred_at=at,
            department=department,
            details={"kind": row.kind, "target": row.target, "state": row.state, **details},
        ),
    )
