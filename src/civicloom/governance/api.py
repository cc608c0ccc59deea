"""``/api/v1/change-requests``: change requests for machine clients and department tooling
(ADR 0049, "API"). Thin translations onto the use cases of ``services.py``, the same ones the
back-office pages call: the same authorization (authors draft, edit, submit and withdraw their
own drafts; rule owners and the central quality gate approve or decline; four-eyes), the same
audit entries, the same validation (422 problem+json naming the field and the rule).

People (service owners, rule owners, the quality gate) use every route. A department's machine
client holding ``changes:read`` reads its department's change requests (those it drafted or
must approve; any other answers 404); no machine scope writes: a change is drafted and
approved by people.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from civicloom.api.schemas import MAX_LIMIT, MAX_OFFSET
from civicloom.governance.domain import (
    QUALITY_GATE,
    RULE_OWNER,
    ChangeKind,
    ChangeRequest,
    ChangeState,
)
from civicloom.governance.pages import workspace_of
from civicloom.governance.queries import get_change, list_changes
from civicloom.governance.services import (
    NotAllowed,
    approve_change,
    draft_change,
    edit_draft,
    parties_of,
    preview_change,
    submit_change,
    withdraw_change,
)
from civicloom.identity import Role
from civicloom.kernel import FieldError, InboundModel, Line, NotFound, PathId, Principal, Text
from civicloom.kernel import ValidationFailed as Invalid
from civicloom.web import ContainerDep, CurrentPrincipal, problem_responses, require_roles

READ_SCOPE = "changes:read"
"""The scope a department's machine client needs to read its department's change requests."""
PEOPLE = (Role.SERVICE_OWNER.value, RULE_OWNER, QUALITY_GATE)
READ = require_roles(*PEOPLE, scope=READ_SCOPE)
WRITE = require_roles(*PEOPLE)  # no scope: machine clients are refused (403)
MAX_FILE = 512 * 1024  # as the back office's upload
TARGET = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}(/[A-Za-z0-9][A-Za-z0-9_-]{0,98})?$"

change_requests_router = APIRouter(
    prefix="/api/v1",
    tags=["change-requests"],
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)

_EXAMPLE: dict[str, Any] = {
    "id": "01JF3Q6R5ZK0R6Q4V9X1B2C3D4",
    "kind": "blueprint",
    "target": "open-a-restaurant",
    "title": "Small-band fee €500 and outdoor seats",
    "state": "submitted",
    "author": "sam",
    "author_name": "Sam Okafor",
    "author_department": "local-admin",
    "created_at": "2027-01-04T09:00:00Z",
    "submitted_at": "2027-01-04T09:30:00Z",
    "effective_at": "2027-02-01T00:00:00Z",
    "required": ["local-admin", "central"],
    "missing": ["central"],
    "approvals": [
        {
            "party": "local-admin",
            "approver": "ruth",
            "approver_name": "Ruth Adeyemi",
            "at": "2027-01-05T10:00:00Z",
        }
    ],
}
_DETAIL_EXAMPLE: dict[str, Any] = {
    **_EXAMPLE,
    "diff": [
        {
            "part": "field",
            "owner": "local-admin",
            "text": "Form field outdoor_seats added (integer, “Outdoor seats”)",
        }
    ],
    "checks": [
        {
            "name": "what-if",
            "passed": True,
            "lines": ["2 of the last 3 applications would pay €100 more"],
        }
    ],
    "files": {"services/open-a-restaurant/blueprint.yaml": "id: open-a-restaurant\nversion: 6\n"},
}


class ApprovalOut(BaseModel):
    """One party's approval: a department (its rule owner) or ``central`` (quality gate)."""

    party: str
    approver: str
    approver_name: str
    at: datetime


class ChangeRequestOut(BaseModel, json_schema_extra={"examples": [_EXAMPLE]}):
    """A change request: what it changes, where it stands and who still has to approve it."""

    id: str
    kind: str = Field(description="blueprint, decision-model, template, agreement or tariff.")
    target: str = Field(description="What it changes: a service id, model key, template...")
    title: str
    state: str = Field(description="draft, submitted, approved, published or withdrawn.")
    author: str
    author_name: str
    author_department: str | None
    created_at: datetime
    submitted_at: datetime | None
    effective_at: datetime | None = Field(description="When it takes effect once approved.")
    required: list[str] = Field(description="Parties that must approve (set at submission).")
    missing: list[str] = Field(description="Parties whose approval is still needed.")
    approvals: list[ApprovalOut]

    @classmethod
    def of(cls, change: ChangeRequest) -> ChangeRequestOut:
        """The API view of a change request."""
        return cls(
            id=change.id,
            kind=change.kind.value,
            target=change.target,
            title=change.title,
            state=change.state.value,
            author=change.author,
            author_name=change.author_name,
            author_department=change.author_department,
            created_at=change.created_at,
            submitted_at=change.submitted_at,
            effective_at=change.effective_at,
            required=list(change.required),
            missing=list(change.missing),
            approvals=[
                ApprovalOut(
                    party=a.party, approver=a.approver, approver_name=a.approver_name, at=a.at
                )
                for a in change.approvals
            ],
        )


class DiffLineOut(BaseModel):
    """One semantic difference against the published version, in English."""

    part: str = Field(description="field, step, sla, fee, rule, template or file.")
    owner: str | None = Field(description="The department owning the touched part.")
    text: str


class CheckOut(BaseModel):
    """One automatic check (validation, model-tests, what-if, translations)."""

    name: str
    passed: bool
    lines: list[str]


class ChangeRequestDetailOut(ChangeRequestOut, json_schema_extra={"examples": [_DETAIL_EXAMPLE]}):
    """A change request with its semantic diff and check results (a draft's as they would be
    if it were submitted now) and its files (text by path under ``blueprints/``), which a
    client edits and sends back with ``PUT …/files``."""

    diff: list[DiffLineOut]
    checks: list[CheckOut]
    files: dict[str, str]


def _filled(message: str, params: Any) -> str:
    try:
        return message % dict(params) if params else message
    except (KeyError, ValueError, TypeError):
        return message


def _detail(change: ChangeRequest) -> ChangeRequestDetailOut:
    base = ChangeRequestOut.of(change).model_dump()
    checks = []
    for c in change.checks:
        params = list(c.params) + [{}] * (len(c.lines) - len(c.params))
        lines = [_filled(ln, p) for ln, p in zip(c.lines, params, strict=False)]
        checks.append(CheckOut(name=c.name, passed=c.passed, lines=lines))
    return ChangeRequestDetailOut(
        **base,
        diff=[
            DiffLineOut(part=d.part, owner=d.owner, text=_filled(d.message, d.params))
            for d in change.diff
        ],
        checks=checks,
        files=dict(sorted(change.files.items())),
    )


class ChangeRequestIn(
    InboundModel,
    json_schema_extra={
        "examples": [
            {
                "kind": "blueprint",
                "target": "open-a-restaurant",
                "title": "Small-band fee €500 and outdoor seats",
            }
        ]
    },
):
    """Body of ``POST /api/v1/change-requests``: a draft against the published ``target``."""

    model_config = ConfigDict(extra="forbid")

    kind: ChangeKind
    target: str = Field(min_length=1, max_length=200, pattern=TARGET)
    title: Line = Field(min_length=1, max_length=300)


class DraftFilesIn(
    InboundModel,
    json_schema_extra={
        "examples": [
            {
                "files": {
                    "templates/open-a-restaurant/submitted.en.j2": (
                        "Subject: Received {{ reference }}\n\nThank you."
                    )
                }
            }
        ]
    },
):
    """Body of ``PUT …/files``: draft files replaced by path (UTF-8 text; JSON files must
    parse). Only files the draft already has may be replaced."""

    model_config = ConfigDict(extra="forbid")

    files: dict[Annotated[str, Field(max_length=300)], Annotated[str, Field(max_length=MAX_FILE)]]


class SubmissionIn(
    InboundModel, json_schema_extra={"examples": [{"effective_at": "2027-02-01T00:00:00Z"}]}
):
    """Body of ``POST …/submission``: when the change takes effect once approved."""

    model_config = ConfigDict(extra="forbid")

    effective_at: AwareDatetime


class ApprovalIn(
    InboundModel,
    json_schema_extra={
        "examples": [
            {"decision": "approve"},
            {"decision": "decline", "reason": "The fee rise needs the council's vote first."},
        ]
    },
):
    """Body of ``POST …/approvals``: approve for the party the caller answers for, or decline
    (ends the change; a reason is required)."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "decline"]
    reason: Text | None = Field(default=None, max_length=500)


class WithdrawalIn(
    InboundModel, json_schema_extra={"examples": [{"reason": "Superseded by a later change."}]}
):
    """Body of ``POST …/withdrawal``: the author ends a draft or submitted change."""

    model_config = ConfigDict(extra="forbid")

    reason: Text = Field(default="", max_length=500)


def _visible(principal: Principal, change: ChangeRequest) -> bool:
    """People of the governance roles see every change (as the back office); a machine client
    its department's: drafted by it or waiting for its approval."""
    if Role.MACHINE_CLIENT.value not in principal.roles:
        return True
    department = principal.department
    return department is not None and (
        change.author_department == department or department in change.required
    )


@change_requests_router.get(
    "/change-requests",
    dependencies=[READ],
    response_model=list[ChangeRequestOut],
    operation_id="listChangeRequests",
    summary="Change requests, newest first",
)
async def list_change_requests(
    container: ContainerDep,
    principal: CurrentPrincipal,
    state: Annotated[ChangeState | None, Query(description="Only in this state.")] = None,
    kind: Annotated[ChangeKind | None, Query(description="Only of this kind.")] = None,
    target: Annotated[str | None, Query(max_length=200, pattern=TARGET)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[ChangeRequestOut]:
    """Change requests the caller may read, newest first, ``limit`` from ``offset``."""
    changes = await list_changes(container.uow(), target=target, kind=kind)
    shown = [c for c in changes if _visible(principal, c) and (state is None or c.state is state)]
    return [ChangeRequestOut.of(c) for c in shown[offset : offset + limit]]


async def _readable(container: Any, principal: Principal, change_id: str) -> ChangeRequest:
    if not _visible(principal, await get_change(container.uow(), change_id)):
        raise NotFound(f"no change request {change_id}")  # checked before the checks run
    return await preview_change(container.uow(), workspace_of(container), change_id)


@change_requests_router.get(
    "/change-requests/{change_id}",
    dependencies=[READ],
    response_model=ChangeRequestDetailOut,
    operation_id="readChangeRequest",
    summary="One change request with its diff and checks",
)
async def read_change_request(
    change_id: PathId, container: ContainerDep, principal: CurrentPrincipal
) -> ChangeRequestDetailOut:
    """The change with its semantic diff against the published version and its automatic
    checks (for a draft: as they would be if submitted now; nothing is written)."""
    return _detail(await _readable(container, principal, change_id))


@change_requests_router.post(
    "/change-requests",
    dependencies=[WRITE],
    status_code=201,
    response_model=ChangeRequestDetailOut,
    operation_id="createChangeRequest",
    summary="Draft a change request",
)
async def create_change_request(
    body: ChangeRequestIn, response: Response, container: ContainerDep, principal: CurrentPrincipal
) -> ChangeRequestDetailOut:
    """Open a draft against the published version of ``target`` (a service owner or rule
    owner of a department; 403 otherwise). An unknown target is a 422 naming ``target``."""
    ws = workspace_of(container)
    try:
        change_id = await draft_change(
            container.uow(),
            container.clock,
            ws,
            principal,
            kind=body.kind,
            target=body.target,
            title=body.title,
        )
    except NotFound as exc:
        raise Invalid(
            [FieldError("target", "exists", f"nothing published to change: {body.target}")]
        ) from exc
    response.headers["Location"] = f"/api/v1/change-requests/{change_id}"
    return _detail(await preview_change(container.uow(), ws, change_id))


@change_requests_router.put(
    "/change-requests/{change_id}/files",
    dependencies=[WRITE],
    response_model=ChangeRequestDetailOut,
    operation_id="replaceChangeRequestFiles",
    summary="Replace files of a draft",
)
async def replace_change_request_files(
    change_id: PathId, body: DraftFilesIn, container: ContainerDep, principal: CurrentPrincipal
) -> ChangeRequestDetailOut:
    """Replace draft files by path (the author, while it is a draft): an unknown path, an
    empty file or JSON that does not parse is a 422 naming ``files.<path>``."""
    current = await get_change(container.uow(), change_id)
    if current.author != principal.subject:
        raise NotAllowed("only the author edits a draft")  # as ``edit_draft`` says it
    errors: list[FieldError] = []
    if not body.files:
        errors.append(FieldError("files", "required", "give at least one file"))
    for path, text in body.files.items():
        name = f"files.{path}"
        if path not in current.files:
            errors.append(FieldError(name, "exists", "the draft has no file at this path"))
        elif not text.strip():
            errors.append(FieldError(name, "required", "the file is empty"))
        elif path.endswith(".json"):
            try:
                json.loads(text)
            except json.JSONDecodeError:
                errors.append(FieldError(name, "json", "the file is not valid JSON"))
    if errors:
        raise Invalid(errors)
    files = {path: text.replace("\r\n", "\n") for path, text in body.files.items()}
    await edit_draft(container.uow(), container.clock, principal, change_id, files)
    return _detail(await preview_change(container.uow(), workspace_of(container), change_id))


@change_requests_router.post(
    "/change-requests/{change_id}/submission",
    dependencies=[WRITE],
    response_model=ChangeRequestDetailOut,
    operation_id="submitChangeRequest",
    summary="Submit a draft for approval",
)
async def submit_change_request(
    change_id: PathId, body: SubmissionIn, container: ContainerDep, principal: CurrentPrincipal
) -> ChangeRequestDetailOut:
    """Submit the author's draft to take effect at ``effective_at`` once approved: the diff is
    computed, the checks run and the parties that must approve are fixed. A date in the past
    (422 ``effective_at``), a draft that changes nothing (422 ``files``) or fails a check (422
    ``checks``, the rule naming the check) is refused, nothing written."""
    change = await submit_change(
        container.uow(),
        container.clock,
        workspace_of(container),
        principal,
        change_id,
        body.effective_at,
    )
    return _detail(change)


@change_requests_router.post(
    "/change-requests/{change_id}/approvals",
    dependencies=[WRITE],
    status_code=201,
    response_model=ChangeRequestOut,
    operation_id="approveChangeRequest",
    summary="Approve or decline a submitted change",
)
async def approve_change_request(
    change_id: PathId, body: ApprovalIn, container: ContainerDep, principal: CurrentPrincipal
) -> ChangeRequestOut:
    """Approve for the one party the caller answers for (its department's rule owner, or the
    central quality gate), or decline with a reason (the change is withdrawn). The author may
    do neither (403, four-eyes); a party the change does not need, 403; an approval already
    given, 409; nothing is written when refused."""
    if body.decision == "approve":
        if body.reason:
            raise Invalid([FieldError("reason", "absent", "an approval carries no reason")])
        change = await approve_change(container.uow(), container.clock, principal, change_id)
        return ChangeRequestOut.of(change)
    if not (body.reason or "").strip():
        raise Invalid([FieldError("reason", "required", "say why you decline it")])
    current = await get_change(container.uow(), change_id)
    if current.author == principal.subject:
        raise NotAllowed("the author of a change cannot decline it (four-eyes): withdraw it")
    if not parties_of(principal) & set(current.required):
        raise NotAllowed("this change touches no part you approve for")
    change = await withdraw_change(
        container.uow(), container.clock, principal, change_id, body.reason or ""
    )
    return ChangeRequestOut.of(change)


@change_requests_router.post(
    "/change-requests/{change_id}/withdrawal",
    dependencies=[WRITE],
    response_model=ChangeRequestOut,
    operation_id="withdrawChangeRequest",
    summary="Withdraw one's own change",
)
async def withdraw_change_request(
    change_id: PathId, body: WithdrawalIn, container: ContainerDep, principal: CurrentPrincipal
) -> ChangeRequestOut:
    """The author ends a draft or submitted change before publication (an approver declines
    through ``…/approvals``); anyone else, 403; a published change, 409."""
    current = await get_change(container.uow(), change_id)
    if current.author != principal.subject:
        raise NotAllowed("only the author withdraws a change; an approver declines it")
    change = await withdraw_change(
        container.uow(), container.clock, principal, change_id, body.reason
    )
    return ChangeRequestOut.of(change)
