"""Tables of funding: the daily usage fact table (one row per day, department, service, meter)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from civicloom.db import Base


class UsageFactRow(Base):
    """What one department used of one meter (and detail) for one service on one day (UTC).
    Rebuilt per day by the worker; statements read only this table."""

    __tablename__ = "funding_usage_facts"
    __table_args__ = (Index("ix_funding_usage_facts_department_day", "department", "day"),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    department: Mapped[str] = mapped_column(String(50), primary_key=True)
    service: Mapped[str] = mapped_column(String(100), primary_key=True)
    meter: Mapped[str] = mapped_column(String(40), primary_key=True)
    # the meter's breakdown: a step's connector kind, a register's owner, an API client
    detail: Mapped[str] = mapped_column(String(60), primary_key=True)
    quantity: Mapped[int] = mapped_column(BigInteger)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
