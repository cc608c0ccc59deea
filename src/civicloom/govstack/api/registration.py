"""GovStack Registration BB facade (../shared/specs/govstack/registration, ADR 0047).

Thin translations onto civicloom's own use cases:

- ``GET /services``, ``/services/{serviceId}``, ``/services/{serviceId}/eForms``,
  ``/eForms/{eFormId}``: the published catalogue (public, as ``/api/v1/services`` is). A
  service is a blueprint; its eForm is the blueprint's form, whose id is the form schema's
  ``$id`` (else ``<service>.v<version>``) and whose schema is the blueprint's JSON Schema.
- ``POST /services/{serviceId}/applications``: ``submit_application``, the native
  submission (validation, mandate check, idempotency with ``Idempotency-Key``, audit). A
  person applies as themselves (``applicantId`` must be their own id); a machine client with
  ``applications:write`` applies for its own applicants, stored as
  ``<client>/<applicantId>`` so one client never names another's applicant.
- ``GET /applications``, ``GET /applications/{fileId}``: the files the caller may see
  (``applications.registration_files``); a single read is audited.
- ``GET /tasks``, ``GET /tasks/{taskId}``, ``POST /tasks/{taskId}/complete``: the case
  engine's human tasks. Completing an officer review is ``decide_task`` with the officers'
  authority checks (ADR 0034); a machine client never decides one (403). An applicant's
  waiting task is completed by answering (``answer_information_request``), by the applicant.
- ``GET /data/statistics/1.0``: processed/approved/sent back/rejected from the KPI module.

Callers: a platform API key in ``api_key``/``apiKey`` (``govstack_caller``), a Bearer token,
or a session. Requests with no credentials reach only the public catalogue and statistics.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from civicloom.applications import (
    ApplicationState,
    FileTask,
    OfficerDecision,
    RegistrationFile,
    SubmitApplication,
    answer_information_request,
    client_applicant_id,
    decide_task,
    find_application,
    find_registration_task,
    read_registration_file,
    registration_files,
    registration_tasks,
    submit_application,
)
from civicloom.catalogue import (
    Blueprint,
    PublishedBlueprint,
    get_current_blueprint,
    list_current_blueprints,
)
from civicloom.documents import DocumentsRuntimeDep, Upload, upload_document
from civicloom.documents.multipart import StreamingForm
from civicloom.govstack.caller import govstack_caller
from civicloom.identity import APPLICANT_ROLES, Forbidden, Role
from civicloom.kernel import (
    Conflict,
    FieldError,
    InboundModel,
    Line,
    NotFound,
    PathId,
    PayloadTooLarge,
    Principal,
    ValidationFailed,
    sha256_hex,
)
from civicloom.kpis import service_day_counts
from civicloom.registries import acting_for_answers, still_acting_for
from civicloom.web import (
    ContainerDep,
    CurrentPrincipal,
    GatewayDep,
    large_body,
    problem_response,
    problem_responses,
    public_route,
    require_roles,
)

registration_router = APIRouter(
    tags=["govstack-registration"], responses=problem_responses(400, 401, 403, 404, 409, 422)
)

APPLICANT_ID = r"^[A-Za-z0-9._:@-]{1,100}$"
IM_CLIENT = re.compile(r"^[^/\s]+/[^/\s]+/[^/\s]+/[^/\s]+$")
STAFF = (Role.OFFICER, Role.SUPERVISOR)
APPLICANTS = tuple(sorted(APPLICANT_ROLES))
MAX_RESULTS = 200

_CALLER = Depends(govstack_caller)
_PUBLIC = [_CALLER, public_route()]
_APPLY = [_CALLER, require_roles(*APPLICANTS, scope="applications:write", rate_limit="submission")]
_READ_FILES = [_CALLER, require_roles(*APPLICANTS, *STAFF, scope="applications:read")]
_READ_TASKS = [_CALLER, require_roles(*APPLICANTS, *STAFF, scope="tasks:read")]
_COMPLETE = [_CALLER, require_roles(*APPLICANTS, *STAFF, scope="applications:write")]

STATUS_OF = {
    ApplicationState.SUBMITTED.value: ("PENDING", "Pending"),
    ApplicationState.IN_PROGRESS.value: ("PENDING", "Pending"),
    ApplicationState.AWAITING_APPLICANT.value: ("SENDBACK", "Sent back"),
    ApplicationState.APPROVED.value: ("APPROVED", "Approved"),
    ApplicationState.REJECTED.value: ("REJECTED", "Rejected"),
    ApplicationState.WITHDRAWN.value: ("REJECTED", "Withdrawn"),
    ApplicationState.FAILED.value: ("PENDING", "Pending"),
}
"""civicloom's application states as the four Registration BB status codes (``failed`` is a
dead-lettered step an operator re-drives: the file is still pending for the applicant)."""


class BadHeader(ValidationFailed):
    """A header broke its rule: 400, as the GovStack specs answer invalid headers."""

    status = 400


class UnsupportedSort(ValidationFailed):
    """``sortBy`` names an order the facade does not keep (400 naming it, not a silent order)."""

    status = 400


SORTABLE = ("created",)
"""Files and tasks are kept in the order they were registered or opened: the one sort offered."""


def _check_sort(sort_by: str) -> None:
    if sort_by not in SORTABLE:
        raise UnsupportedSort(
            [
                FieldError(
                    "sortBy",
                    "enum",
                    "only created is supported: files and tasks are ordered by when they were "
                    "registered or opened (sortOrder asc or desc)",
                )
            ]
        )


def _status(state: str) -> dict[str, str]:
    code, title = STATUS_OF.get(state, ("PENDING", "Pending"))
    return {"code": code, "title": title}


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


# -- services and eForms ---------------------------------------------------------------------


def eform_id(blueprint: Blueprint) -> str:
    """The eForm's id: the form schema's ``$id`` when the blueprint gives one."""
    declared = blueprint.form.json_schema.get("$id")
    return str(declared) if declared else f"{blueprint.id}.v{blueprint.version}"


def _service_out(blueprint: Blueprint) -> dict[str, Any]:
    return {
        "id": blueprint.id,
        "name": blueprint.title.en,
        "version": str(blueprint.version),
        "type": "Public",
        "isExecutable": True,
        "isClosed": False,
        "description": blueprint.description.en if blueprint.description else "",
    }


def _eform_out(blueprint: Blueprint) -> dict[str, Any]:
    return {
        "eFormId": eform_id(blueprint),
        "name": blueprint.title.en,
        "description": blueprint.description.en if blueprint.description else "",
        "version": str(blueprint.version),
        "latest": True,
    }


async def _published(container: ContainerDep, service_id: str) -> PublishedBlueprint:
    # Blueprint ids are lower case (``^[a-z][a-z0-9-]*$``); GovStack ids are matched without
    # regard to case, so ``P2c92…`` names the service ``p2c92…``.
    async with container.uow() as uow:
        published = await get_current_blueprint(uow.session, service_id.lower())
    if published is None:
        raise NotFound(f"no published service {service_id!r}")
    return published


@registration_router.get("/services", dependencies=_PUBLIC)
async def list_services(
    container: ContainerDep, name: Annotated[str | None, Query(max_length=300)] = None
) -> list[dict[str, Any]]:
    """Published services; ``name`` keeps those whose title contains it (any case)."""
    async with container.uow() as uow:
        published = await list_current_blueprints(uow.session)
    wanted = (name or "").strip().casefold()
    return [
        _service_out(p.blueprint)
        for p in published
        if not wanted
        or wanted in p.blueprint.title.en.casefold()
        or wanted in p.blueprint.title.zh_hans.casefold()
    ]


@registration_router.get("/services/{serviceId}", dependencies=_PUBLIC)
async def read_service(
    container: ContainerDep, service_id: Annotated[PathId, Path(alias="serviceId")]
) -> dict[str, Any]:
    """One published service."""
    return _service_out((await _published(container, service_id)).blueprint)


@registration_router.get("/services/{serviceId}/eForms", dependencies=_PUBLIC)
async def service_eforms(
    container: ContainerDep, service_id: Annotated[PathId, Path(alias="serviceId")]
) -> list[dict[str, Any]]:
    """The service's eForm (its current blueprint's form)."""
    return [_eform_out((await _published(container, service_id)).blueprint)]


@registration_router.get("/eForms/{eFormId}", dependencies=_PUBLIC)
async def read_eform(
    request: Request, container: ContainerDep, eform: Annotated[PathId, Path(alias="eFormId")]
) -> JSONResponse:
    """One eForm with its JSON Schema; 404 as JSON when no published service has it."""
    async with container.uow() as uow:
        published = await list_current_blueprints(uow.session)
    for p in published:
        if eform_id(p.blueprint) == eform:
            return JSONResponse({**_eform_out(p.blueprint), "schema": p.blueprint.form.json_schema})
    missing = problem_response(request, 404, "not-found", f"no eForm {eform!r}")
    # The suite reads this 404 as ``application/json``: the same problem body, plain JSON.
    missing.headers["content-type"] = "application/json"
    return missing


# -- applications ----------------------------------------------------------------------------


class FormData(InboundModel):
    """The answers and the eForm they were captured on."""

    data: dict[str, Any] = Field(default_factory=dict)
    eFormId: Line | None = Field(default=None, max_length=100)  # noqa: N815 - spec names


class ApplicationFileSubmit(InboundModel):
    """``applicationFileSubmit``: only ``applicantId``, ``formData`` and ``documentUrls``
    are kept; ``applicationName`` and ``created`` are the client's own (the platform records
    when it registered the file)."""

    applicantId: str = Field(pattern=APPLICANT_ID)  # noqa: N815
    applicationName: Line | None = Field(default=None, max_length=200)  # noqa: N815
    created: Line | None = Field(default=None, max_length=40)
    formData: FormData = Field(default_factory=FormData)  # noqa: N815
    documentUrls: list[Line] = Field(default_factory=list, max_length=0)  # noqa: N815


def _shown_applicant(reader: Principal, stored: str) -> str:
    """A machine client sees its own applicants by the ids it gave them and an applicant sees
    their own id; anyone else (staff, another department's system) sees a pseudonym: a person's
    id is their identity provider's subject, often a national number (found by review)."""
    prefix = f"{reader.subject}/"
    if stored.startswith(prefix):
        return stored[len(prefix) :]
    if stored == reader.subject:
        return stored
    return "anon-" + sha256_hex(stored)[:16]


def _file_out(
    reader: Principal, found: RegistrationFile, blueprint: Blueprint | None
) -> dict[str, Any]:
    state = found.state
    return {
        "fileId": found.id,
        "registered": _iso(found.submitted_at),
        "serviceId": found.service_id,
        "serviceName": blueprint.title.en if blueprint else found.service_id,
        "status": _status(state),
        "ended": ApplicationState(state).is_final,
        "applicationData": {
            "applicantId": _shown_applicant(reader, found.applicant_id),
            "created": _iso(found.submitted_at),
            "formData": {
                "data": found.data,
                "eFormId": eform_id(blueprint) if blueprint else "",
            },
            "documentUrls": [],
        },
    }


def _list_item(
    reader: Principal, found: RegistrationFile, blueprint: Blueprint | None
) -> dict[str, Any]:
    task = found.current_task
    item: dict[str, Any] = {
        "fileId": found.id,
        "mainTaskId": found.id,
        "status": _status(found.state),
        "applicantId": _shown_applicant(reader, found.applicant_id),
        "created": _iso(found.submitted_at),
        "registered": _iso(found.submitted_at),
        "description": found.reference,
        "serviceName": blueprint.title.en if blueprint else found.service_id,
        "serviceId": found.service_id,
        "eformId": eform_id(blueprint) if blueprint else "",
        "documentUrls": [],
    }
    if task is not None:
        item.update(
            taskTitle=_step_title(blueprint, task.step_id),
            roleId=task.role or "",
            roleName=task.role or "",
            assigneeId=task.assignee or "",
        )
    return item


def _step_title(blueprint: Blueprint | None, step_id: str) -> str:
    step = blueprint.step(step_id) if blueprint else None
    return step.title.en if step is not None and step.title is not None else step_id


async def _blueprints(container: ContainerDep) -> dict[str, Blueprint]:
    async with container.uow() as uow:
        return {p.blueprint.id: p.blueprint for p in await list_current_blueprints(uow.session)}


@registration_router.post("/services/{serviceId}/applications", dependencies=_APPLY)
async def submit_file(
    body: ApplicationFileSubmit,
    container: ContainerDep,
    principal: CurrentPrincipal,
    gateway: GatewayDep,
    service_id: Annotated[PathId, Path(alias="serviceId")],
    idempotency_key: Annotated[str | None, Header(max_length=200, min_length=8)] = None,
) -> dict[str, Any]:
    """Submit an application through the native use case; the file as registered."""
    blueprint = (await _published(container, service_id)).blueprint
    if Role.MACHINE_CLIENT.value in principal.roles:
        applicant = replace(principal, subject=client_applicant_id(principal, body.applicantId))
    elif body.applicantId != principal.subject:
        raise ValidationFailed(
            [FieldError("applicantId", "self", "a person applies as themselves: send your id")]
        )
    else:
        applicant = principal
    data = body.formData.data
    acting = await acting_for_answers(
        container.uow, gateway, container.clock, applicant, blueprint.id, data
    )
    view, created = await submit_application(
        container.uow(),
        container.clock,
        applicant,
        SubmitApplication(
            service_id=blueprint.id,
            data=data,
            idempotency_key=idempotency_key,
            acting_for=acting,
        ),
    )
    if created:
        container.metrics.applications_submitted.labels(view.service_id).inc()
    found = await read_registration_file(container.uow(), container.clock, applicant, view.id)
    out = _file_out(applicant, found, blueprint)
    out["serviceId"] = service_id
    out["applicationData"]["applicantId"] = body.applicantId
    return out


@registration_router.get("/applications", dependencies=_READ_FILES)
async def list_files(
    container: ContainerDep,
    principal: CurrentPrincipal,
    service_id: Annotated[str | None, Query(alias="serviceId", max_length=100)] = None,
    applicant_id: Annotated[str | None, Query(alias="applicantId", max_length=100)] = None,
    first: Annotated[int, Query(alias="firstResult", ge=0, le=100_000)] = 0,
    limit: Annotated[int, Query(alias="maxResult", ge=1, le=MAX_RESULTS)] = 50,
    sort_by: Annotated[str, Query(alias="sortBy", max_length=40)] = "created",
    sort_order: Annotated[str, Query(alias="sortOrder", pattern="^(asc|desc)$")] = "asc",
) -> list[dict[str, Any]]:
    """The files the caller may see, by registration time (``sortBy=created``, the only order
    kept; another is a 400 naming ``sortBy``)."""
    _check_sort(sort_by)
    files = await registration_files(
        container.uow(),
        principal,
        service_id=service_id.lower() if service_id else None,
        applicant_id=applicant_id,
        first=first,
        limit=limit,
        newest_first=sort_order == "desc",
    )
    blueprints = await _blueprints(container) if files else {}
    return [_list_item(principal, f, blueprints.get(f.service_id)) for f in files]


@registration_router.get("/applications/{fileId}", dependencies=_READ_FILES)
async def read_file(
    container: ContainerDep,
    principal: CurrentPrincipal,
    file_id: Annotated[PathId, Path(alias="fileId")],
) -> dict[str, Any]:
    """One file the caller may see (404 otherwise, whether it exists or not); audited."""
    found = await read_registration_file(container.uow(), container.clock, principal, file_id)
    blueprints = await _blueprints(container)
    return _file_out(principal, found, blueprints.get(found.service_id))


# -- documents -------------------------------------------------------------------------------

MULTIPART_OVERHEAD = 64 * 1024


class BadUpload(ValidationFailed):
    """The upload request is incomplete: 400, as the spec answers a failed upload."""

    status = 400


async def _applicant_of(
    container: ContainerDep, principal: Principal, file_id: str
) -> tuple[Principal, str]:
    """The applicant a caller acts as on one of its own files (NotFound otherwise)."""
    async with container.uow() as uow:
        found = await find_application(uow.session, file_id)
    if found is not None and found.applicant_id == principal.subject:
        return principal, found.id
    machine = Role.MACHINE_CLIENT.value in principal.roles  # people never act for a client's
    if machine and found is not None and found.applicant_id.startswith(f"{principal.subject}/"):
        return replace(principal, subject=found.applicant_id), found.id
    raise NotFound(f"no application file {file_id!r} of this applicant")


async def _still_acting(
    container: ContainerDep, gateway: GatewayDep, applicant: Principal, file_id: str
) -> None:
    """For a file about a business, the applicant must still act for it (ADR 0041)."""
    async with container.uow() as uow:
        found = await find_application(uow.session, file_id)
    if found is not None:
        await still_acting_for(container.uow, gateway, container.clock, applicant, found)


@registration_router.post(
    "/documents",
    dependencies=[*_APPLY, large_body()],
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                }
            }
        }
    },
)
async def upload_file_document(
    request: Request,
    container: ContainerDep,
    principal: CurrentPrincipal,
    gateway: GatewayDep,
    documents: DocumentsRuntimeDep,
    file_id: Annotated[str | None, Query(alias="fileId", max_length=100)] = None,
    document_type: Annotated[str | None, Query(alias="documentType", max_length=60)] = None,
    additional_metadata: Annotated[
        str | None, Query(alias="additionalMetadata", max_length=500)
    ] = None,
) -> dict[str, Any]:
    """Upload a document to one of the caller's files, into the documents module (the
    service's document rules, size limit and content check; audited as ``document.stored``).
    ``fileId`` names the file and ``documentType`` the document (as the blueprint lists it)."""
    del additional_metadata  # free text the spec allows; nothing of it is kept
    missing = [
        FieldError(name, "required", message)
        for name, value, message in (
            ("fileId", file_id, "name the application file the document belongs to"),
            ("documentType", document_type, "say which document this is"),
        )
        if not value
    ]
    if missing or file_id is None or document_type is None:
        raise BadUpload(missing)
    applicant, application_id = await _applicant_of(container, principal, file_id)
    await _still_acting(container, gateway, applicant, application_id)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > documents.max_bytes + MULTIPART_OVERHEAD:
        raise PayloadTooLarge(f"the body is larger than {documents.max_bytes} bytes")
    form = StreamingForm(request.headers.get("content-type", ""), request.stream().__aiter__())
    await form.open_file()
    ref = await upload_document(
        container.uow(),
        documents,
        container.clock,
        applicant,
        application_id,
        document_type,
        Upload(form.filename or "", form.file_chunks()),
    )
    return {
        "code": 200,
        "type": ref.document_type,
        "message": f"stored {ref.filename} ({ref.size_bytes} bytes)",
        "url": f"/api/v1/applications/{application_id}/documents/{ref.id}",
    }


# -- tasks -----------------------------------------------------------------------------------


def _task_out(task: FileTask, blueprint: Blueprint | None) -> dict[str, Any]:
    return {
        "taskId": task.id,
        "mainTaskId": task.application_id,
        "name": _step_title(blueprint, task.step_id),
        "assigneeId": task.assignee or "",
        "roleId": task.role or "",
        "created": _iso(task.created_at),
        "description": task.kind,
        "serviceId": task.service_id,
        "serviceName": blueprint.title.en if blueprint else task.service_id,
        "fileId": task.application_id,
        "eFormId": eform_id(blueprint) if blueprint else "",
        "status": _status(task.application_state),
    }


@registration_router.get("/tasks", dependencies=_READ_TASKS)
async def list_tasks(
    container: ContainerDep,
    principal: CurrentPrincipal,
    main_task_id: Annotated[str | None, Query(alias="mainTaskId", max_length=100)] = None,
    file_id: Annotated[str | None, Query(alias="fileId", max_length=100)] = None,
    assignee_id: Annotated[str | None, Query(alias="assigneeId", max_length=200)] = None,
    first: Annotated[int, Query(alias="firstResult", ge=0, le=100_000)] = 0,
    limit: Annotated[int, Query(alias="maxResult", ge=1, le=MAX_RESULTS)] = 50,
    sort_by: Annotated[str, Query(alias="sortBy", max_length=40)] = "created",
    sort_order: Annotated[str, Query(alias="sortOrder", pattern="^(asc|desc)$")] = "asc",
) -> list[dict[str, Any]]:
    """Open human tasks the caller may see. A file's main task is the file itself, so
    ``mainTaskId`` and ``fileId`` both name the application (two different ones list none)."""
    _check_sort(sort_by)  # tasks are ordered by when they opened
    files = {f for f in (main_task_id, file_id) if f is not None}
    if len(files) > 1:
        return []
    tasks = await registration_tasks(
        container.uow(),
        principal,
        file_id=next(iter(files), None),
        assignee=assignee_id,
        first=first,
        limit=limit,
        newest_first=sort_order == "desc",
    )
    blueprints = await _blueprints(container) if tasks else {}
    return [_task_out(t, blueprints.get(t.service_id)) for t in tasks]


@registration_router.get("/tasks/{taskId}", dependencies=_READ_TASKS)
async def read_task(
    container: ContainerDep,
    principal: CurrentPrincipal,
    task_id: Annotated[PathId, Path(alias="taskId")],
) -> dict[str, Any]:
    """One human task the caller may see (no form data: officers read it on the task page or
    ``/api/v1/tasks/{id}``, where the department's view of the data is audited)."""
    task = await find_registration_task(container.uow(), principal, task_id)
    blueprint = (await _blueprints(container)).get(task.service_id)
    out = _task_out(task, blueprint)
    del out["mainTaskId"], out["name"]
    return {
        **out,
        "taskName": _step_title(blueprint, task.step_id),
        "formVariables": {},
        "data": {},
    }


class CompleteTask(InboundModel):
    """``additionalData``: ``data.decision`` (``approve``/``reject``) and ``data.reason`` for
    an officer's review; ``data.answer`` for the applicant's answer to a question."""

    data: dict[str, Any] = Field(default_factory=dict)


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        return ""
    return value


@registration_router.post("/tasks/{taskId}/complete", dependencies=_COMPLETE)
async def complete_task(
    body: CompleteTask,
    container: ContainerDep,
    principal: CurrentPrincipal,
    gateway: GatewayDep,
    task_id: Annotated[PathId, Path(alias="taskId")],
) -> dict[str, Any]:
    """Complete a human task with the authority the native API asks for (ADR 0034, 0047)."""
    task = await find_registration_task(container.uow(), principal, task_id)
    if task.state == "awaiting_applicant":
        # The applicant answers the question; staff and department systems only read it.
        if task.applicant_id == principal.subject:
            applicant = principal
        elif task.applicant_id.startswith(f"{principal.subject}/"):
            applicant = replace(principal, subject=task.applicant_id)
        else:
            raise Forbidden("only the applicant answers a question put to them")
        await _still_acting(container, gateway, applicant, task.application_id)
        answer = _text(body.data, "answer")
        if not answer:
            raise ValidationFailed(
                [FieldError("data.answer", "required", "write the answer to the question")]
            )
        await answer_information_request(
            container.uow(), container.clock, applicant, task.application_id, answer
        )
        state = ApplicationState.IN_PROGRESS.value
    elif Role.MACHINE_CLIENT.value in principal.roles:
        raise Forbidden("a machine client does not decide an officer's review")
    elif task.state != "awaiting_officer":
        raise Conflict(f"the task is {task.state}, not awaiting an officer")
    else:
        choice = _text(body.data, "decision")
        if choice not in ("approve", "reject"):
            raise ValidationFailed(
                [FieldError("data.decision", "enum", "say 'approve' or 'reject'")]
            )
        decided = await decide_task(
            container.uow(),
            container.clock,
            principal,
            task.id,
            OfficerDecision(choice),
            _text(body.data, "reason") or None,
        )
        state = decided.application.state
    return {
        "taskId": task.id,
        "fileId": task.application_id,
        "serviceId": task.service_id,
        "status": _status(state),
        "variables": {},
    }


# -- statistics ------------------------------------------------------------------------------

TIMEFRAMES = ("day", "week", "month", "year")


def _day(value: str | None, name: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValidationFailed(
            [FieldError(name, "iso-date", f"{name} must be a date like 2021-01-30")]
        ) from None


_STATISTICS = [_CALLER, public_route(rate_limit="statistics")]


@registration_router.get("/data/statistics", dependencies=_STATISTICS)
@registration_router.get("/data/statistics/1.0", dependencies=_STATISTICS)
async def statistics(
    container: ContainerDep,
    im_client: Annotated[
        str | None, Header(alias="Information-Mediator-Client", max_length=300)
    ] = None,
    start_date: Annotated[str | None, Query(alias="startDate", max_length=10)] = None,
    end_date: Annotated[str | None, Query(alias="endDate", max_length=10)] = None,
    registration_name: Annotated[
        str | None, Query(alias="registrationName", max_length=300)
    ] = None,
    operator: Annotated[str | None, Query(max_length=200)] = None,
    role: Annotated[str | None, Query(max_length=100)] = None,
    timeframe: Annotated[str | None, Query(pattern="^(day|week|month|year)$")] = None,
) -> JSONResponse:
    """Applications processed, approved, sent back and rejected per service over a period,
    read from the KPI module's aggregates (recounted by the worker, ADR 0054), never computed
    per request. ``operator`` and
    ``role`` are echoed but narrow nothing: figures per named civil servant are not public."""
    if not IM_CLIENT.match(im_client or ""):
        raise BadHeader(
            [
                FieldError(
                    "Information-Mediator-Client",
                    "im-client",
                    "send INSTANCE/CLASS/MEMBER/SUBSYSTEM",
                )
            ]
        )
    today = container.clock.now().astimezone(UTC).date()
    last = _day(end_date, "endDate") or today
    first = _day(start_date, "startDate") or last.replace(day=1)
    if last < first:
        raise ValidationFailed(
            [FieldError("endDate", "after-start", "endDate is before startDate")]
        )
    blueprints = await _blueprints(container)
    wanted = (registration_name or "").strip().casefold()
    chosen = [
        b
        for b in blueprints.values()
        if not wanted or wanted in (b.id, b.title.en.casefold(), b.title.zh_hans.casefold())
    ]
    if wanted and not chosen:
        raise NotFound(f"no registration named {registration_name!r}")
    rows = []
    for blueprint in sorted(chosen, key=lambda b: b.id):
        counts = await service_day_counts(container.uow(), blueprint.id, first, last)
        rows.append(
            {
                "processed": sum(counts.values()),
                "approved": counts[ApplicationState.APPROVED.value],
                "sentBack": counts[ApplicationState.AWAITING_APPLICANT.value],
                "rejected": counts[ApplicationState.REJECTED.value],
                "references": {
                    "startDate": first.isoformat(),
                    "endDate": last.isoformat(),
                    "registrationName": blueprint.title.en,
                    "operator": operator or "",
                    "role": role or "",
                    **{f"timeframe{t.title()}": timeframe == t for t in TIMEFRAMES},
                },
            }
        )
    return JSONResponse(rows, media_type="application/json; charset=utf-8")
