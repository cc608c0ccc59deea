"""The seen-sets of signed callbacks and of batch-file answers (replays and duplicates)."""

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


class ConnectorBatchAnswerRow(Base):
    """One batch-file answer the engine has recorded: the file exchange's seen-set, shared by
    every worker on every host (a key here is never handed to the engine again)."""

    __tablename__ = "connector_batch_answers"

    department: Mapped[str] = mapped_column(String(50), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    file_sha256: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
