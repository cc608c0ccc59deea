"""The one typed blueprint: every section the platform reads, and the published JSON Schema.

``Blueprint`` is strict — an unknown key or a wrong type is reported with its path — and it is
the only model of a blueprint: the validator, the case engine, the portal, the back office,
notifications, documents and KPIs all read its typed sections (ADR 0030).

Published versions are stored as documents and identified by a content hash, so the model
keeps the stored format byte for byte: ``document()`` dumps only what the author wrote (plus the
two keys the format always stored, ``description`` and ``form.ui``) and numbers keep their type
(``1`` stays ``1``, it does not become ``1.0``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from civicloom.kernel import LocalisedText, canonical_json, sha256_hex

_MODEL_REF = r"^[a-z][a-z0-9-]{1,48}/[a-z][a-z0-9-]{1,60}(@[0-9]+)?$"
_TEMPLATE = r"^[a-z0-9][a-z0-9/_-]{1,120}$"
_KIND_NAME = r"^[a-z][a-z0-9_]{1,40}$"
# An author's number as written: ``1`` stays an int so a stored version's content hash holds.
Number = int | float


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class StepKind(StrEnum):
    """What a step does: the platform's built-in step kinds (one handler module each)."""

    AUTOMATED = "automated"  # calls a department capability
    OFFICER_REVIEW = "officer_review"  # a human task for a department role
    APPLICANT_ACTION = "applicant_action"  # the applicant provides more information
    PAYMENT = "payment"  # the applicant pays the fee decided by ``fees``
    ISSUE_DOCUMENT = "issue_document"  # the output document (licence) is issued
    NOTIFY = "notify"  # a message to the applicant
    TIMER = "timer"  # wait for a duration


def _kind(value: Any) -> Any:
    """A built-in kind name becomes its ``StepKind``; another name stays a string, to be found
    in the engine's step-kind registry (blueprint validation refuses names it does not know)."""
    if isinstance(value, str) and value in StepKind._value2member_map_:
        return StepKind(value)
    return value


StepKindName = Annotated[
    StepKind | Annotated[str, Field(pattern=_KIND_NAME)], BeforeValidator(_kind)
]


class Sla(_Strict):
    """How long a step (or a timer) may take."""

    working_days: int | None = Field(None, ge=0, le=365)
    seconds: Number | None = Field(None, gt=0)


class RetryPolicy(_Strict):
    """How an automated step is retried (exponential backoff with jitter)."""

    max_attempts: int = Field(8, ge=1, le=100)
    initial_seconds: Number = Field(1.0, gt=0)
    max_seconds: Number = Field(300.0, gt=0)


DEFAULT_ANSWER_WITHIN_SECONDS = 48 * 3600
"""How long a department may take to answer an accepted call when the blueprint does not say."""


class ExternalWait(_Strict):
    """How long an automated step waits for a department's late answer (callback, batch file,
    event). When the time is up the engine asks the department (the connector's status poll,
    where it has one), then calls again under the step's retry policy, then dead-letters."""

    timeout_seconds: Number = Field(DEFAULT_ANSWER_WITHIN_SECONDS, gt=0, le=366 * 86400)


class DeadlineAction(StrEnum):
    """What happens when an application's legal deadline passes with no decision (ADR 0053)."""

    MARK_OVERDUE = "mark_overdue"  # the default: timeline, audit entry, event; nothing more
    ESCALATE = "escalate"  # also: every open officer step goes to the supervisors, role kept
    DEEMED_APPROVAL = "deemed_approval"  # the law says silence is consent: approved


class DeadlinePassed(_Strict):
    """The blueprint's answer to "the legal deadline passed undecided" (ADR 0053)."""

    action: DeadlineAction = DeadlineAction.MARK_OVERDUE
    reason: str | None = Field(
        None,
        max_length=500,
        description="The legal provision behind a deemed approval, quoted as the approval's "
        "reason (required for `deemed_approval`).",
    )

    @model_validator(mode="after")
    def _deemed_approval_names_its_law(self) -> DeadlinePassed:
        if self.action is DeadlineAction.DEEMED_APPROVAL and not (self.reason or "").strip():
            raise ValueError("a deemed approval must quote its legal provision in `reason`")
        return self


class DecisionDay(StrEnum):
    """Which day's version of a decision model decides."""

    SUBMISSION = "submission"  # the law in force when the applicant applied (the default)
    DECISION = "decision"  # the law in force on the day the step decides


class DecisionCall(_Strict):
    """Evaluate a department's decision model on inputs referenced from the case."""

    model: str = Field(pattern=_MODEL_REF, description="`department/model-id[@N]`")
    input: dict[str, Any] = Field(
        default_factory=dict, description="Constants or `$.data.…`, `$.steps.<id>.output.…` refs."
    )
    on: DecisionDay = Field(
        DecisionDay.SUBMISSION,
        description="Whose date picks the model version: the application's `submission` "
        "(default) or the step's `decision`.",
    )


class Step(_Strict):
    """A node of the service's step graph."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,60}$")
    kind: StepKindName = Field(description="A built-in StepKind, or a kind a deployment adds.")
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
    external_wait: ExternalWait | None = Field(
        None, description="automated: how long to wait for a late answer (default 48 h)."
    )
    template: str | None = Field(None, pattern=_TEMPLATE, description="notify/applicant_action.")
    duration: Sla | None = Field(None, description="timer: how long to wait.")
    end: bool = Field(False, description="A deliberate end of the journey (not a dead end).")


class FormSpec(_Strict):
    """JSON Schema of the answers (with x-owner/x-prefill/x-visible-to) plus UI hints."""

    json_schema: dict[str, Any] = Field(alias="schema")
    ui: dict[str, Any] = Field(default_factory=dict)

    @property
    def fields(self) -> dict[str, Any]:
        """The form's fields (``schema.properties``) by name."""
        return dict(self.json_schema.get("properties") or {})

    @property
    def precheck(self) -> Precheck | None:
        """The eligibility pre-check declared in ``ui.precheck``, if any."""
        raw = self.ui.get("precheck")
        return None if raw is None else Precheck.model_validate(raw)


class Precheck(BaseModel):
    """The eligibility pre-check: questions asked before applying, and register lookups.

    Read leniently (a stored version's unknown key never breaks its pages); the validator
    refuses unknown keys before publication (``StrictPrecheck``).
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    questions: list[str] = Field(default_factory=list)
    lookups: list[str] = Field(default_factory=list)


class StrictPrecheck(Precheck):
    """``ui.precheck`` as publication requires it: no unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class _Owned(_Strict):
    """Who owns a document type, what kind of data it is, why and how long it is kept (ADR
    0050): optional here so every stored version loads; required to publish (ownership.py)."""

    owner: str | None = Field(None, description="Department that owns the document.")
    data_class: str | None = Field(
        None, description="none, business, personal or special-category."
    )
    legal_basis: str | None = Field(None, description="Why it is held.")
    retention: str | None = Field(
        None, description="ISO 8601 period after the application closes, e.g. `P6Y`."
    )


class DocumentSpec(_Owned):
    """A document the applicant uploads."""

    type: str = Field(pattern=r"^[a-z][a-z0-9_-]{1,60}$")
    title: LocalisedText | None = None  # required to publish (validation.py)
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


class HolderSpec(_Strict):
    """Who the issued document names: constants or ``$.data``/``$.steps`` references."""

    name: str = Field(description="The holder's name, e.g. `$.data.business_name`.")
    registration_number: str | None = None
    address: str | None = Field(None, description="The premises or address the document covers.")


CERTIFICATE_TYPE = "licence"
"""The document type of what a service issues (``civicloom.documents`` stores it so)."""


class CertificateSpec(_Owned):
    """The document the service issues (its retention runs from the end of its validity)."""

    template: str = Field(pattern=_TEMPLATE)
    title: LocalisedText | None = None
    valid_years: int | None = Field(None, ge=1, le=50)
    holder: HolderSpec | None = Field(
        None, description="Whom it names; without it, the applicant's id and no address."
    )


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
    average_days: Number = Field(ge=0)


class Blueprint(_Strict):
    """A service blueprint: the versioned, declarative definition of a service.

    ``legal_basis``, ``legal_deadline_working_days``, ``calendar``, at least one step and each
    document's title are required to publish (``civicloom blueprint validate``); the model
    itself accepts versions stored without them, so every stored version loads unchanged.
    """

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        frozen=True,
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
    legal_basis: str | None = None
    legal_deadline_working_days: int | None = Field(None, ge=1, le=365)
    calendar: str | None = Field(
        None, pattern=r"^[a-z][a-z0-9-]{1,60}$", description="Holiday calendar id."
    )
    deadline_passed: DeadlinePassed | None = Field(
        None,
        description="What happens when the legal deadline passes undecided (default: the "
        "application is marked overdue).",
    )
    baseline: Baseline | None = None
    form: FormSpec
    documents: list[DocumentSpec] = Field(default_factory=list)
    data_sharing: list[DataSharing] = Field(default_factory=list)
    steps: list[Step] = Field(default_factory=list)
    fees: DecisionCall | None = None
    notifications: list[NotificationSpec] = Field(default_factory=list)
    outputs: OutputsSpec = Field(default_factory=OutputsSpec)

    def document(self) -> dict[str, Any]:
        """The stored document: what the author wrote, as plain JSON (aliases preserved)."""
        doc = self.model_dump(mode="json", by_alias=True, exclude_unset=True)
        # The format has always stored these two, set or not; the content hash depends on it.
        doc.setdefault("description", None)
        doc["form"].setdefault("ui", {})
        return doc

    def content_hash(self) -> str:
        """SHA-256 of the canonical document: a published version's identity."""
        return sha256_hex(canonical_json(self.document()))

    def notification_for(self, event: str) -> NotificationSpec | None:
        """The notification declared for a milestone, if any."""
        return next((n for n in self.notifications if n.event == event), None)

    def step_documents(self) -> dict[str, dict[str, Any]]:
        """Each step as its author wrote it (plain JSON), by id: what page templates read."""
        return {
            s.id: s.model_dump(mode="json", by_alias=True, exclude_unset=True) for s in self.steps
        }

    def document_sections(self) -> list[dict[str, Any]]:
        """The ``documents`` section as its author wrote it (plain JSON)."""
        return [
            d.model_dump(mode="json", by_alias=True, exclude_unset=True) for d in self.documents
        ]

    def step(self, step_id: str) -> Step | None:
        """The step with this id, if any."""
        return next((s for s in self.steps if s.id == step_id), None)


class _PublishableDocument(DocumentSpec):
    title: LocalisedText


class PublishableBlueprint(Blueprint):
    """The same blueprint with what publishing requires made required: the validator's first
    pass and the published JSON Schema (authors see every required key)."""

    legal_basis: str
    legal_deadline_working_days: int = Field(ge=1, le=365)
    calendar: str = Field(pattern=r"^[a-z][a-z0-9-]{1,60}$", description="Holiday calendar id.")
    documents: list[_PublishableDocument] = Field(default_factory=list)  # type: ignore[assignment]
    steps: list[Step] = Field(min_length=1)


def blueprint_json_schema() -> dict[str, Any]:
    """The published JSON Schema of the blueprint format."""
    return PublishableBlueprint.model_json_schema(by_alias=True)
