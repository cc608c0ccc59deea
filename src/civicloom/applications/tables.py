"""Tables of applications and their case state: tasks, timeline, dead letters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from civicloom.applications.domain import TaskState
from civicloom.db import Base, JSONValue, UTCDateTime


class ApplicationRow(Base):
    """An application, pinned to the blueprint version it was submitted on."""

    __tablename__ = "applications"
    __table_args__ = (
        UniqueConstraint("applicant_id", "idempotency_key", name="uq_applications_idempotency"),
        # a citizen's list, keyset-paged newest first (issue 23)
        Index("ix_applications_applicant_submitted", "applicant_id", "submitted_at", "id"),
        # a service's period read in chunks, keyset on (submitted_at, id): the KPI report
        # (ADR 0074) reads exactly its chunk's entries, whatever the other services hold
        Index("ix_applications_service_submitted", "service_id", "submitted_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    reference: Mapped[str] = mapped_column(String(30), unique=True)
    service_id: Mapped[str] = mapped_column(String(100), index=True)
    blueprint_version_id: Mapped[str] = mapped_column(ForeignKey("blueprint_versions.id"))
    blueprint_version: Mapped[int]
    applicant_id: Mapped[str] = mapped_column(String(200), index=True)
    state: Mapped[str] = mapped_column(String(30), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # indexed: the KPI aggregates' job reads what changed since its watermark (ADR 0066)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set while the applicant is asked for information: the legal deadline does not run.
    clock_stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome_reason: Mapped[str | None] = mapped_column(Text)
    decisions: Mapped[dict[str, Any] | None] = mapped_column(JSONValue)
    # When the next answer of a closed application runs out of retention (ADR 0050, 0058):
    # the purge reads only applications due, never every closed one.
    data_purge_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


POSTGRES_SEARCH_INDEXES = frozenset(
    {
        "ix_applications_business_name_trgm",
        "ix_applications_director_name_trgm",
        "ix_applications_business_registration_number_upper",
    }
)
"""Expression indexes of the staff case search that exist on PostgreSQL only (``pg_trgm``,
migration 0035, ADR 0065): kept in the migration, not in the models (SQLite has no trigram
operator class), so the models-match-migrations check leaves them out by name."""


SLA_WATCHED_STATES = (
    TaskState.AWAITING_OFFICER.value,
    TaskState.AWAITING_EXTERNAL.value,
    TaskState.READY.value,
    TaskState.RUNNING.value,
    TaskState.FAILED.value,
)
"""Steps whose SLA is watched (reminders)."""
SLA_ESCALATED_STATES = (TaskState.AWAITING_OFFICER.value,)
OPEN_HUMAN_TASK_STATES = (TaskState.AWAITING_OFFICER.value, TaskState.AWAITING_APPLICANT.value)
"""Steps in a department's work queue."""
"""Steps that escalate when overdue: a person's."""


def _in(states: tuple[str, ...]) -> str:
    return ", ".join(f"'{state}'" for state in states)


class TaskRow(Base):
    """One step instance of an application: its state is the case engine's state."""

    __tablename__ = "application_tasks"
    __table_args__ = (
        UniqueConstraint("application_id", "step_id", name="uq_application_tasks_step"),
        Index("ix_application_tasks_due", "state", "due_at"),
        Index("ix_application_tasks_queue", "department", "state"),
        # The work queue, keyset-paged on (due date, id) per department over open human tasks
        # only (issue 23, ADR 0065); the predicate matches ``queries._department_queue``.
        Index(
            "ix_application_tasks_open_queue",
            "department",
            "sla_due_at",
            "id",
            postgresql_where=text(f"state IN ({_in(OPEN_HUMAN_TASK_STATES)})"),
        ),
        # The SLA sweep reads open steps only: partial indexes keep finished ones (millions,
        # at volume) out of its way. Predicates match ``sla.overdue_query``/``reminder_query``.
        Index(
            "ix_application_tasks_sla_overdue",
            "sla_due_at",
            "id",
            postgresql_where=text(f"escalated = false AND state IN ({_in(SLA_ESCALATED_STATES)})"),
        ),
        Index(
            "ix_application_tasks_sla_remind",
            "remind_at",
            "id",
            postgresql_where=text(
                "reminded_at IS NULL AND escalated = false "
                f"AND state IN ({_in(SLA_WATCHED_STATES)})"
            ),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    step_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(30))
    department: Mapped[str | None] = mapped_column(String(50))
    role: Mapped[str | None] = mapped_column(String(100))
    capability: Mapped[str | None] = mapped_column(String(100))
    retry_policy: Mapped[dict[str, Any] | None] = mapped_column(JSONValue)
    state: Mapped[str] = mapped_column(String(30))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    traceparent: Mapped[str | None] = mapped_column(String(60))
    input: Mapped[dict[str, Any] | None] = mapped_column(JSONValue)
    output: Mapped[dict[str, Any] | None] = mapped_column(JSONValue)
    last_error: Mapped[str | None] = mapped_column(Text)
    assignee: Mapped[str | None] = mapped_column(String(200), index=True)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    escalated_to: Mapped[str | None] = mapped_column(String(100))  # besides ``role``
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sla_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TimelineRow(Base):
    """An entry of the one timeline an applicant sees across all departments."""

    __tablename__ = "application_timeline"
    # read a page at a time, newest first, per application: a backward walk from a cursor
    # (issue 23, ADR 0075); it also serves every lookup by application alone
    __table_args__ = (Index("ix_application_timeline_application_id_id", "application_id", "id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    event: Mapped[str] = mapped_column(String(60))
    step_id: Mapped[str | None] = mapped_column(String(100))
    department: Mapped[str | None] = mapped_column(String(50))
    message: Mapped[str] = mapped_column(Text)
    visible_to_applicant: Mapped[bool] = mapped_column(Boolean, default=True)


class DeadLetterRow(Base):
    """A department call that failed for good, waiting for an operator to re-drive or abandon."""

    __tablename__ = "dead_letters"
    # the operator's list, keyset-paged newest first (issue 23)
    __table_args__ = (Index("ix_dead_letters_created", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("application_tasks.id"), index=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    department: Mapped[str | None] = mapped_column(String(50), index=True)
    capability: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(Text)
    payload_summary: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution: Mapped[str | None] = mapped_column(String(20))
    resolved_by: Mapped[str | None] = mapped_column(String(200))


class ReviewRow(Base):
    """An applicant's request that a refusal be looked at again (ADR 0059): one per refusal,
    decided by a reviewer of the refusing department who did not refuse it."""

    __tablename__ = "application_reviews"
    __table_args__ = (
        # One review per refusal: a second request (a replay, a double click) creates nothing.
        UniqueConstraint("application_id", "refused_at", name="uq_application_reviews_refusal"),
        Index("ix_application_reviews_queue", "department", "state"),
        Index("ix_application_reviews_due", "state", "due_at"),  # the deadline sweep
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    refused_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the refusal it is about
    step_id: Mapped[str] = mapped_column(String(100))  # the step that refused
    department: Mapped[str] = mapped_column(String(50))
    refused_by: Mapped[str | None] = mapped_column(String(200))  # None: a rule refused
    refusal_reason: Mapped[str | None] = mapped_column(Text)  # as the applicant read it
    state: Mapped[str] = mapped_column(String(20))  # requested | upheld | overturned
    reason: Mapped[str] = mapped_column(Text)
    document_id: Mapped[str | None] = mapped_column(String(36))
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the review's own SLA
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: asked before 0034
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the reminder, once
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the escalation, once
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(Text)
