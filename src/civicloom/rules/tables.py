"""Recorded evaluations: which model version decided what about an application, and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from civicloom.db import Base, JSONValue, UTCDateTime


class RuleEvaluationRow(Base):
    """One evaluation of a decision model that decided something about an application."""

    __tablename__ = "rule_evaluations"
    __table_args__ = (Index("ix_rule_evaluations_model_at", "model", "evaluated_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    application_id: Mapped[str] = mapped_column(String(36), index=True)
    purpose: Mapped[str] = mapped_column(String(100))  # e.g. "fees", "step:zoning"
    model: Mapped[str] = mapped_column(String(120))  # "<department>/<model-id>"
    department: Mapped[str] = mapped_column(String(50))
    version: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64))
    input: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    output: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    trace: Mapped[dict[str, Any]] = mapped_column(JSONValue)  # {"rules": [...], "nodes": {...}}
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime)
