"""Blueprint version table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from civicloom.db import Base, JSONValue, UTCDateTime


class BlueprintVersionRow(Base):
    """One version of a service blueprint; published versions never change."""

    __tablename__ = "blueprint_versions"
    __table_args__ = (
        UniqueConstraint("service_id", "version", name="uq_blueprint_service_version"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    service_id: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int]
    status: Mapped[str] = mapped_column(String(20))
    owner_department: Mapped[str] = mapped_column(ForeignKey("departments.id"))
    content_hash: Mapped[str] = mapped_column(String(64))
    document: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
