"""``/api/v1``: applicant actions, officer work queues and the operator's dead letters."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Response

from civicloom.api.schemas import (
    MAX_LIMIT,
    MAX_OFFSET,
    SERVICE_ID,
    TASK_STATE,
    ApplicationStatusOut,
    AssignIn,
    DeadLetterOut,
    DecisionIn,
    InformationAnswer,
    InformationRequestIn,
    TaskDetailOut,
    TaskOut,
)
from civicloom.applications import (
    DEAD_LETTERS_MAX,
    DEAD_LETTERS_PAGE,
    DeadLetterView,
    OfficerDecision,
    TaskFilter,
    TaskView,
    answer_information_request,
    application_status,
    assign_task,
    claim_task,
    dead_letters_page,
    decide_task,
    list_officer_tasks,
    officer_queue_page,
    queue_cursors,
    read_officer_task,
    request_information,
    resolve_dead_letter,
    timeline_cursors,
    withdraw_application,
)
from civicloom.identity import read_department_staff
from civicloom.kernel import Cursor, PathId
from civicloom.web import STILL_ACTING_FOR, ContainerDep, CurrentPrincipal, Problem

_PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}}
    for code in (400, 401, 403, 404, 409, 413, 422)
}
casework_router = APIRouter(prefix="/api/v1", responses=_PROBLEMS)
DUE_SOON = timedelta(days=2)


def _sla(task: TaskView, now: datetime) -> str:
    if task.sla_due_at is None:
        return "none"
    if task.sla_due_at < now:
        return "breached"
    return "due_soon" if task.sla_due_at - now <= DUE_SOON else "on_track"


def _task_out(task: TaskView, now: datetime) -> dict[str, Any]:
    return {
        "id": task.id,
        "application_id": task.application.id,
        "application_reference": task.application.reference,
        "service": task.application.service_id,
        "step": task.step_id,
        "department": task.department,
        "role": task.role,
        "state": task.state,
        "assignee": task.assignee,
        "sla_due_at": task.sla_due_at,
        "sla": _sla(task, now),
        "escalated": task.escalated,
        "escalated_to": task.escalated_to,
        "clock_stopped_at": task.application.clock_stopped_at,
    }


@casework_router.get(
    "/applications/{application_id}/status",
    operation_id="readApplicationStatus",
    summary="An application's steps and timeline",
    tags=["applications"],
    response_model=ApplicationStatusOut,
)
async def read_status(
    application_id: PathId,
    container: ContainerDep,
    principal: CurrentPrincipal,
    response: Response,
    cursor: Annotated[
        str | None,
        Query(
            max_length=400,
            description="A page of the timeline: `timeline_next` or `timeline_previous` of an "
            "earlier answer for this application (absent: the newest entries).",
        ),
    ] = None,
) -> dict[str, Any]:
    """Every department's step, its state and expected date, the deadline and a page of the
    timeline: the newest entries first, older ones through `timeline_next` (also the `Link`
    header's `next`). A cursor this application's timeline did not give out (altered, or
    another application's) is a 400 naming `cursor`."""
    cursors = timeline_cursors(container.settings.secret_key.get_secret_value())
    status = await application_status(
        container.uow(), container.clock, principal, application_id, cursors, cursor
    )
    links = [
        f"</api/v1/applications/{application_id}/status?{urlencode({'cursor': value})}>; "
        f'rel="{rel}"'
        for rel, value in (("next", status.timeline_older), ("prev", status.timeline_newer))
        if value is not None
    ]
    if links:
        response.headers["Link"] = ", ".join(links)
    # Plain values, validated once by ``response_model`` (in pydantic's core, one call) on the
    # way out: building the models here too would validate every field twice (ADR 0079).
    app = status.application
    return {
        "application": {
            "id": app.id,
            "reference": app.reference,
            "service": app.service_id,
            "blueprint_version": app.blueprint_version,
            "state": app.state.value,
            "data": app.data,
            "submitted_at": app.submitted_at,
            "updated_at": app.updated_at,
        },
        "deadline_at": app.deadline_at,
        "clock_stopped_at": app.clock_stopped_at,
        "outcome_reason": app.outcome_reason,
        "steps": [
            {
                "step": s.step_id,
                "kind": s.kind,
                "department": s.department,
                "state": s.state.value,
                "expected_by": s.expected_by,
                "completed_at": s.completed_at,
                "escalated": s.escalated,
                "escalated_to": s.escalated_to,
            }
            for s in status.steps
        ],
        "timeline": [
            {
                "at": e.at,
                "event": e.event,
                "step": e.step_id,
                "department": e.department,
                "message": e.message,
            }
            for e in status.timeline
        ],
        "timeline_next": status.timeline_older,
        "timeline_previous": status.timeline_newer,
    }


@casework_router.post(
    "/applications/{application_id}/withdrawal",
    operation_id="withdrawApplication",
    summary="Withdraw an application",
    tags=["applications"],
    status_code=204,
    dependencies=[STILL_ACTING_FOR],
)
async def withdraw(
    application_id: PathId, container: ContainerDep, principal: CurrentPrincipal
) -> None:
    """Withdraw an application that is still running."""
    await withdraw_application(container.uow(), container.clock, principal, application_id)


@casework_router.post(
    "/applications/{application_id}/information",
    operation_id="answerInformationRequest",
    summary="Answer an officer's request for information",
    tags=["applications"],
    status_code=204,
    dependencies=[STILL_ACTING_FOR],
)
async def answer(
    application_id: PathId,
    body: InformationAnswer,
    container: ContainerDep,
    principal: CurrentPrincipal,
) -> None:
    """Answer a request for more information."""
    await answer_information_request(
        container.uow(), container.clock, principal, application_id, body.answer, body.step_id
    )


@casework_router.get(
    "/tasks",
    operation_id="listTasks",
    summary="The officer's work queue",
    tags=["tasks"],
    response_model=list[TaskOut],
)
async def work_queue(
    container: ContainerDep,
    principal: CurrentPrincipal,
    response: Response,
    service: Annotated[str | None, Query(max_length=100, pattern=SERVICE_ID)] = None,
    state: Annotated[str | None, Query(max_length=40, pattern=TASK_STATE)] = None,
    sla: Annotated[str | None, Query(pattern="^(on_track|breached)$")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[
        int,
        Query(
            ge=0,
            le=MAX_OFFSET,
            description="Deprecated: follow the `Link` header's cursors instead. Tasks to skip.",
        ),
    ] = 0,
    cursor: Annotated[
        str | None,
        Query(
            max_length=400,
            description="A neighbouring page's cursor, from this list's `Link` header.",
        ),
    ] = None,
) -> list[dict[str, Any]]:
    """The officer's department's open tasks, soonest due first. Pages are keyset-paged: the
    `Link` header names the `next` and `prev` pages; a cursor this list did not give out for
    these filters (altered, or another department's) is a 400 naming `cursor`."""
    flt = TaskFilter(service=service, state=state, sla=sla, limit=limit, offset=offset)
    now = container.clock.now()
    if offset and cursor is None:
        tasks = await list_officer_tasks(container.uow(), container.clock, principal, flt)
        return [_task_out(t, now) for t in tasks]
    cursors = queue_cursors(container.settings.secret_key.get_secret_value())
    page = await officer_queue_page(
        container.uow(), container.clock, principal, flt, cursors, cursor
    )
    filters = {k: v for k, v in (("service", service), ("state", state), ("sla", sla)) if v}
    links = [
        f'</api/v1/tasks?{urlencode({**filters, "limit": limit, "cursor": value})}>; rel="{rel}"'
        for rel, value in (("next", page.next), ("prev", page.previous))
        if value is not None
    ]
    if links:
        response.headers["Link"] = ", ".join(links)
    return [_task_out(t, now) for t in page.tasks]


@casework_router.get("/tasks/{task_id}", tags=["tasks"], response_model=TaskDetailOut)
async def read_task(
    task_id: PathId, container: ContainerDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """A task with the application data the officer's department is entitled to."""
    task, data = await read_officer_task(container.uow(), container.clock, principal, task_id)
    return {**_task_out(task, container.clock.now()), "data": data, "output": task.output}


@casework_router.post(
    "/tasks/{task_id}/claim",
    operation_id="claimTask",
    summary="Claim a task",
    tags=["tasks"],
    response_model=TaskOut,
)
async def claim(
    task_id: PathId, container: ContainerDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Take a task (a supervisor holding the step's role takes over a colleague's, audited)."""
    task = await claim_task(container.uow(), container.clock, principal, task_id)
    return _task_out(task, container.clock.now())


@casework_router.post(
    "/tasks/{task_id}/release",
    operation_id="releaseTask",
    summary="Release a claimed task",
    tags=["tasks"],
    response_model=TaskOut,
)
async def release(
    task_id: PathId, container: ContainerDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Give a task back to the queue."""
    task = await claim_task(container.uow(), container.clock, principal, task_id, release=True)
    return _task_out(task, container.clock.now())


@casework_router.post(
    "/tasks/{task_id}/assignment",
    operation_id="assignTask",
    summary="Assign a task to an officer",
    tags=["tasks"],
    response_model=TaskOut,
)
async def assign(
    task_id: PathId, body: AssignIn, container: ContainerDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """A supervisor assigns (or reassigns) an open task to an officer of the task's department
    who holds the step's role (422 naming ``assignee`` otherwise; 409 for a finished task)."""
    staff = await read_department_staff(container.uow(), container.clock, principal.department)
    task = await assign_task(
        container.uow(), container.clock, principal, task_id, body.assignee, staff
    )
    return _task_out(task, container.clock.now())


@casework_router.post(
    "/tasks/{task_id}/decision",
    operation_id="decideTask",
    summary="Record an officer's decision",
    tags=["tasks"],
    response_model=TaskOut,
)
async def decide(
    task_id: PathId, body: DecisionIn, container: ContainerDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Approve or reject (with a reason the applicant will read): only with the step's role,
    and only the holder of a claimed task (403 / 409 otherwise; nothing changes)."""
    task = await decide_task(
        container.uow(),
        container.clock,
        principal,
        task_id,
        OfficerDecision(body.decision),
        body.reason,
    )
    return _task_out(task, container.clock.now())


@casework_router.post(
    "/tasks/{task_id}/information-requests",
    operation_id="requestInformation",
    summary="Ask the applicant for more information",
    tags=["tasks"],
    response_model=TaskOut,
)
async def ask(
    task_id: PathId,
    body: InformationRequestIn,
    container: ContainerDep,
    principal: CurrentPrincipal,
) -> dict[str, Any]:
    """Ask the applicant for more information."""
    task = await request_information(
        container.uow(), container.clock, principal, task_id, body.message
    )
    return _task_out(task, container.clock.now())


def _letter(row: DeadLetterView) -> DeadLetterOut:
    return DeadLetterOut(
        id=row.id,
        application_id=row.application_id,
        task_id=row.task_id,
        department=row.department,
        capability=row.capability,
        attempts=row.attempts,
        error=row.error,
        payload_summary=row.payload_summary,
        created_at=row.created_at,
        resolution=row.resolution,
    )


@casework_router.get(
    "/operations/dead-letters",
    operation_id="listDeadLetters",
    summary="List dead letters",
    tags=["operations"],
    response_model=list[DeadLetterOut],
)
async def dead_letters(
    container: ContainerDep,
    principal: CurrentPrincipal,
    response: Response,
    include_resolved: bool = False,
    cursor: Annotated[
        str | None,
        Query(
            max_length=400,
            description="A neighbouring page's cursor, from this list's `Link` header.",
        ),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=DEAD_LETTERS_MAX, description="Dead letters per page.")
    ] = DEAD_LETTERS_PAGE,
) -> list[DeadLetterOut]:
    """Department calls that failed for good, newest first, a page at a time: the `Link`
    header names the `next` and `prev` pages (keyset cursors; a cursor this list did not give
    out is a 422 naming `cursor`)."""
    position = None if cursor is None else Cursor.decode(cursor)
    page = await dead_letters_page(container.uow(), principal, include_resolved, position, limit)
    links = []
    for rel, value in (("next", page.next), ("prev", page.previous)):
        if value is not None:
            query = urlencode(
                {"include_resolved": str(include_resolved).lower(), "limit": limit, "cursor": value}
            )
            links.append(f'</api/v1/operations/dead-letters?{query}>; rel="{rel}"')
    if links:
        response.headers["Link"] = ", ".join(links)
    return [_letter(r) for r in page.items]


@casework_router.post(
    "/operations/dead-letters/{dead_letter_id}/redrive",
    operation_id="redriveDeadLetter",
    summary="Re-drive a dead letter",
    tags=["operations"],
    response_model=DeadLetterOut,
)
async def redrive(
    dead_letter_id: PathId, container: ContainerDep, principal: CurrentPrincipal
) -> DeadLetterOut:
    """Try the call again (same idempotency key)."""
    return _letter(
        await resolve_dead_letter(container.uow(), container.clock, principal, dead_letter_id, True)
    )


@casework_router.post(
    "/operations/dead-letters/{dead_letter_id}/abandon",
    operation_id="abandonDeadLetter",
    summary="Abandon a dead letter",
    tags=["operations"],
    response_model=DeadLetterOut,
)
async def abandon(
    dead_letter_id: PathId, container: ContainerDep, principal: CurrentPrincipal
) -> DeadLetterOut:
    """Stop trying; the application fails with an explanation."""
    return _letter(
        await resolve_dead_letter(
            container.uow(), container.clock, principal, dead_letter_id, False
        )
    )
