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


class ApplicationCreate(
    BaseModel,
    json_schema_extra={
        "examples": [
            {
                "service": "open-a-restaurant",
                "data": {
                    "business_registration_number": "BR-2019-004211",
                    "parcel_id": "P-0042-117",
                    "seating": 40,
                },
            }
        ]
    },
):
    """Body of ``POST /api/v1/applications``. The texts of ``data`` pass the inbound-text gate
    in the use case, before the request is hashed, so each bad one is named (``data.<field>``)."""

    model_config = ConfigDict(extra="forbid")

    service: Line = Field(
        min_length=1, max_length=100, description="Service id, e.g. `open-a-restaurant`."
    )
    data: dict[str, Any] = Field(description="Answers to the service's form (its JSON Schema).")


class ApplicationOut(
    BaseModel,
    json_schema_extra={
        "examples": [
            {
                "id": "01JF8ZQ6V3K2M7N4P5R8S9T0WX",
                "reference": "ORR-2026-000042",
                "service": "open-a-restaurant",
                "blueprint_version": 3,
                "state": "in_progress",
                "data": {"business_registration_number": "BR-2019-004211", "seating": 40},
                "submitted_at": "2026-03-02T09:30:00Z",
                "updated_at": "2026-03-02T09:30:00Z",
            }
        ]
    },
):
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


class ServiceOut(
    BaseModel,
    json_schema_extra={
        "examples": [
            {
                "id": "change-of-business-address",
                "version": 2,
                "title": {"en": "Change of business address", "zh-Hans": "企业地址变更"},
                "owner": "local-admin",
                "form_schema": {
                    "type": "object",
                    "required": ["new_address"],
                    "properties": {"new_address": {"type": "string", "minLength": 5}},
                },
            }
        ]
    },
):
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
    escalated_to: str | None = Field(
        description="Overdue: the role it was escalated to, besides its own (e.g. `supervisor`)."
    )


class TimelineEntryOut(BaseModel):
    """One line of the application's timeline."""

    at: datetime
    event: str
    step: str | None
    department: str | None
    message: str


class ApplicationStatusOut(
    BaseModel,
    json_schema_extra={
        "examples": [
            {
                "application": {
                    "id": "01JF8ZQ6V3K2M7N4P5R8S9T0WX",
                    "reference": "ORR-2026-000042",
                    "service": "open-a-restaurant",
                    "blueprint_version": 3,
                    "state": "in_progress",
                    "data": {"business_registration_number": "BR-2019-004211", "seating": 40},
                    "submitted_at": "2026-03-02T09:30:00Z",
                    "updated_at": "2026-03-02T09:30:00Z",
                },
                "deadline_at": "2026-03-16T17:00:00Z",
                "outcome_reason": None,
                "steps": [
                    {
                        "step": "tax_clearance",
                        "kind": "automated",
                        "department": "tax",
                        "state": "completed",
                        "expected_by": "2026-03-03T17:00:00Z",
                        "completed_at": "2026-03-02T09:31:00Z",
                        "escalated": False,
                    }
                ],
                "timeline": [
                    {
                        "at": "2026-03-02T09:30:00Z",
                        "event": "submitted",
                        "step": None,
                        "department": None,
                        "message": "Application received",
                    }
                ],
                "timeline_next": None,
                "timeline_previous": None,
            }
        ]
    },
):
    """The application, every department's step, the overall deadline and the timeline."""

    application: ApplicationOut
    deadline_at: datetime | None
    clock_stopped_at: datetime | None = Field(
        description="Since when the legal deadline stands still: the applicant was asked for "
        "information and has not answered yet (null while the clock runs)."
    )
    outcome_reason: str | None
    steps: list[StepStatusOut]
    timeline: list[TimelineEntryOut] = Field(
        description="A page of the timeline: the newest entries (at most 50), or the page "
        "`cursor` asked for; oldest first within the page."
    )
    timeline_next: str | None = Field(
        default=None,
        description="The next page of the timeline (older entries): pass it as `cursor`. Null "
        'on the oldest page. Also in the `Link` header (`rel="next"`).',
    )
    timeline_previous: str | None = Field(
        default=None,
        description="The previous page of the timeline (newer entries): pass it as `cursor`. "
        'Null on the newest page. Also in the `Link` header (`rel="prev"`).',
    )


class InformationAnswer(
    InboundModel,
    json_schema_extra={
        "examples": [
            {"answer": "The grease trap was installed on 1 March; the invoice is uploaded."}
        ]
    },
):
    """The applicant's answer to a request for more information."""

    model_config = ConfigDict(extra="forbid")

    answer: Text = Field(min_length=1, max_length=5000)
    step_id: str | None = Field(
        None,
        pattern=r"^[a-z][a-z0-9_]{0,99}$",
        description="The step whose question this answers; needed when several departments "
        "wait for the applicant (the answer goes only to the department that asked).",
        examples=["licensing_review"],
    )


class TaskOut(
    BaseModel,
    json_schema_extra={
        "examples": [
            {
                "id": "01JF8ZR2A4B6C8D0E2F4G6H8JK",
                "application_id": "01JF8ZQ6V3K2M7N4P5R8S9T0WX",
                "application_reference": "ORR-2026-000042",
                "service": "open-a-restaurant",
                "step": "labour_review",
                "department": "labour",
                "role": "labour-officer",
                "state": "ready",
                "assignee": None,
                "sla_due_at": "2026-03-09T17:00:00Z",
                "sla": "on_track",
                "escalated": False,
            }
        ]
    },
):
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
    escalated_to: str | None = Field(
        description="Overdue: the role it was escalated to, besides its own (e.g. `supervisor`)."
    )
    clock_stopped_at: datetime | None = Field(
        description="Since when the application's legal deadline stands still (the applicant "
        "was asked for information); null while the clock runs."
    )


class TaskDetailOut(
    TaskOut,
    json_schema_extra={
        "examples": [
            {
                "id": "01JF8ZR2A4B6C8D0E2F4G6H8JK",
                "application_id": "01JF8ZQ6V3K2M7N4P5R8S9T0WX",
                "application_reference": "ORR-2026-000042",
                "service": "open-a-restaurant",
                "step": "labour_review",
                "department": "labour",
                "role": "labour-officer",
                "state": "ready",
                "assignee": None,
                "sla_due_at": "2026-03-09T17:00:00Z",
                "sla": "on_track",
                "escalated": False,
                "data": {"staff_count": 12},
                "output": None,
            }
        ]
    },
):
    """A task with the application data the officer's department may see."""

    data: dict[str, Any]
    output: dict[str, Any] | None


class DecisionIn(
    InboundModel,
    json_schema_extra={
        "examples": [{"decision": "approve", "reason": "Staff count and contracts checked."}]
    },
):
    """An officer's decision on a review task."""

    model_config = ConfigDict(extra="forbid")

    decision: str = Field(pattern="^(approve|reject)$")
    reason: Text | None = Field(default=None, max_length=5000)


class InformationRequestIn(
    InboundModel,
    json_schema_extra={
        "examples": [{"message": "Please upload the employment contracts of your kitchen staff."}]
    },
):
    """An officer's request for more information."""

    model_config = ConfigDict(extra="forbid")

    message: Text = Field(min_length=1, max_length=5000)


class AssignIn(InboundModel, json_schema_extra={"examples": [{"assignee": "staff:otto"}]}):
    """A supervisor's assignment."""

    model_config = ConfigDict(extra="forbid")

    assignee: Line = Field(min_length=1, max_length=200)


class DeadLetterOut(
    BaseModel,
    json_schema_extra={
        "examples": [
            {
                "id": "01JF8ZS0DL5X7Y9Z1A3B5C7D9E",
                "application_id": "01JF8ZQ6V3K2M7N4P5R8S9T0WX",
                "task_id": "01JF8ZR2A4B6C8D0E2F4G6H8JK",
                "department": "labour",
                "capability": "labour.register_employer",
                "attempts": 8,
                "error": "labour: connection refused",
                "payload_summary": {"fields": ["registration_number", "staff_count"]},
                "created_at": "2026-03-02T09:30:00Z",
                "resolution": None,
            }
        ]
    },
):
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
