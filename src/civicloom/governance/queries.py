"""Reading change requests: one, all (of a target), a service's history, and the dry run of
the applications a blueprint change does not move."""

from __future__ import annotations

from sqlalchemy import select

from civicloom.applications import running_on_version
from civicloom.catalogue import get_current_blueprint
from civicloom.db import UnitOfWork
from civicloom.governance.domain import ChangeKind, ChangeRequest, ChangeState
from civicloom.governance.records import approvals_of, row_of, to_domain
from civicloom.governance.tables import ChangeApprovalRow, ChangeRequestRow


async def get_change(uow: UnitOfWork, change_id: str) -> ChangeRequest:
    """One change request with its approvals."""
    async with uow:
        row = await row_of(uow.session, change_id)
        return to_domain(row, await approvals_of(uow.session, change_id))


async def list_changes(
    uow: UnitOfWork, *, target: str | None = None, kind: ChangeKind | None = None
) -> list[ChangeRequest]:
    """Change requests, newest first (of one target if given)."""
    async with uow:
        query = select(ChangeRequestRow).order_by(
            ChangeRequestRow.created_at.desc(), ChangeRequestRow.id
        )
        if target is not None:
            query = query.where(ChangeRequestRow.target == target)
        if kind is not None:
            query = query.where(ChangeRequestRow.kind == kind.value)
        rows = list(await uow.session.scalars(query))
        by_change: dict[str, list[ChangeApprovalRow]] = {r.id: [] for r in rows}
        if rows:
            for a in await uow.session.scalars(
                select(ChangeApprovalRow)
                .where(ChangeApprovalRow.change_id.in_(list(by_change)))
                .order_by(ChangeApprovalRow.approved_at, ChangeApprovalRow.id)
            ):
                by_change[a.change_id].append(a)
        return [to_domain(r, by_change[r.id]) for r in rows]


async def pinned_applications(
    uow: UnitOfWork, change: ChangeRequest, limit: int = 20
) -> tuple[int, int | None, list[tuple[str, str]]]:
    """Dry run of who is not moved: the applications running on the service's published
    version, which keep it when the change is published. ``(count, version, newest few)``;
    nothing for other kinds or a published change."""
    if change.kind is not ChangeKind.BLUEPRINT or change.state is ChangeState.PUBLISHED:
        return 0, None, []
    async with uow:
        current = await get_current_blueprint(uow.session, change.target)
        if current is None:
            return 0, None, []
        total, rows = await running_on_version(uow.session, current.version_id, limit)
    return total, current.blueprint.version, rows


async def service_history(uow: UnitOfWork, service_id: str) -> list[ChangeRequest]:
    """Every change request about a service (its blueprint, and its templates), newest first."""
    changes = await list_changes(uow)
    return [
        c
        for c in changes
        if c.target == service_id
        or (c.kind is ChangeKind.TEMPLATE and c.target.startswith(f"{service_id}/"))
    ]
