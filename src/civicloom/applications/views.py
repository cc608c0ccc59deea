"""What other modules may read about applications and their tasks: frozen views, never rows.

The tables stay private to this module (ADR 0027); these views are the read side of its
public surface, built by ``civicloom.applications.queries`` and the casework use cases.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from civicloom.kernel.keyset import Position


@dataclass(frozen=True)
class ApplicationHeader:
    """An application as a work queue names it: no form data."""

    id: str
    reference: str
    service_id: str
    state: str
    submitted_at: datetime
    blueprint_version_id: str
    deadline_at: datetime | None = None
    clock_stopped_at: datetime | None = None  # the applicant is asked for information


@dataclass(frozen=True)
class ApplicationRecord:
    """An application as other modules use it (notifications, documents, payments)."""

    id: str
    reference: str
    service_id: str
    applicant_id: str
    state: str
    blueprint_version_id: str
    blueprint_version: int
    data: dict[str, Any]
    decisions: dict[str, Any]  # empty until a decision model has run
    submitted_at: datetime
    updated_at: datetime
    deadline_at: datetime | None
    decided_at: datetime | None


@dataclass(frozen=True)
class ApplicantApplication:
    """One line of an applicant's list of applications, with the service's title."""

    id: str
    reference: str
    service_title: dict[str, str]
    state: str
    submitted_at: datetime
    updated_at: datetime
    deadline_at: datetime | None


@dataclass(frozen=True)
class TaskView:
    """A step instance as officers, supervisors and operators see it."""

    id: str
    application: ApplicationHeader
    step_id: str
    kind: str
    department: str | None
    role: str | None
    state: str
    assignee: str | None
    escalated: bool
    sla_due_at: datetime | None
    attempts: int
    input: dict[str, Any] | None
    output: dict[str, Any] | None
    idempotency_key: str  # what an external completion of this task must name
    escalated_to: str | None = None  # overdue: also a supervisor's (the role stays)
    activated_at: datetime | None = None  # the step started (its predecessors finished)
    completed_at: datetime | None = None

    @property
    def application_id(self) -> str:
        """The application the task belongs to."""
        return self.application.id


@dataclass(frozen=True)
class DeadLetterView:
    """A department call that failed for good, as the operator sees it."""

    id: str
    application_id: str
    task_id: str
    department: str | None
    capability: str | None
    attempts: int
    error: str
    payload_summary: dict[str, Any]
    created_at: datetime
    resolved_at: datetime | None
    resolution: str | None
    resolved_by: str | None


@dataclass(frozen=True)
class CaseEvent:
    """One timeline entry as staff see it (with the internal ones)."""

    at: datetime
    event: str
    step_id: str | None
    department: str | None
    message: str
    visible_to_applicant: bool


@dataclass(frozen=True)
class DepartmentQueueQuery:
    """A department's queue of open human tasks: filters and the page wanted.

    ``sla`` is ``breached`` (past due), ``due_soon`` (due within ``due_soon``), ``on_track``
    (no due date, or due later than that) or ``not_breached`` (no due date, or not past due).
    ``position`` is where the page starts (keyset on due date then id, issue 23; None: the
    first page).
    """

    department: str
    service: str | None = None
    state: str | None = None
    assignee: str | None = None
    sla: str | None = None
    due_soon: timedelta = timedelta(days=2)
    limit: int = 25
    position: Position | None = None

    @property
    def scope(self) -> str:
        """What a cursor of this queue is bound to: the department and every filter."""
        filters = (self.service, self.state, self.assignee, self.sla)
        return "|".join(("queue", self.department, *(value or "" for value in filters)))


QUEUE_COUNT_CAP = 1000
"""A queue counts its tasks up to this many ("1,000 or more"): a count never walks a whole
department's queue (issue 23)."""


@dataclass(frozen=True)
class QueueSlice:
    """One page of a queue, how many tasks match (up to ``QUEUE_COUNT_CAP``; ``capped``: more)
    and where its neighbouring pages start (None at an end)."""

    tasks: list[TaskView]
    total: int
    capped: bool = False
    next: Position | None = None
    previous: Position | None = None


@dataclass(frozen=True)
class AssigneeLoad:
    """Open tasks held by one officer (``None``: nobody has claimed them)."""

    assignee: str | None
    open: int
    breached: int


@dataclass(frozen=True)
class ApplicationFacts:
    """An application as the KPI computation counts it."""

    id: str
    state: str
    submitted_at: datetime
    decided_at: datetime | None
    fields: frozenset[str]  # the names of the answered fields, never the answers


@dataclass(frozen=True)
class StepFacts:
    """A task as the KPI computation counts it."""

    application_id: str
    step_id: str
    kind: str
    department: str | None
    state: str
    activated_at: datetime | None
    completed_at: datetime | None
    sla_due_at: datetime | None


@dataclass(frozen=True)
class ServiceCaseFacts:
    """A chunk of a service's applications submitted in a period (in ``(submitted_at, id)``
    order), their tasks, and how many times each applicant answered a request for more
    information (``service_case_facts``, ADR 0074)."""

    applications: list[ApplicationFacts] = field(default_factory=list)
    steps: list[StepFacts] = field(default_factory=list)
    answers: Counter[str] = field(default_factory=Counter)

    @property
    def application_ids(self) -> list[str]:
        """The ids of the applications, in a stable order."""
        return sorted(a.id for a in self.applications)


@dataclass(frozen=True)
class QueueFigure:
    """Open tasks of a department in one state, and since when the oldest waits."""

    department: str | None
    state: str
    count: int
    oldest: datetime | None


@dataclass(frozen=True)
class CaseFigures:
    """Operational figures of the case engine at one moment (for ``/metrics``)."""

    applications: list[tuple[str, str, int]]  # service, state, count
    queues: list[QueueFigure]
    breached_open: list[tuple[str | None, int]]  # department, count
    breached_done: list[tuple[str | None, int]]
    retries: list[tuple[str | None, int]]
    dead_letters: list[tuple[str | None, int]]


@dataclass(frozen=True)
class UsageRecord:
    """One metered thing the case engine did: an application submitted (``kind`` is
    ``"application"``) or a task completed (``kind`` is its step kind), for funding meters."""

    service: str
    department: str | None
    kind: str
    at: datetime
    amount: str | None = None  # a payment step: the fee it asked for (its input's ``amount``)
    capability: str | None = None  # the department capability an automated step called
    task_id: str | None = None
    application_id: str | None = None
