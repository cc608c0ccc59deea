"""Worker heartbeat table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from civicloom.db import Base, UTCDateTime


class WorkerHeartbeatRow(Base):
    """A live worker process and when it was last seen."""

    __tablename__ = "worker_heartbeats"

    worker_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WorkerConnectorStateRow(Base):
    """What one worker last knew of one department's system: its circuit breaker and its
    connector's health probe, written with the worker's heartbeat (ADR 0062)."""

    __tablename__ = "worker_connector_states"

    worker_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    department: Mapped[str] = mapped_column(String(50), primary_key=True)
    breaker_state: Mapped[str] = mapped_column(String(20))
    consecutive_failures: Mapped[int] = mapped_column(Integer)
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    kind: Mapped[str | None] = mapped_column(String(50))
    healthy: Mapped[bool | None] = mapped_column(Boolean)
    detail: Mapped[str | None] = mapped_column(String(500))
    latency_ms: Mapped[float | None] = mapped_column(Float)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)
