"""Read queries other modules ask of documents, answered with views (ADR 0027)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.db import id_batches
from civicloom.documents.domain import DocumentRef, IssuedLicence
from civicloom.documents.ports import DocumentStore
from civicloom.documents.services import document_ref
from civicloom.documents.tables import DocumentRow, LicenceRow


async def application_documents(
    session: AsyncSession, application_id: str, document_types: Collection[str] | None = None
) -> list[DocumentRef]:
    """An application's documents not purged yet (of the given types only, if given), in
    upload order (one statement)."""
    query = select(DocumentRow).where(
        DocumentRow.application_id == application_id, DocumentRow.purged_at.is_(None)
    )
    if document_types is not None:
        query = query.where(DocumentRow.document_type.in_(sorted(document_types)))
    rows = await session.scalars(query.order_by(DocumentRow.uploaded_at))
    return [document_ref(row) for row in rows]


async def latest_licence(session: AsyncSession, application_id: str) -> IssuedLicence | None:
    """The licence issued last for an application, if any (one statement)."""
    row = await session.scalar(
        select(LicenceRow)
        .where(LicenceRow.application_id == application_id)
        .order_by(LicenceRow.issued_at.desc())
        .limit(1)
    )
    if row is None:
        return None
    return IssuedLicence(
        id=row.id,
        application_id=row.application_id,
        document_id=row.document_id,
        issuing_department=row.issuing_department,
        issued_at=row.issued_at,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        revoked_at=row.revoked_at,
    )


async def uploads_per_application(
    session: AsyncSession, application_ids: Collection[str]
) -> Counter[str]:
    """How many documents applicants uploaded to each application (issued licences, uploaded
    by the system, are not counted): one grouped statement per thousand applications."""
    counts: Counter[str] = Counter()
    for batch in id_batches(application_ids):
        rows = await session.execute(
            select(DocumentRow.application_id, func.count())
            .where(DocumentRow.application_id.in_(batch))
            .where(DocumentRow.uploaded_by.not_like("system:%"))
            .group_by(DocumentRow.application_id)
        )
        counts.update({str(k): int(v) for k, v in rows})
    return counts


async def open_document(
    session: AsyncSession,
    store: DocumentStore,
    application_id: str,
    document_id: str,
    document_types: Collection[str],
) -> tuple[DocumentRef, bytes] | None:
    """A document of the application, not purged, of one of the given types, and its content;
    None otherwise (nothing is read from the store then). The caller audits the read."""
    row = await session.get(DocumentRow, document_id)
    if (
        row is None
        or row.application_id != application_id
        or row.purged_at is not None
        or row.document_type not in document_types
    ):
        return None
    return document_ref(row), await store.get(row.storage_key)


async def stored_documents(
    session: AsyncSession, start: datetime, before: datetime
) -> list[tuple[str, str, int, datetime, datetime | None]]:
    """``(application_id, document_type, size_bytes, stored_at, purged_at)`` of every document
    (uploads and licence PDFs) stored before ``before`` and not purged before ``start``, for
    the funding storage meter (one statement)."""
    rows = await session.execute(
        select(
            DocumentRow.application_id,
            DocumentRow.document_type,
            DocumentRow.size_bytes,
            DocumentRow.uploaded_at,
            DocumentRow.purged_at,
        )
        .where(DocumentRow.uploaded_at < before)
        .where(or_(DocumentRow.purged_at.is_(None), DocumentRow.purged_at >= start))
    )
    return [(str(a), str(t), int(n), at, purged) for a, t, n, at, purged in rows]


async def licences_issued(
    session: AsyncSession, start: datetime, end: datetime
) -> list[tuple[str, str, datetime]]:
    """``(application_id, issuing_department, issued_at)`` of every licence PDF issued in
    ``[start, end)``, for the funding letter/PDF meter (one statement)."""
    rows = await session.execute(
        select(LicenceRow.application_id, LicenceRow.issuing_department, LicenceRow.issued_at)
        .where(LicenceRow.issued_at >= start)
        .where(LicenceRow.issued_at < end)
    )
    return [(str(a), str(d), at) for a, d, at in rows]
