"""Application table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from civicloom.db import Base, JSONValue, UTCDateTime


class ApplicationRow(Base):
    """An application, pinned to the blueprint version it was submitted on."""

    __tablename__ = "applications"
    __table_args__ = (
        UniqueConstraint("applicant_id", "idempotency_key", name="uq_applications_idempotency"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    reference: Mapped[str] = mapped_column(String(30), unique=True)
    service_id: Mapped[str] = mapped_column(String(100), index=True)
    blueprint_version_id: Mapped[str] = mapped_column(ForeignKey("blueprint_versions.id"))
    blueprint_version: Mapped[int]
    applicant_id: Mapped[str] = mapped_column(String(200), index=True)
    state: Mapped[str] = mapped_column(String(30), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
