"""Tables of the citizen portal: application drafts, saved so an applicant can resume later."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from civicloom.db import Base, JSONValue, UTCDateTime


class DraftRow(Base):
    """An application being filled in: answers so far, prefilled values and their sources."""

    __tablename__ = "portal_drafts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    applicant_id: Mapped[str] = mapped_column(String(200), index=True)
    service_id: Mapped[str] = mapped_column(String(100))
    blueprint_version_id: Mapped[str] = mapped_column(ForeignKey("blueprint_versions.id"))
    data: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    prefilled: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    prefill_consent: Mapped[str | None] = mapped_column(String(10))
    idempotency_key: Mapped[str] = mapped_column(String(64))
    application_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CounterApplicationRow(Base):
    """An application an officer made at a service counter (ADR 0044): the identity check they
    recorded (document type and a masked number, never an image or the whole number), the
    signed declaration they saw, and the claim code's hash (the code itself is only printed)."""

    __tablename__ = "portal_counter_applications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    application_id: Mapped[str] = mapped_column(String(36), unique=True)
    reference: Mapped[str] = mapped_column(String(30))
    service_id: Mapped[str] = mapped_column(String(100))
    officer: Mapped[str] = mapped_column(String(200))
    department: Mapped[str | None] = mapped_column(String(50), index=True)
    represents: Mapped[str] = mapped_column(String(20))  # "person" or "business"
    name_on_document: Mapped[str] = mapped_column(String(200))
    document_type: Mapped[str] = mapped_column(String(30))
    document_number_hint: Mapped[str] = mapped_column(String(20))
    declaration: Mapped[str] = mapped_column(String(40))
    claim_code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    claim_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    # For a business: SHA-256 of the person the register verified at the counter; only they
    # take the application over (a code alone does not make someone the business's director).
    person_hash: Mapped[str | None] = mapped_column(String(64))
    # SHA-256 of the row id and the whole document number: a new claim code needs the document
    # itself, not the three characters the counter list shows (found by review).
    document_number_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FeedbackRow(Base):
    """What a visitor thought of the service, from the Beta banner's link: a rating, an optional
    comment and the page they came from. Anonymous by design: no subject, no address."""

    __tablename__ = "portal_feedback"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    rating: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(String(1200))
    page: Mapped[str] = mapped_column(String(300))
    locale: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
