"""Tables of the registries module: agreements as stored, consents, data use, representation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from civicloom.db import Base, JSONValue, UTCDateTime


class AgreementRow(Base):
    """A data-sharing agreement as loaded from ``blueprints/agreements``, with its approval."""

    __tablename__ = "registry_agreements"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    capability: Mapped[str] = mapped_column(String(120))
    owner: Mapped[str] = mapped_column(String(60))
    reader: Mapped[str] = mapped_column(String(60))
    consent_required: Mapped[bool] = mapped_column(Boolean)
    approved_by: Mapped[str | None] = mapped_column(String(200))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    terms: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    content_hash: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ConsentRow(Base):
    """An applicant's consent: purpose, fields, departments; granted, expiry, revoked."""

    __tablename__ = "registry_consents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject: Mapped[str] = mapped_column(String(200), index=True)
    service_id: Mapped[str] = mapped_column(String(100))
    purpose: Mapped[str] = mapped_column(Text)
    agreements: Mapped[list[str]] = mapped_column(JSONValue)
    departments: Mapped[list[str]] = mapped_column(JSONValue)
    fields: Mapped[list[str]] = mapped_column(JSONValue)
    draft_id: Mapped[str | None] = mapped_column(String(36))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DataUseRow(Base):
    """One reuse of data a register holds: who read which fields, from where, why, when."""

    __tablename__ = "registry_data_use"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject: Mapped[str] = mapped_column(String(200), index=True)
    draft_id: Mapped[str] = mapped_column(String(36), index=True)
    application_id: Mapped[str | None] = mapped_column(String(36))
    capability: Mapped[str] = mapped_column(String(120))
    owner: Mapped[str] = mapped_column(String(60))
    reader: Mapped[str] = mapped_column(String(60))
    agreement_id: Mapped[str] = mapped_column(String(20))
    consent_id: Mapped[str | None] = mapped_column(String(36))
    legal_basis: Mapped[str] = mapped_column(Text)
    fields: Mapped[list[str]] = mapped_column(JSONValue)
    purpose: Mapped[str] = mapped_column(Text)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RepresentationRow(Base):
    """Whether the business register let an applicant act for a business (kept per draft)."""

    __tablename__ = "registry_representations"
    __table_args__ = (UniqueConstraint("subject", "registration_number", "context_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject: Mapped[str] = mapped_column(String(200))
    registration_number: Mapped[str] = mapped_column(String(40))
    context_id: Mapped[str] = mapped_column(String(36))
    outcome: Mapped[str] = mapped_column(String(20))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DelegatedMandateRow(Base):
    """A director's delegation to another person to act for a business (ADR 0041).

    In force from acceptance until ``valid_until`` unless revoked; ``services`` empty means
    every service. ``granted_by`` must still be a director in the register when it is used.
    """

    __tablename__ = "registry_delegated_mandates"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    registration_number: Mapped[str] = mapped_column(String(40), index=True)
    business_name: Mapped[str] = mapped_column(String(200))
    granted_by: Mapped[str] = mapped_column(String(200))
    delegate: Mapped[str] = mapped_column(String(200), index=True)
    services: Mapped[list[str]] = mapped_column(JSONValue)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(200))
