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
