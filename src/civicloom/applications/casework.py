"""Use cases of people working a case: officers, supervisors, applicants and operators."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select

from civicloom.applications.case import (
    CaseContext,
    add_timeline,
    audit,
    emit,
    load_case,
)
from civicloom.applications.completion import (
    UNRECORDABLE,
    complete_step,
    park_result,
    unrecordable,
)
from civicloom.applications.deadlines import restart_clock, stop_clock
from civicloom.applications.domain import (
    ApplicationState,
    OfficerDecision,
    TaskState,
)
from civicloom.applications.engine import finish_case
from civicloom.applications.queries import department_queue, task_view
from civicloom.applications.tables import ApplicationRow, TaskRow
from civicloom.applications.views import DepartmentQueueQuery, TaskView
from civicloom.audit import AuditAction, AuditRecord, record_read
from civicloom.catalogue import StepKind
from civicloom.db import UnitOfWork
from civicloom.identity import Role, StaffMember, visible_fields
from civicloom.kernel import (
    Clock,
    Conflict,
    DomainError,
    FieldError,
    NotFound,
    Principal,
    SignedCursors,
    ValidationFailed,
)
from civicloom.outbox import EventType


class Forbidden(DomainError):
    """Authenticated, but this role may not do that."""

    slug = "forbidden"
    title = "Forbidden"
    status = 403


@dataclass(frozen=True)
class TaskFilter:
    """Work-queue filters for an officer."""

    service: str | None = None
    state: str | None = None
    sla: str | None = None  # on_track | due_soon | breached
    limit: int = 50
    offset: int = 0


def _is_officer_of(principal: Principal, department: str | None) -> bool:
    return (
        department is not None
        and principal.department == department
        and bool({"officer", "supervisor"} & principal.roles)
    )


def _reads_tasks_of(principal: Principal, department: str | None) -> bool:
    """Officers and supervisors of the department, and its own systems (a machine client
    whose key holds ``tasks:read``, checked by the route), read its tasks; nobody else.
    A machine never acts on a human review (``_officer_case``: 404)."""
    machine = Role.MACHINE_CLIENT.value in principal.roles
    return _is_officer_of(principal, department) or (
        machine and department is not None and principal.department == department
    )


# Tasks a person may still take, hand on or act on; a finished task keeps its last holder.
OPEN_TASK_STATES = frozenset({TaskState.AWAITING_OFFICER.value, TaskState.AWAITING_APPLICANT.value})


def step_role(case: CaseContext, task: TaskRow) -> str | None:
    """The department role the blueprint step asks for (``role:``), if any.

    Read from the pinned blueprint, not from ``task.role``: an SLA escalation relabels the task
    for supervisors' lists but does not change who may decide it.
    """
    return case.graph.steps[task.step_id].role


def check_may_work(principal: Principal, role: str | None, assignee: str | None) -> None:
    """Whether this department member may act on a task (decide, ask, inspect, claim).

    The step's role is required (403 without it, for supervisors too: a supervisor who is not
    a licensing officer does not issue licences); a task someone else holds is theirs (409:
    release it, or a supervisor takes it over or reassigns it).
    """
    if role is not None and role not in principal.roles:
        raise Forbidden(f"this step needs the role {role!r}, which you do not hold")
    if assignee is not None and assignee != principal.subject:
        raise Conflict(f"{assignee} holds this task: they release it, or a supervisor reassigns it")


async def _officer_case(
    uow: UnitOfWork, principal: Principal, task_id: str, *, read_only: bool = False
) -> tuple[CaseContext, TaskRow]:
    task = await uow.session.get(TaskRow, task_id)
    allowed = _reads_tasks_of if read_only else _is_officer_of
    if task is None or not allowed(principal, task.department):
        raise NotFound(f"no task {task_id!r} in your department")
    case = await load_case(uow.session, task.application_id, lock=True)
    return case, case.tasks[task.step_id]


def officer_queue_query(
    principal: Principal, flt: TaskFilter, now: datetime
) -> Select[TaskRow, ApplicationRow]:
    """The officer's department's open human tasks, soonest due first (one query)."""
    query = (
        select(TaskRow, ApplicationRow)
        .join(ApplicationRow, ApplicationRow.id == TaskRow.application_id)
        .where(TaskRow.department == principal.department)
        .where(
            TaskRow.state.in_(
                [TaskState.AWAITING_OFFICER.value, TaskState.AWAITING_APPLICANT.value]
            )
        )
    )
    if flt.service:
        query = query.where(ApplicationRow.service_id == flt.service)
    if flt.state:
        query = query.where(TaskRow.state == flt.state)
    if flt.sla == "breached":
        query = query.where(TaskRow.sla_due_at < now)
    elif flt.sla == "on_track":
        query = query.where((TaskRow.sla_due_at.is_(None)) | (TaskRow.sla_due_at >= now))
    return (
        query.order_by(TaskRow.sla_due_at.is_(None), TaskRow.sla_due_at, TaskRow.id)
        .limit(flt.limit)
        .offset(flt.offset)
    )


async def list_officer_tasks(
    uow: UnitOfWork, clock: Clock, principal: Principal, flt: TaskFilter
) -> list[TaskView]:
    """The work queue."""
    if not principal.department or not _reads_tasks_of(principal, principal.department):
        raise Forbidden("only officers and their department's systems have a work queue")
    async with uow:
        result = await uow.session.execute(officer_queue_query(principal, flt, clock.now()))
        return [task_view(task, app) for task, app in result]


@dataclass(frozen=True)
class OfficerQueuePage:
    """A keyset page of the work queue through the API: tasks and the neighbours' cursors."""

    tasks: list[TaskView]
    next: str | None
    previous: str | None


async def officer_queue_page(
    uow: UnitOfWork,
    clock: Clock,
    principal: Principal,
    flt: TaskFilter,
    cursors: SignedCursors,
    cursor: str | None,
) -> OfficerQueuePage:
    """The work queue keyset-paged (issue 23): the same query as the back-office page, its
    cursor bound to the department and the filters (another queue's is a 400 naming
    ``cursor``)."""
    if not principal.department or not _reads_tasks_of(principal, principal.department):
        raise Forbidden("only officers and their department's systems have a work queue")
    query = DepartmentQueueQuery(
        department=principal.department,
        service=flt.service,
        state=flt.state,
        sla={"on_track": "not_breached", "breached": "breached"}.get(flt.sla or ""),
        limit=flt.limit,
    )
    if cursor is not None:
        query = replace(query, position=cursors.decode(cursor, query.scope))
    async with uow:
        found = await department_queue(uow.session, query, clock.now())
    return OfficerQueuePage(
        found.tasks,
        cursors.encode(found.next, query.scope) if found.next else None,
        cursors.encode(found.previous, query.scope) if found.previous else None,
    )


async def read_officer_task(
    uow: UnitOfWork, clock: Clock, principal: Principal, task_id: str
) -> tuple[TaskView, dict[str, Any]]:
    """A task with only the data the officer's department may see; the read is audited."""
    async with uow:
        case, task = await _officer_case(uow, principal, task_id, read_only=True)
        data = visible_fields(principal, case.blueprint, case.app.data)
        # The fields and purpose also go in their own columns: the applicant's "Who used my
        # data" lists reads by them.
        record_read(
            uow.session,
            AuditRecord(
                actor=principal.audit_name,
                action=AuditAction.APPLICATION_READ,
                subject_type="application",
                subject_id=case.app.id,
                occurred_at=clock.now(),
                department=principal.department,
                details={"fields": sorted(data), "purpose": f"review {task.step_id}"},
                purpose="an officer reviews the application",
                fields=tuple(sorted(data)),
            ),
        )
        await uow.commit()
    return task_view(task, case.app), data


async def claim_task(
    uow: UnitOfWork, clock: Clock, principal: Principal, task_id: str, release: bool = False
) -> TaskView:
    """Take a task (or give it back); a supervisor with the step's role takes over a task a
    colleague holds (audited as ``task.taken_over``)."""
    async with uow:
        case, task = await _officer_case(uow, principal, task_id)
        now = clock.now()
        previous = task.assignee
        if task.state not in OPEN_TASK_STATES:
            raise Conflict(f"the task is {task.state}; only an open task can be claimed")
        if release:
            if previous != principal.subject:
                raise Conflict("you can only release a task you hold")
            task.assignee, action = None, AuditAction.TASK_RELEASED
        else:
            taking_over = previous not in (None, principal.subject)
            if taking_over and "supervisor" in principal.roles:
                check_may_work(principal, step_role(case, task), None)
                action = AuditAction.TASK_TAKEN_OVER
            else:
                check_may_work(principal, step_role(case, task), previous)
                action = AuditAction.TASK_CLAIMED
            task.assignee = principal.subject
        task.updated_at = now
        details: dict[str, Any] = {"task": task.id}
        if action is AuditAction.TASK_TAKEN_OVER:
            details.update({"from": previous, "to": principal.subject})
        await audit(
            uow.session, principal.audit_name, action, case.app, now, task.department, details
        )
        await uow.commit()
    return task_view(task, case.app)


async def assign_task(
    uow: UnitOfWork,
    clock: Clock,
    principal: Principal,
    task_id: str,
    assignee: str,
    staff: Mapping[str, StaffMember],
) -> TaskView:
    """A supervisor (re)assigns an open task to a member of the task's department who holds
    the step's role; ``staff`` is that department's staff who can be given work
    (``identity.department_staff``: the staff directory)."""
    if "supervisor" not in principal.roles:
        raise Forbidden("only a supervisor can assign tasks")
    async with uow:
        case, task = await _officer_case(uow, principal, task_id)
        member = staff.get(assignee)
        if member is None or member.department != task.department:
            raise ValidationFailed(
                [
                    FieldError(
                        "assignee",
                        "department-staff",
                        f"{assignee!r} is not an officer of {task.department}",
                    )
                ]
            )
        if task.state not in OPEN_TASK_STATES:
            raise Conflict(f"the task is {task.state}; only an open task can be assigned")
        role = step_role(case, task)
        if role is not None and role not in member.roles:
            raise ValidationFailed(
                [
                    FieldError(
                        "assignee", "step-role", f"{assignee!r} does not hold the role {role!r}"
                    )
                ]
            )
        now = clock.now()
        previous, task.assignee, task.updated_at = task.assignee, assignee, now
        await audit(
            uow.session,
            principal.audit_name,
            AuditAction.TASK_ASSIGNED,
            case.app,
            now,
            task.department,
            {"task": task.id, "from": previous, "to": assignee},
        )
        await uow.commit()
    return task_view(task, case.app)


async def _decided_task(
    uow: UnitOfWork, principal: Principal, task_id: str
) -> tuple[CaseContext, TaskRow]:
    case, task = await _officer_case(uow, principal, task_id)
    if task.state != TaskState.AWAITING_OFFICER.value:
        raise Conflict(f"the task is {task.state}, not awaiting an officer")
    check_may_work(principal, step_role(case, task), task.assignee)
    return case, task


async def _audit_decision(
    uow: UnitOfWork,
    principal: Principal,
    case: CaseContext,
    task: TaskRow,
    decision: OfficerDecision,
    reason: str | None,
    now: datetime,
) -> None:
    # Decided without a claim: the decider held it (the page shows who decided).
    task.assignee = principal.subject
    await audit(
        uow.session,
        principal.audit_name,
        (
            AuditAction.TASK_APPROVED
            if decision is OfficerDecision.APPROVE
            else AuditAction.TASK_REJECTED
        ),
        case.app,
        now,
        task.department,
        {"task": task.id, "reason": reason},
    )


async def decide_task(
    uow: UnitOfWork,
    clock: Clock,
    principal: Principal,
    task_id: str,
    decision: OfficerDecision,
    reason: str | None,
) -> TaskView:
    """Approve or reject on a review task; a rejection needs a reason the applicant will read."""
    if decision is OfficerDecision.REJECT and not (reason and reason.strip()):
        raise ValidationFailed(
            [FieldError("reason", "required", "say why, in words the applicant will read")]
        )
    parked: str | None = None
    output = {
        "decision": "approved" if decision is OfficerDecision.APPROVE else "rejected",
        "by": principal.subject,
        "reason": reason,
    }
    async with uow:
        case, task = await _decided_task(uow, principal, task_id)
        now = clock.now()
        # the questions asked on this step and the applicant's answers stay on its record
        output = {**exchanges_kept(task.output), **output}
        await _audit_decision(uow, principal, case, task, decision, reason, now)
        if decision is OfficerDecision.APPROVE:
            try:
                await complete_step(uow.session, case, task, output, now)
            except UNRECORDABLE as exc:  # rolled back below; the decision is kept, parked
                parked = unrecordable(case, task.step_id, exc)
        else:
            task.output = output
            await finish_case(
                uow.session, case, ApplicationState.REJECTED, reason, now, principal.audit_name
            )
        if parked is None:
            await uow.commit()
    if parked is not None:
        # The decision stands, but a condition after it fails over this case: the decision is
        # recorded on the task and the step dead-lettered, naming the expression (no 500 loop).
        async with uow:
            case, task = await _decided_task(uow, principal, task_id)
            now = clock.now()
            await _audit_decision(uow, principal, case, task, decision, reason, now)
            await park_result(uow.session, case, task, output, parked, now)
            await uow.commit()
    return task_view(task, case.app)


def exchanges_kept(output: Mapping[str, Any] | None) -> dict[str, Any]:
    """The information requests and answers of a task's output (a decision keeps them)."""
    return {k: output[k] for k in ("requests", "answers") if output and k in output}


async def request_information(
    uow: UnitOfWork, clock: Clock, principal: Principal, task_id: str, message: str
) -> TaskView:
    """Ask the applicant for more information; the case waits for their answer."""
    if not message.strip():
        raise ValidationFailed([FieldError("message", "required", "say what you need")])
    async with uow:
        case, task = await _officer_case(uow, principal, task_id)
        if task.state != TaskState.AWAITING_OFFICER.value:
            raise Conflict(f"the task is {task.state}, not awaiting an officer")
        check_may_work(principal, step_role(case, task), task.assignee)
        now = clock.now()
        task.state, task.updated_at = TaskState.AWAITING_APPLICANT.value, now
        requests = list((task.output or {}).get("requests", []))
        requests.append({"at": now.isoformat(), "by": principal.subject, "message": message})
        task.output = {**(task.output or {}), "requests": requests}
        case.app.state, case.app.updated_at = ApplicationState.AWAITING_APPLICANT.value, now
        stop_clock(case, now)
        add_timeline(uow.session, case.app, now, "information.requested", message, task)
        await emit(
            uow.session,
            case.app,
            now,
            EventType.INFORMATION_REQUESTED,
            {"task_id": task.id, "department": task.department},
            key=f"info.requested:{task.id}:{len(requests)}",
        )
        await audit(
            uow.session,
            principal.audit_name,
            AuditAction.INFORMATION_REQUESTED,
            case.app,
            now,
            task.department,
            {"task": task.id},
        )
        await uow.commit()
    return task_view(task, case.app)


async def _applicant_case(
    uow: UnitOfWork, applicant: Principal, application_id: str
) -> CaseContext:
    app = await uow.session.get(ApplicationRow, application_id)
    if app is None or app.applicant_id != applicant.subject:
        raise NotFound(f"no application {application_id!r} for this applicant")
    return await load_case(uow.session, application_id, lock=True)


async def answer_information_request(
    uow: UnitOfWork,
    clock: Clock,
    applicant: Principal,
    application_id: str,
    answer: str,
    step_id: str | None = None,
) -> None:
    """The applicant answers one step's question; that step resumes.

    An answer goes only to the department that asked (``step_id``): when several departments
    wait for the applicant, one answer for all would show each of them what was written for
    another, so the step must be named (without it, only a single waiting step is answered).
    """
    if not answer.strip():
        raise ValidationFailed([FieldError("answer", "required", "write your answer")])
    async with uow:
        case = await _applicant_case(uow, applicant, application_id)
        waiting = [t for t in case.tasks.values() if t.state == TaskState.AWAITING_APPLICANT.value]
        if not waiting:
            raise Conflict("nothing is waiting for your answer")
        if step_id is not None:
            waiting = [t for t in waiting if t.step_id == step_id]
            if not waiting:
                raise Conflict("that question is no longer waiting for your answer")
        elif len(waiting) > 1:
            raise ValidationFailed(
                [
                    FieldError(
                        "step_id",
                        "required",
                        "several departments are waiting for you: answer each question with its"
                        " step_id",
                    )
                ]
            )
        now = clock.now()
        case.app.state, case.app.updated_at = ApplicationState.IN_PROGRESS.value, now
        restart_clock(uow.session, case, waiting, now)
        add_timeline(
            uow.session, case.app, now, "information.provided", "You sent more information"
        )
        for task in waiting:
            answers = list((task.output or {}).get("answers", []))
            answers.append({"at": now.isoformat(), "answer": answer})
            task.output = {**(task.output or {}), "answers": answers}
            if task.kind == StepKind.APPLICANT_ACTION:
                await complete_step(uow.session, case, task, task.output, now)
            else:
                task.state, task.updated_at = TaskState.AWAITING_OFFICER.value, now
        await emit(
            uow.session,
            case.app,
            now,
            EventType.INFORMATION_PROVIDED,
            {},
            key=f"info.provided:{case.app.id}:{now.isoformat()}",
        )
        await audit(
            uow.session, applicant.audit_name, AuditAction.INFORMATION_PROVIDED, case.app, now
        )
        await uow.commit()


async def withdraw_application(
    uow: UnitOfWork, clock: Clock, applicant: Principal, application_id: str
) -> None:
    """The applicant withdraws; every open step is cancelled."""
    async with uow:
        case = await _applicant_case(uow, applicant, application_id)
        if ApplicationState(case.app.state).is_final:
            raise Conflict(f"the application is already {case.app.state}")
        await finish_case(
            uow.session,
            case,
            ApplicationState.WITHDRAWN,
            "withdrawn by the applicant",
            clock.now(),
            applicant.audit_name,
        )
        await uow.commit()


async def count_open_tasks(uow: UnitOfWork, department: str) -> int:
    """Open human tasks of a department (for workload views)."""
    async with uow:
        return int(
            await uow.session.scalar(
                select(func.count())
                .select_from(TaskRow)
                .where(
                    TaskRow.department == department,
                    TaskRow.state.in_(
                        [TaskState.AWAITING_OFFICER.value, TaskState.AWAITING_APPLICANT.value]
                    ),
                )
            )
            or 0
        )
