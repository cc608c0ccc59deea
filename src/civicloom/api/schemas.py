"""API contract models, kept apart from tables and domain entities."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from civicloom.applications import ApplicationView
from civicloom.kernel import InboundModel, Line, Text

MAX_LIMIT = 200
"""The largest page a list route returns."""
MAX_OFFSET = 1_000_000
"""The deepest page a list route serves; a larger offset is a 422, not a database overflow."""
SERVICE_ID = r"^[a-z][a-z0-9-]{0,99}$"
TASK_STATE = r"^(waiting|ready|running|awaiting_external|awaiting_officer|awaiting_applicant|completed|skipped|failed|cancelled)$"  # noqa: E501


class ApplicationCreate(BaseModel):
    """Body of ``POST /api/v1/applications``. The texts of ``data`` pass the inbound-text gate
    in the use case, before the request is hashed, so each bad one is named (``data.<field>``)."""

    model_config = ConfigDict(extra="forbid")

    service: Line = Field(
        min_length=1, max_length=100, description="Service id, e.g. `open-a-restaurant`."
    )
    data: dict[str, Any] = Field(description="Answers to the service's form (its JSON Schema).")


class ApplicationOut(BaseModel):
    """An application as its applicant sees it."""

    id: str
    reference: str
    service: str
    blueprint_version: int
    state: str
    data: dict[str, Any]
    submitted_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, view: ApplicationView) -> ApplicationOut:
        """Map the domain view."""
        return cls(
            id=view.id,
            reference=view.reference,
            service=view.service_id,
            blueprint_version=view.blueprint_version,
            state=view.state.value,
            data=view.data,
            submitted_at=view.submitted_at,
            updated_at=view.updated_at,
        )


class ServiceOut(BaseModel):
    """A service in the catalogue."""

    id: str
    version: int
    title: dict[str, str]
    owner: str
    form_schema: dict[str, Any]


class CatalogueDrafts(BaseModel):
    """How long an unsent application is kept."""

    retention: str
    counted_from: str
    legal_basis: str


class CatalogueEntryOut(BaseModel):
    """One field or document type of the data catalogue (ADR 0050); describes data, holds none."""

    kind: str = Field(description="`form-field`, `document` or `register-field`.")
    scope: str = Field(description="The service id, or the capability reading the register.")
    name: str
    title: dict[str, str]
    owner: str = Field(description="Owning department id.")
    owner_name: dict[str, str]
    data_class: str = Field(description="`none`, `business`, `personal` or `special-category`.")
    legal_basis: str
    retention: str = Field(description="ISO 8601 period, e.g. `P6Y`.")
    counted_from: str = Field(
        description="`application-closed`, `validity-ended`, `record-ended` or `last-change`."
    )


class DataCatalogueOut(BaseModel):
    """The public data catalogue: every field, document type and register field."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "drafts": {
                        "retention": "P30D",
                        "counted_from": "last-change",
                        "legal_basis": "Applicant's request to save an unfinished application",
                    },
                    "entries": [
                        {
                            "kind": "form-field",
                            "scope": "open-a-restaurant",
                            "name": "director_name",
                            "title": {"en": "Director", "zh-Hans": "董事"},
                            "owner": "local-admin",
                            "owner_name": {"en": "Local Administration", "zh-Hans": "地方行政局"},
                            "data_class": "personal",
                            "legal_basis": "Food Business Licensing Act 2019, s. 12(3)",
                            "retention": "P2Y",
                            "counted_from": "application-closed",
                        }
                    ],
                }
            ]
        }
    )

    drafts: CatalogueDrafts
    entries: list[CatalogueEntryOut]


class StepStatusOut(BaseModel):
    """One department step on the status page."""

    step: str
    kind: str
    department: str | None
    state: str
    expected_by: datetime | None
    completed_at: datetime | None
    escalated: bool


class TimelineEntryOut(BaseModel):
    """One line of the application's timeline."""

    at: datetime
    event: str
    step: str | None
    department: str | None
    message: str


class ApplicationStatusOut(BaseModel):
    """The application, every department's step, the overall deadline and the timeline."""

    application: ApplicationOut
    deadline_at: datetime | None
    outcome_reason: str | None
    steps: list[StepStatusOut]
    timeline: list[TimelineEntryOut]


class InformationAnswer(InboundModel):
    """The applicant's answer to a request for more information."""

    model_config = ConfigDict(extra="forbid")

    answer: Text = Field(min_length=1, max_length=5000)


class TaskOut(BaseModel):
    """A human task in a department's work queue."""

    id: str
    application_id: str
    application_reference: str
    service: str
    step: str
    department: str | None
    role: str | None
    state: str
    assignee: str | None
    sla_due_at: datetime | None
    sla: str
    escalated: bool


class TaskDetailOut(TaskOut):
    """A task with the application data the officer's department may see."""

    data: dict[str, Any]
    output: dict[str, Any] | None


class DecisionIn(InboundModel):
    """An officer's decision on a review task."""

    model_config = ConfigDict(extra="forbid")

    decision: str = Field(pattern="^(approve|reject)$")
    reason: Text | None = Field(default=None, max_length=5000)


class InformationRequestIn(InboundModel):
    """An officer's request for more information."""

    model_config = ConfigDict(extra="forbid")

    message: Text = Field(min_length=1, max_length=5000)


class AssignIn(InboundModel):
    """A supervisor's assignment."""

    model_config = ConfigDict(extra="forbid")

    assignee: Line = Field(min_length=1, max_length=200)


class DeadLetterOut(BaseModel):
    """A department call that failed for good."""

    id: str
    application_id: str
    task_id: str
    department: str | None
    capability: str | None
    attempts: int
    error: str
    payload_summary: dict[str, Any]
    created_at: datetime
    resolution: str | None
