"""Application and task entities, states and commands."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from civicloom.kernel import ActingFor, LocalisedText


class ApplicationState(StrEnum):
    """Where an application is in its life."""

    SUBMITTED = "submitted"
    IN_PROGRESS = "in_progress"
    AWAITING_APPLICANT = "awaiting_applicant"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        """No further transitions happen in a final state."""
        return self in FINAL_APPLICATION_STATES


FINAL_APPLICATION_STATES = frozenset(
    {
        ApplicationState.APPROVED,
        ApplicationState.REJECTED,
        ApplicationState.WITHDRAWN,
        ApplicationState.FAILED,
    }
)


class TaskState(StrEnum):
    """Where one step of an application is."""

    WAITING = "waiting"  # its predecessors have not finished
    READY = "ready"  # due for a worker
    RUNNING = "running"  # leased by a worker
    AWAITING_EXTERNAL = "awaiting_external"  # a department (or payment provider) answers later
    AWAITING_OFFICER = "awaiting_officer"
    AWAITING_APPLICANT = "awaiting_applicant"
    COMPLETED = "completed"
    SKIPPED = "skipped"  # its condition was false
    FAILED = "failed"  # dead-lettered; an operator re-drives or abandons
    CANCELLED = "cancelled"  # the application ended first

    @property
    def is_terminal(self) -> bool:
        """The step will not change again (unless re-driven)."""
        return self in (TaskState.COMPLETED, TaskState.SKIPPED, TaskState.CANCELLED)


OPEN_TASK_STATES = frozenset(
    {
        TaskState.WAITING,
        TaskState.READY,
        TaskState.RUNNING,
        TaskState.AWAITING_EXTERNAL,
        TaskState.AWAITING_OFFICER,
        TaskState.AWAITING_APPLICANT,
        TaskState.FAILED,
    }
)


class OfficerDecision(StrEnum):
    """What an officer decides on a review task."""

    APPROVE = "approve"
    REJECT = "reject"


@dataclass(frozen=True)
class SubmitApplication:
    """The command a citizen (or their representative) sends to apply for a service."""

    service_id: str
    data: dict[str, Any]
    idempotency_key: str | None = None
    # For a form about a business: the register's verdict, read before the transaction
    # (``civicloom.registries.verify_acting_for``); without it such a form is refused.
    acting_for: ActingFor | None = None
    # A fixed id, for conformance fixtures only (``civicloom.govstack.fixtures``); every
    # channel a caller reaches leaves it None and the application gets a new random id.
    application_id: str | None = None
    # Set only by the assisted channel (an officer at a service counter, ADR 0044).
    on_behalf: OnBehalf | None = None


@dataclass(frozen=True)
class OnBehalf:
    """An officer applies at a service counter for someone who is there in person (ADR 0044).

    ``person`` is who the business register must name (the personal number on the identity
    document the officer saw), for a form about a business; ``identity`` is what was checked
    (document type, masked number), never an image.
    """

    officer: str  # the officer's audit name
    department: str | None
    counter_id: str
    identity: dict[str, str]
    person: str | None = None


@dataclass(frozen=True)
class ApplicationView:
    """What the applicant may read about their application."""

    id: str
    reference: str
    service_id: str
    blueprint_version: int
    blueprint_version_id: str
    state: ApplicationState
    data: dict[str, Any]
    submitted_at: datetime
    updated_at: datetime
    deadline_at: datetime | None = None
    outcome_reason: str | None = None
    clock_stopped_at: datetime | None = None  # the applicant is asked for information


@dataclass(frozen=True)
class StepStatus:
    """One department step as the applicant's status page shows it."""

    step_id: str
    kind: str
    department: str | None
    state: TaskState
    expected_by: datetime | None
    completed_at: datetime | None
    escalated: bool
    escalated_to: str | None = None  # overdue: also this role's (the step's role stays)
    # waiting for the applicant: the newest question the department asked (from the task, not
    # the timeline, which is read a page at a time)
    open_request: str | None = None


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the application's timeline."""

    at: datetime
    event: str
    step_id: str | None
    department: str | None
    message: str


@dataclass(frozen=True)
class ApplicationStatus:
    """The application with every step's state and a page of the timeline: the portal's status
    page. ``timeline`` is the newest page (or the one a cursor asked for) of what the applicant
    sees, oldest first within the page; ``timeline_older`` / ``timeline_newer`` are the signed
    cursors of the neighbouring pages (None at an end, issue 23)."""

    application: ApplicationView
    steps: list[StepStatus] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)
    fee: dict[str, Any] | None = None  # the fee decision, once the fee model has run
    timeline_older: str | None = None
    timeline_newer: str | None = None


# The reason the engine stores when a step's rule refuses the application (in English, as the
# audit and the API read it); people read it again in their language (issue 19).
STEP_REFUSAL = LocalisedText(
    en="{step} did not allow the application", zh_hans="{step}未准许该申请"
)


def refusal_in_words(titles: Iterable[LocalisedText], reason: str, locale: str) -> str:
    """A stored refusal reason in a reader's language: the engine's own is said again with the
    step's title in that language; an officer's reason is their words, as they wrote them."""
    for title in titles:
        if reason == STEP_REFUSAL.en.format(step=title.en):
            return STEP_REFUSAL.get(locale).format(step=title.get(locale))
    return reason
