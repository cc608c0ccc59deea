"""Publication at the effective date (the worker's job, ADR 0049): a blueprint version is
published and the one it replaces retired, decision model versions are sealed and every
process's rule book learns them, templates, agreements and tariffs are written as files."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import select

from civicloom.audit import AuditAction
from civicloom.catalogue import get_current_blueprint, publish_blueprint, retire_blueprint
from civicloom.db import UnitOfWork
from civicloom.governance.artifacts import Workspace, dump_model, parse_blueprint, parse_models
from civicloom.governance.domain import ChangeRequest, ChangeState
from civicloom.governance.records import approvals_of, audit_change, to_domain
from civicloom.governance.tables import ChangeRequestRow
from civicloom.kernel import Clock
from civicloom.rules import DecisionModel, ModelStatus, RuleBook


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
        await audit_change(
            uow.session,
            AuditAction.CHANGE_PUBLISHED,
            row,
            actor,
            now,
            row.author_department,
            models=[str(m.ref) for m in models],
        )
        await uow.commit()
        change = to_domain(row, await approvals_of(uow.session, change_id))
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
