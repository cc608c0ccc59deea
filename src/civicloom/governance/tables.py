"""Tables of governance: change requests and their approvals (ADR 0049)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from civicloom.db import Base, JSONValue, UTCDateTime


class ChangeRequestRow(Base):
    """One change request: its draft files, the published files it was drafted against, the
    checks' results, the semantic diff and the parties whose approval it needs."""

    __tablename__ = "governance_change_requests"
    __table_args__ = (
        Index("ix_governance_change_requests_target", "kind", "target"),
        Index("ix_governance_change_requests_state_effective", "state", "effective_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    target: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(20))
    author: Mapped[str] = mapped_column(String(200))
    author_name: Mapped[str] = mapped_column(String(200))
    author_department: Mapped[str | None] = mapped_column(String(50))
    files: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    base_files: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    required: Mapped[list[Any]] = mapped_column(JSONValue)
    checks: Mapped[list[Any]] = mapped_column(JSONValue)
    diff: Mapped[list[Any]] = mapped_column(JSONValue)
    effective_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source_environment: Mapped[str | None] = mapped_column(String(100))
    bundle_id: Mapped[str | None] = mapped_column(String(100))
    # how running applications may move to the new version (ADR 0058); None: they stay
    migration: Mapped[dict[str, Any] | None] = mapped_column(JSONValue, nullable=True)


class ChangeApprovalRow(Base):
    """One party's approval; a party approves once and a person approves for one party."""

    __tablename__ = "governance_change_approvals"
    __table_args__ = (
        UniqueConstraint("change_id", "party", name="uq_governance_change_approvals_party"),
        UniqueConstraint("change_id", "approver", name="uq_governance_change_approvals_approver"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    change_id: Mapped[str] = mapped_column(ForeignKey("governance_change_requests.id"), index=True)
    party: Mapped[str] = mapped_column(String(50))
    approver: Mapped[str] = mapped_column(String(200))
    approver_name: Mapped[str] = mapped_column(String(200))
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApplicationMoveRow(Base):
    """One application moved by a change request's migration (ADR 0058): what it was before
    (to move it back), the step states right after, who moved it and who moved it back. One
    row per change and application: a repeated run moves nothing twice."""

    __tablename__ = "governance_application_moves"
    __table_args__ = (
        UniqueConstraint(
            "change_id", "application_id", name="uq_governance_application_moves_application"
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    change_id: Mapped[str] = mapped_column(ForeignKey("governance_change_requests.id"), index=True)
    application_id: Mapped[str] = mapped_column(String(36), index=True)
    reference: Mapped[str] = mapped_column(String(30))
    from_version_id: Mapped[str] = mapped_column(String(36))
    to_version_id: Mapped[str] = mapped_column(String(36))
    before: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    after_states: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    changes: Mapped[list[Any]] = mapped_column(JSONValue)
    moved_at: Mapped[datetime] = mapped_column(UTCDateTime)
    moved_by: Mapped[str] = mapped_column(String(200))
    moved_by_name: Mapped[str] = mapped_column(String(200))
    reversed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reversed_by: Mapped[str | None] = mapped_column(String(200))
    reversed_by_name: Mapped[str | None] = mapped_column(String(200))
    # when the snapshot of the answers and steps before the move was cleared: the application
    # finished (it can no longer move back), so the copy of its answers is not kept (ADR 0058)
    before_cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
