"""The full, typed blueprint format: the published JSON Schema and the validator's first pass.

``Blueprint`` (domain.py) stays lenient so stored versions always load; ``ServiceSpec`` is
strict: unknown keys and wrong types are reported with their path.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from civicloom.kernel import LocalisedText

_MODEL_REF = r"^[a-z][a-z0-9-]{1,48}/[a-z][a-z0-9-]{1,60}(@[0-9]+)?$"
_TEMPLATE = r"^[a-z0-9][a-z0-9/_-]{1,120}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class StepKind(StrEnum):
    """What a step does."""

    AUTOMATED = "automated"  # calls a department capability
    OFFICER_REVIEW = "officer_review"  # a human task for a department role
    APPLICANT_ACTION = "applicant_action"  # the applicant provides more information
    PAYMENT = "payment"  # the applicant pays the fee decided by ``fees``
    ISSUE_DOCUMENT = "issue_document"  # the output document (licence) is issued
    NOTIFY = "notify"  # a message to the applicant
    TIMER = "timer"  # wait for a duration


class Sla(_Strict):
    """How long a step (or a timer) may take."""

    working_days: int | None = Field(None, ge=0, le=365)
    seconds: float | None = Field(None, gt=0)


class RetryPolicy(_Strict):
    """How an automated step is retried (exponential backoff with jitter)."""

    max_attempts: int = Field(8, ge=1, le=100)
    initial_seconds: float = Field(1.0, gt=0)
    max_seconds: float = Field(300.0, gt=0)


class DecisionCall(_Strict):
    """Evaluate a department's decision model on inputs referenced from the case."""

    model: str = Field(pattern=_MODEL_REF, description="`department/model-id[@N]`")
    input: dict[str, Any] = Field(
        default_factory=dict, description="Constants or `$.data.…`, `$.steps.<id>.output.…` refs."
    )


class Step(_Strict):
    """A node of the service's step graph."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,60}$")
    kind: StepKind
    title: LocalisedText | None = None
    department: str | None = None
    capability: str | None = Field(None, description="automated: `department.capability`.")
    role: str | None = Field(None, description="officer_review: a role of the department.")
    input: dict[str, Any] = Field(default_factory=dict)
    after: list[str] = Field(default_factory=list, description="Steps that finish first (join).")
    when: str | None = Field(None, description="zen expression; false → the step is skipped.")
    reject_when: str | None = Field(
        None, description="zen expression evaluated on completion; true → application refused."
    )
    decision: DecisionCall | None = Field(None, description="Evaluated when the step completes.")
    sla: Sla | None = None
    retry: RetryPolicy | None = None
    template: str | None = Field(None, pattern=_TEMPLATE, description="notify/applicant_action.")
    duration: Sla | None = Field(None, description="timer: how long to wait.")
    end: bool = Field(False, description="A deliberate end of the journey (not a dead end).")


class FormSpec(_Strict):
    """JSON Schema of the answers (with x-owner/x-prefill/x-visible-to) plus UI hints."""

    json_schema: dict[str, Any] = Field(alias="schema")
    ui: dict[str, Any] = Field(default_factory=dict)


class DocumentSpec(_Strict):
    """A document the applicant uploads."""

    type: str = Field(pattern=r"^[a-z][a-z0-9_-]{1,60}$")
    title: LocalisedText
    required: bool = True
    max_bytes: int = Field(10_485_760, ge=1, le=104_857_600)
    media_types: list[str] = Field(default_factory=lambda: ["application/pdf"])
    visible_to: list[str] = Field(default_factory=list)


NotificationEvent = Literal[
    "submitted",
    "information_requested",
    "payment_requested",
    "approved",
    "refused",
    "issued",
    "deadline_approaching",
]


Channel = Literal["email", "portal"]
_ALL_CHANNELS: tuple[Channel, ...] = ("email", "portal")


class NotificationSpec(_Strict):
    """Which template is sent to the applicant on which milestone."""

    event: NotificationEvent
    template: str = Field(pattern=_TEMPLATE)
    channels: list[Channel] = Field(default_factory=lambda: list(_ALL_CHANNELS))


class CertificateSpec(_Strict):
    """The document the service issues."""

    template: str = Field(pattern=_TEMPLATE)
    title: LocalisedText | None = None
    valid_years: int | None = Field(None, ge=1, le=50)


class OutputsSpec(_Strict):
    """What the service produces."""

    certificate: CertificateSpec | None = None


class DataSharing(_Strict):
    """An agreement under which one department's data is shown to another."""

    agreement: str = Field(description="Reference of the data-sharing agreement.")
    from_department: str = Field(alias="from")
    to_department: str = Field(alias="to")
    fields: list[str] = Field(min_length=1, description="Form fields covered ('*' for all).")
    basis: str = Field(description="Legal basis of the agreement.")


class Baseline(_Strict):
    """The service owner's "before" figures, for KPIs."""

    applications: int = Field(ge=0)
    offices: int = Field(ge=0)
    form_fields: int = Field(ge=0)
    repeated_fields: int = Field(ge=0)
    paper_documents: int = Field(ge=0)
    visits: int = Field(ge=0)
    average_days: float = Field(ge=0)


class ServiceSpec(_Strict):
    """A service blueprint: the versioned, declarative definition of a service."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={
            "$id": "https://civicloom.example/schemas/blueprint.schema.json",
            "title": "civicloom service blueprint",
        },
    )

    id: str = Field(pattern=r"^[a-z][a-z0-9-]{1,60}$")
    version: int = Field(ge=1)
    title: LocalisedText
    description: LocalisedText | None = None
    owner: str = Field(description="Owning department id.")
    reference_prefix: str = Field(pattern=r"^[A-Z]{2,5}$")
    legal_basis: str
    legal_deadline_working_days: int = Field(ge=1, le=365)
    calendar: str = Field(pattern=r"^[a-z][a-z0-9-]{1,60}$", description="Holiday calendar id.")
    baseline: Baseline | None = None
    form: FormSpec
    documents: list[DocumentSpec] = Field(default_factory=list)
    data_sharing: list[DataSharing] = Field(default_factory=list)
    steps: list[Step] = Field(min_length=1)
    fees: DecisionCall | None = None
    notifications: list[NotificationSpec] = Field(default_factory=list)
    outputs: OutputsSpec = Field(default_factory=OutputsSpec)


def blueprint_json_schema() -> dict[str, Any]:
    """The published JSON Schema of the blueprint format."""
    return ServiceSpec.model_json_schema(by_alias=True)
