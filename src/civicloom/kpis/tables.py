"""KPI aggregates (ADR 0054): applications per service, submission day and current state,
recounted by the worker for the days whose applications changed; public figures read them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, String
from sqlalchemy.orm import Mapped, mapped_column

from civicloom.db import Base, JSONValue, UTCDateTime


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


class KpiReportSnapshotRow(Base):
    """One service's KPI report over one period of submission days, as computed at
    ``generated_at`` (ADR 0061): pages read it instead of recounting the period per request."""

    __tablename__ = "kpi_report_snapshots"

    service: Mapped[str] = mapped_column(String(100), primary_key=True)
    first_day: Mapped[date] = mapped_column(Date, primary_key=True)
    last_day: Mapped[date] = mapped_column(Date, primary_key=True)
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    etag: Mapped[str] = mapped_column(String(64))
    report: Mapped[dict[str, Any]] = mapped_column(JSONValue)


class KpiPeriodRequestRow(Base):
    """A period someone asked for whose report is not stored yet (ADR 0082): the worker
    computes it (oldest ``requested_at`` first) and deletes the row when it stores the report;
    a row nobody asked for again for a day (``seen_at``) is forgotten."""

    __tablename__ = "kpi_period_requests"

    service: Mapped[str] = mapped_column(String(100), primary_key=True)
    first_day: Mapped[date] = mapped_column(Date, primary_key=True)
    last_day: Mapped[date] = mapped_column(Date, primary_key=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
