"""The seen-set of signed callbacks (replay and duplicate protection)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from civicloom.db import Base, UTCDateTime


class ConnectorCallbackRow(Base):
    """One verified callback: its signature (replays) and the request it answers (duplicates)."""

    __tablename__ = "connector_callbacks"
    __table_args__ = (Index("ix_connector_callbacks_key", "department", "idempotency_key"),)

    signature: Mapped[str] = mapped_column(String(100), primary_key=True)
    department: Mapped[str] = mapped_column(String(50))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(20))
