"""Tables of the back office: officers' internal notes and planned inspections."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from civicloom.db import Base, UTCDateTime


class CaseNoteRow(Base):
    """An officer's internal note on a task: read by the department's staff, never the applicant."""

    __tablename__ = "case_notes"
    __table_args__ = (Index("ix_case_notes_task", "task_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("application_tasks.id"))
    department: Mapped[str] = mapped_column(String(50))
    author: Mapped[str] = mapped_column(String(200))
    author_name: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class InspectionAppointmentRow(Base):
    """A premises inspection an officer planned for a task (shown on the applicant's timeline)."""

    __tablename__ = "inspection_appointments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("application_tasks.id"), index=True)
    department: Mapped[str] = mapped_column(String(50))
    planned_on: Mapped[date] = mapped_column(Date)
    inspector: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
