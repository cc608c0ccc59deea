"""Document use cases: receive an upload safely, store it, list, read and purge."""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.applications import ApplicationRecord, application_ids_of, find_application
from civicloom.audit import AuditAction, AuditRecord, DataUse, append_audit, data_use_for_subject
from civicloom.catalogue import get_blueprint_version
from civicloom.db import UnitOfWork
from civicloom.documents.domain import (
    REVIEW_EVIDENCE_TYPE,
    DocumentRef,
    DocumentTypeRule,
    FileTooLarge,
    check_type_name,
    default_rule,
    rules_from_blueprint,
    sanitise_filename,
)
from civicloom.documents.inspection import inspect_file
from civicloom.documents.ports import DocumentStore
from civicloom.documents.runtime import DocumentsRuntime
from civicloom.documents.tables import DocumentRow
from civicloom.kernel import (
    Clock,
    FieldError,
    NotFound,
    Principal,
    ValidationFailed,
    new_id,
)
from civicloom.observability import get_logger

log = get_logger(__name__)
_SPOOL_IN_MEMORY = 1024 * 1024


@dataclass(frozen=True)
class Upload:
    """An upload as it arrives: the client's file name and a stream of byte chunks."""

    filename: str
    chunks: AsyncIterator[bytes]


@dataclass
class ReceivedFile:
    """An upload read to the end, within its limit, sniffed and hashed (not yet stored)."""

    filename: str
    media_type: str
    size: int
    sha256: str
    content: BinaryIO

    def close(self) -> None:
        """Discard the spooled bytes."""
        self.content.close()


async def receive_upload(upload: Upload, rule: DocumentTypeRule) -> ReceivedFile:
    """Spool the stream up to the rule's size limit, then sniff and check the content.

    Nothing is stored: a refused file only ever existed in a temporary spool, which is closed.
    """
    filename = sanitise_filename(upload.filename)
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115 - closed below
    digest, size = hashlib.sha256(), 0
    try:
        async for chunk in upload.chunks:
            size += len(chunk)
            if size > rule.max_bytes:
                raise FileTooLarge(rule.max_bytes, rule.type)
            digest.update(chunk)
            spool.write(chunk)
        media_type = await asyncio.to_thread(inspect_file, cast(BinaryIO, spool), rule.media_types)
    except BaseException:
        spool.close()
        raise
    return ReceivedFile(filename, media_type, size, digest.hexdigest(), cast(BinaryIO, spool))


def document_ref(row: DocumentRow) -> DocumentRef:
    """A document row as the view other modules read."""
    return DocumentRef(
        id=row.id,
        application_id=row.application_id,
        document_type=row.document_type,
        filename=row.filename,
        media_type=row.media_type,
        size_bytes=row.size_bytes,
        sha256=row.sha256,
        uploaded_at=row.uploaded_at,
        retain_until=row.retain_until,
    )


async def save_document(
    session: AsyncSession,
    store: DocumentStore,
    received: ReceivedFile,
    *,
    application_id: str,
    document_type: str,
    retain_until: datetime,
    actor: str,
    now: datetime,
) -> DocumentRef:
    """Put the bytes in the store and record the document and its audit entry (caller commits)."""
    document_id = new_id()
    key = f"applications/{application_id}/{document_id}"
    await store.put(key, received.content, received.media_type)
    try:
        row = DocumentRow(
            id=document_id,
            application_id=application_id,
            document_type=document_type,
            filename=received.filename,
            media_type=received.media_type,
            size_bytes=received.size,
            sha256=received.sha256,
            storage=store.name,
            storage_key=key,
            uploaded_by=actor,
            uploaded_at=now,
            retain_until=retain_until,
        )
        session.add(row)
        await session.flush()
        await append_audit(
            session,
            AuditRecord(
                actor=actor,
                action=AuditAction.DOCUMENT_STORED,
                subject_type="application",
                subject_id=application_id,
                occurred_at=now,
                purpose="application document",
                details={
                    "document_id": document_id,
                    "document_type": document_type,
                    "sha256": received.sha256,
                    "size_bytes": received.size,
                    "media_type": received.media_type,
                },
            ),
        )
    except BaseException:
        await store.delete(key)
        raise
    return document_ref(row)


async def store_document(
    session: AsyncSession,
    store: DocumentStore,
    *,
    application_id: str,
    upload: Upload,
    rule: DocumentTypeRule,
    actor: str,
    now: datetime,
) -> DocumentRef:
    """Receive, check and store a document inside the caller's transaction (for the engine)."""
    received = await receive_upload(upload, rule)
    try:
        return await save_document(
            session,
            store,
            received,
            application_id=application_id,
            document_type=rule.type,
            retain_until=rule.earliest_purge(now),
            actor=actor,
            now=now,
        )
    finally:
        received.close()


async def _own_application(
    session: AsyncSession, principal: Principal, application_id: str
) -> ApplicationRecord:
    application = await find_application(session, application_id)
    if application is None or application.applicant_id != principal.subject:
        raise NotFound(f"no application {application_id!r} for this applicant")
    return application


async def check_applicant(uow: UnitOfWork, principal: Principal, application_id: str) -> None:
    """NotFound unless the application is the caller's (before any byte of a body is read)."""
    async with uow:
        await _own_application(uow.session, principal, application_id)


async def document_rule(
    session: AsyncSession,
    runtime: DocumentsRuntime,
    application: ApplicationRecord,
    document_type: str,
    *,
    for_review: bool = False,
) -> DocumentTypeRule:
    """The rule of a document type in the application's blueprint version (or the default).
    A review's supporting document comes only with a request for a review (``for_review``):
    sent as an ordinary upload it would belong to no review and no officer would see it."""
    check_type_name(document_type)
    if (document_type == REVIEW_EVIDENCE_TYPE) != for_review:
        raise ValidationFailed(
            [
                FieldError(
                    "document_type",
                    "known-type",
                    "a review's supporting document is sent with the request for a review",
                )
            ]
        )
    if for_review:
        return default_rule(document_type, runtime.max_bytes, runtime.retention_days)
    published = await get_blueprint_version(session, application.blueprint_version_id)
    section = published.blueprint.document_sections() if published else None
    rules = rules_from_blueprint(section, runtime.max_bytes, runtime.retention_days)
    if not rules:
        return default_rule(document_type, runtime.max_bytes, runtime.retention_days)
    if document_type not in rules:
        known = ", ".join(sorted(rules))
        raise ValidationFailed(
            [FieldError("document_type", "known-type", f"this service accepts: {known}")]
        )
    return rules[document_type]


async def upload_document(
    uow: UnitOfWork,
    runtime: DocumentsRuntime,
    clock: Clock,
    principal: Principal,
    application_id: str,
    document_type: str,
    upload: Upload,
    *,
    handed_in_by: Principal | None = None,
    for_review: bool = False,
) -> DocumentRef:
    """An applicant adds a document to their application.

    Authorisation and the blueprint's rule come first; the body is then streamed without a
    transaction open, and only a file that passed every check is stored and recorded.
    ``handed_in_by``: the counter officer who uploads it for the applicant (ADR 0044), who is
    then the audit entry's actor; the rules are the applicant's, unchanged.
    """
    async with uow:
        application = await _own_application(uow.session, principal, application_id)
        rule = await document_rule(
            uow.session, runtime, application, document_type, for_review=for_review
        )
    received = await receive_upload(upload, rule)
    try:
        async with uow:
            now = clock.now()
            ref = await save_document(
                uow.session,
                runtime.store,
                received,
                application_id=application_id,
                document_type=rule.type,
                retain_until=rule.earliest_purge(now),
                actor=(handed_in_by or principal).audit_name,
                now=now,
            )
            try:
                await uow.commit()
            except BaseException:
                await runtime.store.delete(f"applications/{application_id}/{ref.id}")
                raise
    finally:
        received.close()
    return ref


async def list_documents(
    uow: UnitOfWork, principal: Principal, application_id: str
) -> list[DocumentRef]:
    """The documents still held for one of the caller's applications."""
    async with uow:
        await _own_application(uow.session, principal, application_id)
        rows = await uow.session.scalars(
            select(DocumentRow)
            .where(DocumentRow.application_id == application_id, DocumentRow.purged_at.is_(None))
            .order_by(DocumentRow.uploaded_at)
        )
        return [document_ref(r) for r in rows]


async def read_document(
    uow: UnitOfWork,
    runtime: DocumentsRuntime,
    clock: Clock,
    principal: Principal,
    application_id: str,
    document_id: str,
) -> tuple[DocumentRef, bytes]:
    """Download one of the caller's documents; the read is audited."""
    async with uow:
        await _own_application(uow.session, principal, application_id)
        row = await uow.session.get(DocumentRow, document_id)
        if row is None or row.application_id != application_id or row.purged_at is not None:
            raise NotFound(f"no document {document_id!r} in this application")
        content = await runtime.store.get(row.storage_key)
        await append_audit(
            uow.session,
            AuditRecord(
                actor=principal.audit_name,
                action=AuditAction.DOCUMENT_READ,
                subject_type="application",
                subject_id=application_id,
                occurred_at=clock.now(),
                purpose="applicant downloads own document",
                fields=(f"document:{row.document_type}",),
                details={"document_id": row.id},
            ),
        )
        ref = document_ref(row)
        await uow.commit()
    return ref, content


async def data_use_of_citizen(uow: UnitOfWork, principal: Principal) -> list[DataUse]:
    """ "Who used my data": every read of personal data in the caller's applications."""
    async with uow:
        ids = await application_ids_of(uow.session, principal.subject)
        return await data_use_for_subject(uow.session, ids, reader_subject=principal.subject)


async def discard_review_document(
    uow: UnitOfWork,
    runtime: DocumentsRuntime,
    clock: Clock,
    principal: Principal,
    application_id: str,
    document_id: str,
) -> None:
    """A review's supporting document whose request was then refused (a second click, or the
    window closing meanwhile): its bytes are deleted (outside any transaction: the store may be
    remote) and its row kept as a tombstone, audited. Only the applicant's own, unclaimed
    review document; anything else is left alone."""
    async with uow:
        await _own_application(uow.session, principal, application_id)
        row = await uow.session.get(DocumentRow, document_id)
        if (
            row is None
            or row.application_id != application_id
            or row.document_type != REVIEW_EVIDENCE_TYPE
            or row.purged_at is not None
        ):
            return
        key = row.storage_key
    await runtime.store.delete(key)
    async with uow:
        row = await uow.session.get(DocumentRow, document_id)
        if row is None or row.purged_at is not None:
            return
        now = clock.now()
        row.purged_at = now
        await append_audit(
            uow.session,
            AuditRecord(
                actor=principal.audit_name,
                action=AuditAction.DOCUMENT_PURGED,
                subject_type="application",
                subject_id=application_id,
                occurred_at=now,
                purpose="review request refused",
                details={
                    "document_id": document_id,
                    "document_type": REVIEW_EVIDENCE_TYPE,
                    "sha256": row.sha256,
                },
            ),
        )
        await uow.commit()
