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
from datetime import UTC, datetime
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.audit import AuditAction, AuditRecord, append_audit
from civicloom.catalogue import get_current_blueprint, publish_blueprint, retire_blueprint
from civicloom.db import UnitOfWork
from civicloom.governance.artifacts import (
    Workspace,
    dump_model,
    dump_yaml,
    next_model_files,
    parse_blueprint,
    parse_models,
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
    Approval,
    ApprovedChange,
    ChangeKind,
    ChangeRequest,
    ChangeState,
    CheckResult,
    DiffLine,
)
from civicloom.governance.tables import ChangeApprovalRow, ChangeRequestRow
from civicloom.kernel import (
    Clock,
    Conflict,
    FieldError,
    NotFound,
    Principal,
    SystemClock,
    ValidationFailed,
)
from civicloom.kernel import new_id as _new_id
from civicloom.rules import DecisionModel, ModelStatus, RuleBook
from civicloom.settings import PROJECT_ROOT


class NotAllowed(Conflict):
    """The caller may not do this to this change request (four-eyes, ownership, role)."""

    slug = "forbidden"
    title = "Forbidden"
    status = 403


def _to_domain(row: ChangeRequestRow, approvals: Sequence[ChangeApprovalRow]) -> ChangeRequest:
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
            Approval(a.party, a.approver, a.approver_name, a.approved_at) for a in approvals
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
    )


async def _approvals(session: AsyncSession, change_id: str) -> list[ChangeApprovalRow]:
    rows = await session.scalars(
        select(ChangeApprovalRow)
        .where(ChangeApprovalRow.change_id == change_id)
        .order_by(ChangeApprovalRow.approved_at, ChangeApprovalRow.id)
    )
    return list(rows)


async def _row(session: AsyncSession, change_id: str) -> ChangeRequestRow:
    row = await session.get(ChangeRequestRow, change_id)
    if row is None:
        raise NotFound(f"no change request {change_id!r}")
    return row


async def _audit(
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
        await _audit(
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
        row = await _row(uow.session, change_id)
        if row.author != actor.subject:
            raise NotAllowed("only the author edits a draft")
        if row.state != ChangeState.DRAFT.value:
            raise Conflict(f"change request {change_id} is {row.state}; it can no longer change")
        row.files = {**row.files, **files}
        if base_files:
            row.base_files = {**base_files, **row.base_files}
        row.updated_at = now
        await _audit(
            uow.session,
            AuditAction.CHANGE_EDITED,
            row,
            actor.audit_name,
            now,
            actor.department,
            files=sorted(files),
        )
        await uow.commit()
        return _to_domain(row, await _approvals(uow.session, change_id))


def _default_owner(row: ChangeRequestRow) -> str | None:
    if row.kind == ChangeKind.TEMPLATE.value:
        return row.author_department if not row.target.startswith("common/") else CENTRAL
    return row.author_department


async def _assess(
    session: AsyncSession, ws: Workspace, row: ChangeRequestRow
) -> tuple[list[DiffLine], list[CheckResult]]:
    diff = semantic_diff(row.base_files, row.files, _default_owner(row))
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
        row = await _row(uow.session, change_id)
        approvals = await _approvals(uow.session, change_id)
        if row.state == ChangeState.DRAFT.value:
            diff, checks = await _assess(uow.session, ws, row)
            _store(row, diff, checks)
            change = _to_domain(row, approvals)
            await uow.session.rollback()
            return change
        return _to_domain(row, approvals)


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
        row = await _row(uow.session, change_id)
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
        await _audit(
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
        return _to_domain(row, [])


async def approve_change(
    uow: UnitOfWork, clock: Clock, actor: Principal, change_id: str
) -> ChangeRequest:
    """Approve a submitted change for the one party the approver answers for. Refused: the
    author (four-eyes), a party the change does not need or the approver does not answer for,
    a party that already approved, a person who already approved for another party."""
    now = clock.now()
    async with uow:
        row = await _row(uow.session, change_id)
        if row.state != ChangeState.SUBMITTED.value:
            raise Conflict(f"change request {change_id} is {row.state}; nothing to approve")
        if row.author == actor.subject:
            raise NotAllowed("the author of a change cannot approve it (four-eyes)")
        approvals = await _approvals(uow.session, change_id)
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
        await _audit(
            uow.session,
            AuditAction.CHANGE_APPROVED,
            row,
            actor.audit_name,
            now,
            None if party == CENTRAL else party,
            party=party,
        )
        await uow.commit()
        return _to_domain(row, approvals)


async def withdraw_change(
    uow: UnitOfWork, clock: Clock, actor: Principal, change_id: str, reason: str
) -> ChangeRequest:
    """End a change before publication: the author withdraws it, or an approver it waits for
    refuses it (with a reason)."""
    now = clock.now()
    async with uow:
        row = await _row(uow.session, change_id)
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
        await _audit(
            uow.session,
            AuditAction.CHANGE_WITHDRAWN,
            row,
            actor.audit_name,
            now,
            actor.department,
            reason=reason.strip()[:500],
        )
        await uow.commit()
        return _to_domain(row, await _approvals(uow.session, change_id))


async def get_change(uow: UnitOfWork, change_id: str) -> ChangeRequest:
    """One change request with its approvals."""
    async with uow:
        row = await _row(uow.session, change_id)
        return _to_domain(row, await _approvals(uow.session, change_id))


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
        return [_to_domain(r, by_change[r.id]) for r in rows]


async def list_approved_changes(uow: UnitOfWork, ids: Sequence[str]) -> list[ApprovedChange]:
    """The approved or published changes among ``ids`` (in that order), as a bundle carries
    them; an id that is unknown or not approved is refused (``NotFound`` / ``Conflict``)."""
    found: list[ApprovedChange] = []
    async with uow:
        for change_id in ids:
            row = await _row(uow.session, change_id)
            if row.state not in (ChangeState.APPROVED.value, ChangeState.PUBLISHED.value):
                raise Conflict(f"change request {change_id} is {row.state}, not approved")
            found.append(
                _to_domain(row, await _approvals(uow.session, change_id)).approved_change()
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
        await _audit(
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


def sealed_models(files: Mapping[str, str], effective_at: datetime) -> list[DecisionModel]:
    """The change's decision model versions as published: sealed, in effect from the
    effective date (every process derives the same versions from the same row)."""
    effective = effective_at.astimezone(UTC).date()
    sealed: list[DecisionModel] = []
    for model in parse_models(files):
        metadata = model.metadata.model_copy(
            update={
                "status": ModelStatus.PUBLISHED,
                "valid_from": max(model.metadata.valid_from, effective),
                "content_hash": model.content_hash(),
                "published_at": effective_at,
            }
        )
        sealed.append(model.model_copy(update={"metadata": metadata}))
    return sealed


async def _publish_one(
    uow: UnitOfWork, clock: Clock, ws: Workspace, change_id: str
) -> ChangeRequest | None:
    now = clock.now()
    models: list[DecisionModel] = []
    async with uow:
        query = select(ChangeRequestRow).where(ChangeRequestRow.id == change_id)
        if uow.is_postgresql:
            query = query.with_for_update(skip_locked=True)
        row = await uow.session.scalar(query)
        if row is None or row.state != ChangeState.APPROVED.value:
            return None  # another worker published it, or it was withdrawn meanwhile
        actor = f"change:{row.id}"
        files = dict(row.files)
        for sealed in sealed_models(files, row.effective_at or now):
            files[str(sealed.source)] = dump_model(sealed)
            models.append(sealed)
        for rel, text in files.items():
            if rel.startswith("services/"):
                blueprint = parse_blueprint(text, rel)
                previous = await get_current_blueprint(uow.session, blueprint.id)
                await publish_blueprint(uow.session, blueprint, now, actor=actor)
                if previous is not None and previous.blueprint.version < blueprint.version:
                    # running applications keep the old version; new ones start on this one
                    await retire_blueprint(
                        uow.session, blueprint.id, previous.blueprint.version, now, actor=actor
                    )
        row.files = files
        row.state = ChangeState.PUBLISHED.value
        row.published_at = now
        row.updated_at = now
        await _audit(
            uow.session,
            AuditAction.CHANGE_PUBLISHED,
            row,
            actor,
            now,
            row.author_department,
            models=[str(m.ref) for m in models],
        )
        await uow.commit()
        change = _to_domain(row, await _approvals(uow.session, change_id))
    for model in models:
        ws.book.add(model)
    # Templates, agreements and tariffs are files every process reads; they are written once
    # the publication is committed (a failed write is repeated by ``rewrite_published_files``).
    write_files(
        ws, {k: v for k, v in change.files.items() if not k.startswith(("services/", "rules/"))}
    )
    return change


def write_files(ws: Workspace, files: Mapping[str, str]) -> None:
    """Write published files under ``blueprints/`` atomically."""
    for rel, text in files.items():
        path = (ws.blueprints_dir / rel).resolve()
        if ws.blueprints_dir.resolve() not in path.parents:
            continue  # never outside the blueprints directory
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)


async def publish_due_changes(uow: UnitOfWork, clock: Clock, ws: Workspace) -> int:
    """The worker's job: publish every approved change whose effective date has come, each in
    its own transaction; then bring the process's rule book up to date."""
    now = clock.now()
    async with uow:
        due = list(
            await uow.session.scalars(
                select(ChangeRequestRow.id)
                .where(ChangeRequestRow.state == ChangeState.APPROVED.value)
                .where(ChangeRequestRow.effective_at <= now)
                .order_by(ChangeRequestRow.effective_at, ChangeRequestRow.id)
            )
        )
    published = 0
    for change_id in due:
        if await _publish_one(uow, clock, ws, change_id) is not None:
            published += 1
    await refresh_rule_book(uow, ws.book)
    return published


async def refresh_rule_book(uow: UnitOfWork, book: RuleBook) -> int:
    """Add to ``book`` every decision model version of an approved or published change, in
    effect from the change's effective date: each process's book then agrees with the
    database whichever process approved or published (ADR 0049)."""
    async with uow:
        rows = list(
            await uow.session.scalars(
                select(ChangeRequestRow).where(
                    ChangeRequestRow.state.in_(
                        [ChangeState.APPROVED.value, ChangeState.PUBLISHED.value]
                    )
                )
            )
        )
    added = 0
    for row in rows:
        models = {k: v for k, v in row.files.items() if k.startswith("rules/")}
        if not models or row.effective_at is None:
            continue
        for model in sealed_models(models, row.effective_at):
            if book.add(model):
                added += 1
    return added


async def service_history(uow: UnitOfWork, service_id: str) -> list[ChangeRequest]:
    """Every change request about a service (its blueprint, and its templates), newest first."""
    changes = await list_changes(uow)
    return [
        c
        for c in changes
        if c.target == service_id
        or (c.kind is ChangeKind.TEMPLATE and c.target.startswith(f"{service_id}/"))
    ]
