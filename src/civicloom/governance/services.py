"""Use cases of change requests: draft, edit, submit (diff and checks), approve, withdraw,
publish at the effective date (the worker) and read the history (ADR 0049).

Every use case takes the unit of work (``civicloom.db.UnitOfWork``), opens it, changes the
rows, appends its audit entry (``civicloom.audit.append_audit``) and commits once. The actor is
the ``civicloom.kernel.Principal`` the web layer or CLI authenticated; time comes from an
injected ``civicloom.kernel.Clock``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime

import yaml
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.audit import AuditAction
from civicloom.catalogue import get_current_blueprint
from civicloom.db import UnitOfWork
from civicloom.governance.artifacts import (
    Workspace,
    dump_yaml,
    next_model_files,
    published_files,
    tests_file,
)
from civicloom.governance.checks import run_checks
from civicloom.governance.diff import owners, semantic_diff
from civicloom.governance.domain import (
    AUTHOR_ROLES,
    CENTRAL,
    QUALITY_GATE,
    RULE_OWNER,
    ApprovedChange,
    ChangeKind,
    ChangeRequest,
    ChangeState,
    CheckResult,
    DiffLine,
)
from civicloom.governance.records import approvals_of, audit_change, row_of, to_domain
from civicloom.governance.tables import ChangeApprovalRow, ChangeRequestRow
from civicloom.kernel import (
    Clock,
    Conflict,
    FieldError,
    Principal,
    SystemClock,
    ValidationFailed,
)
from civicloom.kernel import new_id as _new_id
from civicloom.settings import PROJECT_ROOT


class NotAllowed(Conflict):
    """The caller may not do this to this change request (four-eyes, ownership, role)."""

    slug = "forbidden"
    title = "Forbidden"
    status = 403


def may_author(principal: Principal) -> bool:
    """Service owners and rule owners of a department draft change requests."""
    return principal.department is not None and bool(AUTHOR_ROLES & principal.roles)


def parties_of(principal: Principal) -> frozenset[str]:
    """The parties a person may approve for: its department's parts (rule owner) and the
    central quality gate."""
    parties: set[str] = set()
    if RULE_OWNER in principal.roles and principal.department:
        parties.add(principal.department)
    if QUALITY_GATE in principal.roles:
        parties.add(CENTRAL)
    return frozenset(parties)


async def draft_change(
    uow: UnitOfWork,
    clock: Clock,
    ws: Workspace,
    actor: Principal,
    *,
    kind: ChangeKind,
    target: str,
    title: str,
) -> str:
    """Open a draft against the published version of ``target`` (its files copied to edit)."""
    if not may_author(actor):
        raise NotAllowed("only a service owner or rule owner of a department drafts changes")
    if not title.strip():
        raise ValidationFailed([FieldError("title", "required", "Enter a title")])
    base = await published_files(uow, ws, kind, target)
    now = clock.now()
    async with uow:
        row = ChangeRequestRow(
            id=_new_id(),
            kind=kind.value,
            target=target,
            title=title.strip()[:300],
            state=ChangeState.DRAFT.value,
            author=actor.subject,
            author_name=actor.display_name,
            author_department=actor.department,
            files=initial_draft(kind, base),
            base_files=dict(base),
            required=[],
            checks=[],
            diff=[],
            effective_at=None,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(row)
        await uow.session.flush()
        await audit_change(
            uow.session, AuditAction.CHANGE_DRAFTED, row, actor.audit_name, now, actor.department
        )
        await uow.commit()
        return row.id


async def edit_draft(
    uow: UnitOfWork,
    clock: Clock,
    actor: Principal,
    change_id: str,
    files: Mapping[str, str],
    base_files: Mapping[str, str] | None = None,
) -> ChangeRequest:
    """Replace (or add) draft files; only the author edits, only while it is a draft.
    ``base_files`` adds published files a new file is compared with (the model version a fee
    edit starts from)."""
    now = clock.now()
    async with uow:
        row = await row_of(uow.session, change_id)
        if row.author != actor.subject:
            raise NotAllowed("only the author edits a draft")
        if row.state != ChangeState.DRAFT.value:
            raise Conflict(f"change request {change_id} is {row.state}; it can no longer change")
        row.files = {**row.files, **files}
        if base_files:
            row.base_files = {**base_files, **row.base_files}
        row.updated_at = now
        await audit_change(
            uow.session,
            AuditAction.CHANGE_EDITED,
            row,
            actor.audit_name,
            now,
            actor.department,
            files=sorted(files),
        )
        await uow.commit()
        return to_domain(row, await approvals_of(uow.session, change_id))


async def _default_owner(session: AsyncSession, ws: Workspace, row: ChangeRequestRow) -> str | None:
    """Who owns the files no other rule assigns. A service's template belongs to the
    department owning the service (whoever drafted or imported it: an operator importing a
    bundle has no department), as published or else as its blueprint file says; a common
    template to the central team."""
    if row.kind == ChangeKind.TEMPLATE.value:
        service = row.target.split("/", 1)[0]
        if service == "common":
            return CENTRAL
        current = await get_current_blueprint(session, service)
        if current is not None:
            return current.blueprint.owner
        path = ws.blueprints_dir / "services" / service / "blueprint.yaml"
        if path.is_file():
            owner = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("owner")
            if owner:
                return str(owner)
    return row.author_department


async def _assess(
    session: AsyncSession, ws: Workspace, row: ChangeRequestRow
) -> tuple[list[DiffLine], list[CheckResult]]:
    diff = semantic_diff(row.base_files, row.files, await _default_owner(session, ws, row))
    checks = await run_checks(session, ws, row.files, diff)
    return diff, checks


def _store(row: ChangeRequestRow, diff: list[DiffLine], checks: list[CheckResult]) -> None:
    row.diff = [
        {"part": d.part, "message": d.message, "params": dict(d.params), "owner": d.owner}
        for d in diff
    ]
    row.checks = [
        {**asdict(c), "lines": list(c.lines), "params": [dict(p) for p in c.params]} for c in checks
    ]
    row.required = list(owners(diff))


async def preview_change(uow: UnitOfWork, ws: Workspace, change_id: str) -> ChangeRequest:
    """The change with its diff and checks as they would be if submitted now (nothing
    written)."""
    async with uow:
        row = await row_of(uow.session, change_id)
        approvals = await approvals_of(uow.session, change_id)
        if row.state == ChangeState.DRAFT.value:
            diff, checks = await _assess(uow.session, ws, row)
            _store(row, diff, checks)
            change = to_domain(row, approvals)
            await uow.session.rollback()
            return change
        return to_domain(row, approvals)


async def submit_change(
    uow: UnitOfWork,
    clock: Clock,
    ws: Workspace,
    actor: Principal,
    change_id: str,
    effective_at: datetime,
) -> ChangeRequest:
    """Submit a draft for approval at an effective date: the diff is computed, the checks run
    and the parties that must approve are fixed. A draft that fails a check, changes nothing
    or takes effect in the past is refused (nothing written)."""
    now = clock.now()
    async with uow:
        row = await row_of(uow.session, change_id)
        if row.author != actor.subject:
            raise NotAllowed("only the author submits a draft")
        if row.state != ChangeState.DRAFT.value:
            raise Conflict(f"change request {change_id} is {row.state}, not a draft")
        if effective_at < now:
            raise ValidationFailed(
                [FieldError("effective_at", "future", "The effective date must be in the future")]
            )
        diff, checks = await _assess(uow.session, ws, row)
        if not diff:
            raise ValidationFailed([FieldError("files", "changed", "The draft changes nothing")])
        failed = [c for c in checks if not c.passed]
        if failed:
            raise ValidationFailed(
                [FieldError("checks", c.name, "; ".join(c.lines) or c.name) for c in failed],
                f"the draft fails {len(failed)} check(s)",
            )
        _store(row, diff, checks)
        row.state = ChangeState.SUBMITTED.value
        row.effective_at = effective_at
        row.submitted_at = now
        row.updated_at = now
        await audit_change(
            uow.session,
            AuditAction.CHANGE_SUBMITTED,
            row,
            actor.audit_name,
            now,
            actor.department,
            required=row.required,
            effective_at=effective_at.isoformat(),
        )
        await uow.commit()
        return to_domain(row, [])


async def approve_change(
    uow: UnitOfWork, clock: Clock, actor: Principal, change_id: str
) -> ChangeRequest:
    """Approve a submitted change for the one party the approver answers for. Refused: the
    author (four-eyes), a party the change does not need or the approver does not answer for,
    a party that already approved, a person who already approved for another party."""
    now = clock.now()
    async with uow:
        row = await row_of(uow.session, change_id)
        if row.state != ChangeState.SUBMITTED.value:
            raise Conflict(f"change request {change_id} is {row.state}; nothing to approve")
        if row.author == actor.subject:
            raise NotAllowed("the author of a change cannot approve it (four-eyes)")
        approvals = await approvals_of(uow.session, change_id)
        if any(a.approver == actor.subject for a in approvals):
            raise Conflict("you have already approved this change")
        given = {a.party for a in approvals}
        mine = [p for p in row.required if p in parties_of(actor) and p not in given]
        if not mine:
            if any(p in given for p in parties_of(actor)):
                raise Conflict("your department has already approved this change")
            raise NotAllowed("this change touches no part you approve for")
        party = mine[0]
        approval = ChangeApprovalRow(
            id=_new_id(),
            change_id=row.id,
            party=party,
            approver=actor.subject,
            approver_name=actor.display_name,
            approved_at=now,
        )
        uow.session.add(approval)
        approvals.append(approval)
        if {a.party for a in approvals} >= set(row.required):
            row.state = ChangeState.APPROVED.value
        row.updated_at = now
        try:
            await uow.session.flush()
        except IntegrityError as exc:  # a concurrent approval for the same party won
            raise Conflict("this party has already approved this change") from exc
        await audit_change(
            uow.session,
            AuditAction.CHANGE_APPROVED,
            row,
            actor.audit_name,
            now,
            None if party == CENTRAL else party,
            party=party,
        )
        await uow.commit()
        return to_domain(row, approvals)


async def withdraw_change(
    uow: UnitOfWork, clock: Clock, actor: Principal, change_id: str, reason: str
) -> ChangeRequest:
    """End a change before publication: the author withdraws it, or an approver it waits for
    refuses it (with a reason)."""
    now = clock.now()
    async with uow:
        row = await row_of(uow.session, change_id)
        if row.state not in (ChangeState.DRAFT.value, ChangeState.SUBMITTED.value):
            raise Conflict(f"change request {change_id} is {row.state}; it cannot be withdrawn")
        is_approver = row.state == ChangeState.SUBMITTED.value and bool(
            parties_of(actor) & set(row.required)
        )
        if row.author != actor.subject and not is_approver:
            raise NotAllowed("only the author or an approver it waits for ends a change")
        if row.author != actor.subject and not reason.strip():
            raise ValidationFailed([FieldError("reason", "required", "Say why you refuse it")])
        row.state = ChangeState.WITHDRAWN.value
        row.updated_at = now
        await audit_change(
            uow.session,
            AuditAction.CHANGE_WITHDRAWN,
            row,
            actor.audit_name,
            now,
            actor.department,
            reason=reason.strip()[:500],
        )
        await uow.commit()
        return to_domain(row, await approvals_of(uow.session, change_id))


async def list_approved_changes(uow: UnitOfWork, ids: Sequence[str]) -> list[ApprovedChange]:
    """The approved or published changes among ``ids`` (in that order), as a bundle carries
    them; an id that is unknown or not approved is refused (``NotFound`` / ``Conflict``)."""
    found: list[ApprovedChange] = []
    async with uow:
        for change_id in ids:
            row = await row_of(uow.session, change_id)
            if row.state not in (ChangeState.APPROVED.value, ChangeState.PUBLISHED.value):
                raise Conflict(f"change request {change_id} is {row.state}, not approved")
            found.append(
                to_domain(row, await approvals_of(uow.session, change_id)).approved_change()
            )
    return found


def initial_draft(kind: ChangeKind, base: Mapping[str, str]) -> dict[str, str]:
    """The files a new draft starts from: the published ones, with the version raised where
    a kind is versioned (a blueprint's number; a new model version file in draft status)."""
    if kind is ChangeKind.BLUEPRINT:
        (rel, text), *_ = base.items()
        document = yaml.safe_load(text)
        document["version"] = int(document.get("version", 0)) + 1
        return {rel: dump_yaml(document)}
    if kind is ChangeKind.DECISION_MODEL:
        rel = next(k for k in base if k.endswith(".json"))
        return dict(next_model_files(rel, base[rel], base.get(tests_file(rel), "cases: []\n")))
    return dict(base)


async def submit_imported_change(
    uow: UnitOfWork,
    *,
    kind: str,
    target: str,
    title: str,
    files: Mapping[str, str],
    source_environment: str,
    bundle_id: str,
    actor: Principal,
    clock: Clock | None = None,
    ws: Workspace | None = None,
    effective_at: datetime | None = None,
) -> str:
    """Queue a change another environment approved (from a verified bundle) for this
    environment's approvals: the diff is computed against what is published here and every
    check runs again; a change whose checks fail here is refused (``ValidationFailed``, nothing
    written). Returns the new change request's id, in state ``submitted``.

    ``uow`` is a ``civicloom.db.UnitOfWork``; ``actor`` the ``civicloom.kernel.Principal``
    importing (an operator: it may not approve the change either). ``clock`` and ``ws`` default
    to the wall clock and the configured ``blueprints/`` directory; ``effective_at`` to now
    (published as soon as this environment approves).
    """
    clock = clock or SystemClock()
    ws = ws or default_workspace()
    change_kind = ChangeKind(kind)
    base = await published_files(uow, ws, change_kind, target)
    now = clock.now()
    async with uow:
        row = ChangeRequestRow(
            id=_new_id(),
            kind=change_kind.value,
            target=target,
            title=title.strip()[:300] or target,
            state=ChangeState.SUBMITTED.value,
            author=actor.subject,
            author_name=actor.display_name,
            author_department=actor.department,
            files=dict(files),
            base_files=dict(base),
            required=[],
            checks=[],
            diff=[],
            effective_at=effective_at or now,
            created_at=now,
            updated_at=now,
            submitted_at=now,
            source_environment=source_environment[:100],
            bundle_id=bundle_id[:100],
        )
        diff, checks = await _assess(uow.session, ws, row)
        failed = [c for c in checks if not c.passed]
        if failed:
            raise ValidationFailed(
                [FieldError("checks", c.name, f"{c.name}: {'; '.join(c.lines)}") for c in failed],
                f"the imported change fails {len(failed)} check(s) here",
            )
        _store(row, diff, checks)
        uow.session.add(row)
        await uow.session.flush()
        await audit_change(
            uow.session,
            AuditAction.CHANGE_IMPORTED,
            row,
            actor.audit_name,
            now,
            actor.department,
            source_environment=row.source_environment,
            bundle_id=row.bundle_id,
            required=row.required,
        )
        await uow.commit()
        return row.id


def default_workspace() -> Workspace:
    """The project's own ``blueprints/`` directory and its rule book (tests and tools; a
    running platform passes the container's workspace, ``bootstrap.governance_workspace``)."""
    return Workspace.from_directory(PROJECT_ROOT / "blueprints")
