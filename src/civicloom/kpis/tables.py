"""KPI aggregates (ADR 0054): applications per service, submission day and current state,
recounted by the worker for the days whose applications changed; public figures read them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, String
from sqlalchemy.orm import Mapped, mapped_column

from civicloom.db import Base, UTCDateTime


class ServiceDayStateRow(Base):
    """How many of a service's applications submitted on a day (UTC) are now in a state."""

    __tablename__ = "kpi_service_day_states"

    service: Mapped[str] = mapped_column(String(100), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    state: Mapped[str] = mapped_column(String(30), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)


class AggregateWatermarkRow(Base):
    """Up to which application change an aggregate was recounted."""

    __tablename__ = "kpi_watermarks"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    changed_upto: Mapped[datetime] = mapped_column(UTCDateTime)
