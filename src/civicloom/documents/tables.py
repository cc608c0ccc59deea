"""Document and licence tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from civicloom.db import Base, JSONValue, UTCDateTime


class DocumentRow(Base):
    """A stored document's metadata; the bytes are in the document store under ``storage_key``."""

    __tablename__ = "documents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    document_type: Mapped[str] = mapped_column(String(60))
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(120))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage: Mapped[str] = mapped_column(String(20))
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    uploaded_by: Mapped[str] = mapped_column(String(200))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retain_until: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LicenceRow(Base):
    """An issued licence: its signed token, its PDF and whether it was revoked."""

    __tablename__ = "licences"

    id: Mapped[str] = mapped_column(String(30), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    holder: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    activity: Mapped[str] = mapped_column(String(200))
    premises: Mapped[str] = mapped_column(String(300))
    issuing_department: Mapped[str] = mapped_column(String(50))
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime)
    kid: Mapped[str] = mapped_column(String(100))
    token: Mapped[str] = mapped_column(Text)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(200))
    revocation_reason: Mapped[str | None] = mapped_column(String(500))
