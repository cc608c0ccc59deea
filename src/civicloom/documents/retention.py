"""Retention of stored documents (ADR 0015, ADR 0050): the bytes go, a tombstone row stays.

A document is due when

- its type declares a retention in the application's blueprint version (``documents[].
  retention``): the application has closed and that period, counted from the closing, is over;
- otherwise (the issued licence, a type a stored version does not declare): its
  ``retain_until`` has passed.

``retain_until`` is never later than either moment, so the candidates are the documents whose
``retain_until`` has passed (an index). Three steps keep remote calls out of transactions
(ADR 0038): a short transaction picks what is due; the bytes are deleted from the store with
no transaction open (deleting an absent object is fine, so a repeat is harmless); a second
transaction marks each document purged and audits it (``document.purged``), skipping one that
another worker marked meanwhile (re-read under ``FOR UPDATE`` on PostgreSQL). A crash between
the two leaves the bytes gone and the row unmarked: the next run deletes nothing and marks it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.applications import ApplicationState, find_application
from civicloom.audit import AuditAction, AuditRecord, append_audit
from civicloom.catalogue import Retention, document_retentions, get_blueprint_version
from civicloom.db import UnitOfWork
from civicloom.documents.ports import DocumentStore
from civicloom.documents.tables import DocumentRow
from civicloom.kernel import Clock
from civicloom.observability import get_logger

log = get_logger(__name__)
RETENTION_ACTOR = "system:retention"


@dataclass(frozen=True)
class PurgedDocument:
    """What the purge removed (ids and hashes only)."""

    id: str
    application_id: str
    document_type: str
    sha256: str
    size_bytes: int


@dataclass(frozen=True)
class _Due:
    document: PurgedDocument
    storage_key: str
    retain_until: datetime
    rule: str  # "closed+P6Y" or "retain_until"


class _Declared:
    """Per application: whether and when it closed, and its document types' retentions."""

    def __init__(self) -> None:
        self._apps: dict[str, tuple[datetime | None, dict[str, Retention]]] = {}
        self._versions: dict[str, dict[str, Retention]] = {}

    async def of(
        self, session: AsyncSession, application_id: str
    ) -> tuple[datetime | None, dict[str, Retention]]:
        if application_id not in self._apps:
            app = await find_application(session, application_id)
            if app is None:
                self._apps[application_id] = (None, {})
                return self._apps[application_id]
            version = app.blueprint_version_id
            if version not in self._versions:
                published = await get_blueprint_version(session, version)
                self._versions[version] = (
                    {} if published is None else document_retentions(published.blueprint)
                )
            closed = app.decided_at or app.updated_at
            final = ApplicationState(app.state).is_final
            self._apps[application_id] = (closed if final else None, self._versions[version])
        return self._apps[application_id]


async def _due_batch(
    uow: UnitOfWork, now: datetime, after: tuple[datetime, str] | None, limit: int
) -> tuple[list[_Due], tuple[datetime, str] | None]:
    """One page of candidates (by ``retain_until``, id after ``after``): those due, and the
    cursor of the next page (None when this was the last)."""
    declared = _Declared()
    async with uow:
        query = select(DocumentRow).where(
            DocumentRow.retain_until <= now, DocumentRow.purged_at.is_(None)
        )
        if after is not None:
            query = query.where(
                or_(
                    DocumentRow.retain_until > after[0],
                    and_(DocumentRow.retain_until == after[0], DocumentRow.id > after[1]),
                )
            )
        rows = list(
            await uow.session.scalars(
                query.order_by(DocumentRow.retain_until, DocumentRow.id).limit(limit)
            )
        )
        due: list[_Due] = []
        for row in rows:
            closed_at, retentions = await declared.of(uow.session, row.application_id)
            retention = retentions.get(row.document_type)
            if retention is not None:
                if closed_at is None or retention.after(closed_at) > now:
                    continue  # the application is open, or closed too recently
                rule = f"closed+{retention.text}"
            else:
                rule = "retain_until"
            document = PurgedDocument(
                row.id, row.application_id, row.document_type, row.sha256, row.size_bytes
            )
            due.append(_Due(document, row.storage_key, row.retain_until, rule))
    cursor = (rows[-1].retain_until, rows[-1].id) if len(rows) == limit else None
    return due, cursor


async def purge_expired_documents(
    uow: UnitOfWork, store: DocumentStore, clock: Clock, dry_run: bool = False, limit: int = 500
) -> list[PurgedDocument]:
    """Delete the bytes of documents past their retention; keep a tombstone row and audit it.

    Pages of at most ``limit`` candidates, each purged before the next is read."""
    now = clock.now()
    found: list[PurgedDocument] = []
    cursor: tuple[datetime, str] | None = None
    while True:
        due, cursor = await _due_batch(uow, now, cursor, limit)
        if dry_run:
            found += [d.document for d in due]
        elif due:
            found += await _purge(uow, store, now, due)
        if cursor is None:
            return found


async def _purge(
    uow: UnitOfWork, store: DocumentStore, now: datetime, due: list[_Due]
) -> list[PurgedDocument]:
    for item in due:  # no transaction open: the store may be remote (S3)
        await store.delete(item.storage_key)
    purged: list[PurgedDocument] = []
    async with uow:
        for item in due:
            query = select(DocumentRow).where(DocumentRow.id == item.document.id)
            if uow.is_postgresql:
                query = query.with_for_update()
            row = await uow.session.scalar(query)
            if row is None or row.purged_at is not None:
                continue  # another worker recorded it
            row.purged_at = now
            await append_audit(
                uow.session,
                AuditRecord(
                    actor=RETENTION_ACTOR,
                    action=AuditAction.DOCUMENT_PURGED,
                    subject_type="application",
                    subject_id=row.application_id,
                    occurred_at=now,
                    purpose="retention period ended",
                    details={
                        "document_id": row.id,
                        "document_type": row.document_type,
                        "sha256": row.sha256,
                        "rule": item.rule,
                    },
                ),
            )
            purged.append(item.document)
            log.info(
                "document_purged",
                document_id=row.id,
                application_id=row.application_id,
                document_type=row.document_type,
                retain_until=item.retain_until.isoformat(),
                rule=item.rule,
            )
        await uow.commit()
    return purged
