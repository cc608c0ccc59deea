"""In-flight applications (ADR 0058): a blueprint change request may declare how running
applications move to the new version; once published, a dry run lists every open application
on the replaced version with what would change for it, the service owner of the owning
department runs it (each application in its own transaction, audited, recorded once) and may
move one back while it has not progressed since.

Applications stay pinned to their version unless a run moves them; nothing moves by itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from civicloom.applications import (
    MOVABLE_STATES,
    ApplicationState,
    Migration,
    MoveLine,
    MovePlan,
    MoveRecord,
    find_application,
    move_application,
    move_application_back,
    plan_moves,
    why_application_stays,
)
from civicloom.audit import AuditAction, AuditRecord, append_audit
from civicloom.catalogue import PublishedBlueprint, get_blueprint_version, list_blueprint_versions
from civicloom.db import UnitOfWork
from civicloom.departments import department_names
from civicloom.governance.domain import QUALITY_GATE, ChangeKind, ChangeRequest, ChangeState
from civicloom.governance.records import approvals_of, audit_change, row_of, to_domain
from civicloom.governance.services import NotAllowed
from civicloom.governance.tables import ApplicationMoveRow, ChangeRequestRow
from civicloom.kernel import Clock, Conflict, FieldError, NotFound, Principal, ValidationFailed
from civicloom.kernel import new_id as _new_id

SERVICE_OWNER = "service-owner"


class MoveRefused(Conflict):
    """An application cannot move (back): the reason is a readable line."""

    slug = "move-refused"
    title = "Not moved"

    def __init__(self, line: MoveLine) -> None:
        super().__init__(line.render("en"))
        self.line = line


@dataclass(frozen=True)
class MovedApplication:
    """An application a change's migration moved, and whether it may still move back."""

    application_id: str
    reference: str
    changes: tuple[str, ...]
    moved_at: datetime
    moved_by_name: str
    reversed_at: datetime | None
    reversed_by_name: str | None
    stays: MoveLine | None  # why it can no longer move back (None: it can)


@dataclass(frozen=True)
class MigrationPlan:
    """A published change's dry run: the open applications on the replaced version (what
    would change for each, or why it stays) and those already moved."""

    change: ChangeRequest
    owner: str
    from_version: int
    to_version: int
    plans: tuple[MovePlan, ...]
    moved: tuple[MovedApplication, ...]


@dataclass(frozen=True)
class MigrationRun:
    """What a run did: the applications moved and those not moved, each with its lines."""

    moved: tuple[MovePlan, ...]
    not_moved: tuple[MovePlan, ...]


def _migration_of(row: ChangeRequestRow) -> Migration:
    raw = row.migration or {}
    return Migration(
        states=tuple(raw.get("states") or MOVABLE_STATES), defaults=dict(raw.get("defaults") or {})
    )


def _version_of(files: Mapping[str, Any]) -> tuple[str, int] | None:
    for rel, text in files.items():
        if rel.startswith("services/"):
            document = yaml.safe_load(text)
            return str(document["id"]), int(document["version"])
    return None


async def declare_migration(
    uow: UnitOfWork,
    clock: Clock,
    actor: Principal,
    change_id: str,
    *,
    states: Sequence[str] = MOVABLE_STATES,
    defaults: Mapping[str, Any] | None = None,
) -> ChangeRequest:
    """Declare on a blueprint draft that its running applications may move: which application
    states move, and the answer each new field gets (removed answers are set aside, kept to
    move back). Only the author, only while a draft: the approvers approve it with the rest."""
    defaults = dict(defaults or {})
    now = clock.now()
    async with uow:
        row = await row_of(uow.session, change_id)
        if row.author != actor.subject:
            raise NotAllowed("only the author declares how running applications move")
        if row.state != ChangeState.DRAFT.value:
            raise Conflict(f"change request {change_id} is {row.state}; it can no longer change")
        if row.kind != ChangeKind.BLUEPRINT.value:
            raise ValidationFailed(
                [FieldError("kind", "blueprint", "Only a service's change moves applications")]
            )
        errors = [
            FieldError("states", "open-state", f"{s!r} is not a state a running application is in")
            for s in states
            if s not in MOVABLE_STATES
        ]
        if not states:
            errors.append(FieldError("states", "required", "Choose which applications may move"))
        new_fields, old_fields = _fields(row.files), _fields(row.base_files)
        errors += [
            FieldError(f"defaults.{name}", "new-field", f"{name!r} is not a field the draft adds")
            for name in defaults
            if name not in new_fields or name in old_fields
        ]
        if errors:
            raise ValidationFailed(errors, "the migration cannot be declared")
        row.migration = {"states": list(states), "defaults": defaults}
        row.updated_at = now
        await audit_change(
            uow.session,
            AuditAction.CHANGE_MIGRATION_DECLARED,
            row,
            actor.audit_name,
            now,
            actor.department,
            states=list(states),
            defaults=sorted(defaults),
        )
        await uow.commit()
        return to_domain(row, await approvals_of(uow.session, change_id))


def _fields(files: Mapping[str, Any]) -> set[str]:
    for rel, text in files.items():
        if rel.startswith("services/"):
            document = yaml.safe_load(text)
            return set(document.get("form", {}).get("schema", {}).get("properties") or {})
    return set()


async def _versions(
    uow: UnitOfWork, row: ChangeRequestRow
) -> tuple[PublishedBlueprint, PublishedBlueprint]:
    if row.state != ChangeState.PUBLISHED.value:
        raise Conflict(
            "the change is not published yet: applications move only to a published version"
        )
    if row.migration is None:
        raise Conflict(
            "the change declares no migration: its running applications stay on their version"
        )
    old, new = _version_of(row.base_files), _version_of(row.files)
    assert old is not None, "a blueprint change has its service file"
    assert new is not None, "a blueprint change has its service file"
    ids = {
        v.version: v.id
        for v in await list_blueprint_versions(uow.session)
        if v.service_id == old[0] and v.version in (old[1], new[1])
    }
    found = [await get_blueprint_version(uow.session, ids.get(n, "")) for n in (old[1], new[1])]
    if found[0] is None or found[1] is None:
        raise NotFound("a version of this change is not stored")
    return found[0], found[1]


def may_migrate(actor: Principal, owner: str) -> bool:
    """The service owner of the department owning the service runs (and reverses) a migration."""
    return SERVICE_OWNER in actor.roles and actor.department == owner


def _moved_view(row: ApplicationMoveRow, stays: MoveLine | None) -> MovedApplication:
    return MovedApplication(
        application_id=row.application_id,
        reference=row.reference,
        changes=tuple(str(c) for c in row.changes),
        moved_at=row.moved_at,
        moved_by_name=row.moved_by_name,
        reversed_at=row.reversed_at,
        reversed_by_name=row.reversed_by_name,
        stays=stays,
    )


def _record(row: ApplicationMoveRow) -> MoveRecord:
    return MoveRecord(dict(row.before), {k: str(v) for k, v in row.after_states.items()})


async def plan_migration(uow: UnitOfWork, actor: Principal | None, change_id: str) -> MigrationPlan:
    """The dry run (nothing written): every open application on the replaced version with
    what moving it would change or why it stays, and the applications already moved. Read by
    the owning department's service owner and the central quality gate; ``actor`` None is the
    operator's CLI on the platform's host (``civicloom change migration``)."""
    async with uow:
        row = await row_of(uow.session, change_id)
        old, new = await _versions(uow, row)
        owner = new.blueprint.owner
        if actor is not None and not (may_migrate(actor, owner) or QUALITY_GATE in actor.roles):
            raise NotAllowed("only the owning department's service owner sees this migration")
        names = await department_names(uow.session)
        moves = list(
            await uow.session.scalars(
                select(ApplicationMoveRow)
                .where(ApplicationMoveRow.change_id == change_id)
                .order_by(ApplicationMoveRow.moved_at, ApplicationMoveRow.reference)
            )
        )
        done = {m.application_id for m in moves if m.reversed_at is None}
        plans = [
            p
            for p in await plan_moves(
                uow.session, old.version_id, new.blueprint, _migration_of(row), names
            )
            if p.application_id not in done
        ]
        moved = [
            _moved_view(
                m,
                None
                if m.reversed_at is not None
                else await why_application_stays(
                    uow.session, m.application_id, _record(m), m.to_version_id
                ),
            )
            for m in moves
        ]
        return MigrationPlan(
            change=to_domain(row, await approvals_of(uow.session, change_id)),
            owner=owner,
            from_version=old.blueprint.version,
            to_version=new.blueprint.version,
            plans=tuple(plans),
            moved=tuple(moved),
        )


async def run_migration(
    uow: UnitOfWork,
    clock: Clock,
    actor: Principal,
    change_id: str,
    application_ids: Sequence[str] | None = None,
) -> MigrationRun:
    """Move the open applications of the replaced version (all movable ones, or those named)
    to the new version, each in its own transaction with its audit entry and its move record.
    An application this change already moved (or moved back) is not moved again."""
    async with uow:
        row = await row_of(uow.session, change_id)
        old, new = await _versions(uow, row)
        if not may_migrate(actor, new.blueprint.owner):
            raise NotAllowed("only the owning department's service owner runs this migration")
        migration = _migration_of(row)
        names = await department_names(uow.session)
        if application_ids is None:
            plans = await plan_moves(uow.session, old.version_id, new.blueprint, migration, names)
            application_ids = [p.application_id for p in plans if p.movable]
    moved: list[MovePlan] = []
    not_moved: list[MovePlan] = []
    for application_id in dict.fromkeys(application_ids):
        plan = await _move_one(
            uow, clock, actor, change_id, old, new, migration, names, application_id
        )
        (moved if plan.movable else not_moved).append(plan)
    return MigrationRun(tuple(moved), tuple(not_moved))


async def _move_one(
    uow: UnitOfWork,
    clock: Clock,
    actor: Principal,
    change_id: str,
    old: PublishedBlueprint,
    new: PublishedBlueprint,
    migration: Migration,
    names: Mapping[str, Any],
    application_id: str,
) -> MovePlan:
    now = clock.now()
    async with uow:
        earlier = await uow.session.scalar(
            select(ApplicationMoveRow).where(
                ApplicationMoveRow.change_id == change_id,
                ApplicationMoveRow.application_id == application_id,
            )
        )
        if earlier is not None and earlier.reversed_at is not None:
            line = MoveLine(
                "Moved back on %(date)s; this change does not move it again",
                {"date": earlier.reversed_at.date().isoformat()},
            )
            return MovePlan(application_id, earlier.reference, "", (), line)
        if earlier is not None:
            line = MoveLine(
                "Already moved by this change on %(date)s",
                {"date": earlier.moved_at.date().isoformat()},
            )
            return MovePlan(application_id, earlier.reference, "", (), line)
        plan, record = await move_application(
            uow.session,
            application_id,
            old.version_id,
            new,
            migration,
            names,
            now,
            actor=actor.audit_name,
            actor_department=actor.department,
            details={"change": change_id},
        )
        if record is None:
            await uow.session.rollback()
            return plan
        uow.session.add(
            ApplicationMoveRow(
                id=_new_id(),
                change_id=change_id,
                application_id=application_id,
                reference=plan.reference,
                from_version_id=old.version_id,
                to_version_id=new.version_id,
                before=record.before,
                after_states=record.after_states,
                changes=[line.render("en") for line in plan.changes],
                moved_at=now,
                moved_by=actor.subject,
                moved_by_name=actor.display_name,
            )
        )
        try:
            await uow.commit()
        except IntegrityError:  # a concurrent run moved it first: that run's move stands
            await uow.session.rollback()
            line = MoveLine("Already moved by this change")
            return MovePlan(application_id, plan.reference, plan.state, (), line)
        return plan


async def move_back(
    uow: UnitOfWork, clock: Clock, actor: Principal, change_id: str, application_id: str
) -> None:
    """Move one application back to the version it was on, with its answers and steps as they
    were, while it has not progressed since the move (``MoveRefused`` in words otherwise)."""
    now = clock.now()
    async with uow:
        row = await row_of(uow.session, change_id)
        _, new = await _versions(uow, row)
        if not may_migrate(actor, new.blueprint.owner):
            raise NotAllowed("only the owning department's service owner moves applications back")
        query = select(ApplicationMoveRow).where(
            ApplicationMoveRow.change_id == change_id,
            ApplicationMoveRow.application_id == application_id,
        )
        if uow.is_postgresql:
            query = query.with_for_update()
        move = await uow.session.scalar(query)
        if move is None:
            raise NotFound("this change did not move that application")
        if move.reversed_at is not None:
            raise MoveRefused(
                MoveLine(
                    "Already moved back on %(date)s by %(name)s",
                    {
                        "date": move.reversed_at.date().isoformat(),
                        "name": move.reversed_by_name or "",
                    },
                )
            )
        refusal = await move_application_back(
            uow.session,
            application_id,
            _record(move),
            move.to_version_id,
            now,
            actor=actor.audit_name,
            actor_department=actor.department,
            details={"change": change_id},
        )
        if refusal is not None:
            raise MoveRefused(refusal)
        move.reversed_at, move.reversed_by, move.reversed_by_name = (
            now,
            actor.subject,
            actor.display_name,
        )
        await uow.commit()


async def clear_finished_move_snapshots(
    uow: Callable[[], UnitOfWork], clock: Clock, batch_size: int = 200
) -> int:
    """Clear the snapshot a move record keeps of an application's answers and steps (for moving
    back) once the application is finished: it can no longer move back, and the copy would
    otherwise outlive the answers' own retention (attack review; ADR 0058 amendment). The move
    itself stays on record (versions, who, when, what changed). Returns how many were cleared;
    one audit entry per run that cleared any."""
    now = clock.now()
    cleared = 0
    after = ""
    while True:
        async with uow() as work:
            rows = list(
                await work.session.scalars(
                    select(ApplicationMoveRow)
                    .where(
                        ApplicationMoveRow.before_cleared_at.is_(None),
                        ApplicationMoveRow.id > after,
                    )
                    .order_by(ApplicationMoveRow.id)
                    .limit(batch_size)
                )
            )
            if not rows:
                break
            after = rows[-1].id
            done = 0
            for row in rows:
                found = await find_application(work.session, row.application_id)
                finished = found is None or ApplicationState(found.state).is_final
                if finished or row.reversed_at is not None:  # no move back is possible
                    row.before, row.before_cleared_at = {}, now
                    done += 1
            if done:
                await append_audit(
                    work.session,
                    AuditRecord(
                        actor="system:retention",
                        action=AuditAction.RECORDS_PURGED,
                        subject_type="table",
                        subject_id="governance_application_moves",
                        occurred_at=now,
                        purpose="answers kept for moving back, no longer needed",
                        details={"count": done},
                    ),
                )
            await work.commit()
            cleared += done
    return cleared
