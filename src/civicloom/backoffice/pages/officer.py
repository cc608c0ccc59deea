"""Officer pages: the work queue, the task page and every action on a task."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from civicloom.applications import (
    OfficerDecision,
    assign_task,
    claim_task,
    clock_of,
    decide_task,
    queue_cursors,
    request_information,
    reviews_of_step,
    timeline_cursors,
)
from civicloom.backoffice.domain import (
    InspectionPlan,
    QueueFilter,
    SlaState,
    sla_state,
    step_role,
)
from civicloom.backoffice.labels import action_labels, actor_label
from civicloom.backoffice.pages.common import (
    OFFICER_PAGE,
    STAFF_PAGE,
    TASK_PAGE,
    document_response,
    field_errors,
    form_fields,
    namers_of,
    nav,
    page,
)
from civicloom.backoffice.queries import queue_screen, task_page
from civicloom.backoffice.services import (
    add_case_note,
    default_inspection_date,
    read_task_document,
    schedule_inspection,
)
from civicloom.backoffice.timeline import officer_timeline_text
from civicloom.catalogue import CALENDARS
from civicloom.documents import DocumentsRuntimeDep
from civicloom.identity import read_department_staff
from civicloom.kernel import (
    Conflict,
    FieldError,
    InvalidCursor,
    PathId,
    Principal,
    ValidationFailed,
)
from civicloom.rules import RULE_BOOK, RecordedDecision, RuleBook
from civicloom.web import (
    ContainerDep,
    CurrentPrincipal,
    error_list,
    localise,
    negotiate_locale,
    page_gettext,
    page_roles,
    see_other,
)

officer_router = APIRouter(include_in_schema=False)
SUPERVISOR_TASK = page_roles("supervisor", owner_scoped=True)
INLINE_TYPES = ("application/pdf", "image/png", "image/jpeg", "text/plain")


@officer_router.get("/backoffice", dependencies=[STAFF_PAGE])
async def home(request: Request, principal: CurrentPrincipal) -> RedirectResponse:
    """Send each person to the first page of their role."""
    items = nav(request, principal)
    return see_other(items[0]["href"] if items else "/")


@officer_router.get("/backoffice/tasks", dependencies=[OFFICER_PAGE])
async def queue(
    request: Request,
    container: ContainerDep,
    principal: CurrentPrincipal,
    service: Annotated[str | None, Query(max_length=100)] = None,
    state: Annotated[str | None, Query(pattern="^(|awaiting_officer|awaiting_applicant)$")] = None,
    sla: Annotated[str | None, Query(pattern="^(|on_track|due_soon|breached)$")] = None,
    mine: bool = False,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> HTMLResponse:
    """The department's work queue: filters, SLA badges, soonest due first, keyset-paged
    (Previous/Next links carry a signed cursor; a forged one is a 400 page)."""
    flt = QueueFilter(
        service=service or None,
        state=state or None,
        sla=SlaState(sla) if sla else None,
        mine=mine,
        cursor=cursor or None,
    )
    cursors = queue_cursors(container.settings.secret_key.get_secret_value())
    query = _query_string(flt)
    try:
        screen = await queue_screen(container.uow(), container.clock, principal, flt, cursors)
    except InvalidCursor:
        first = f"/backoffice/tasks?{query}" if query else "/backoffice/tasks"
        return page(request, "backoffice/page_link_invalid.html", principal, 400, first=first)
    now = container.clock.now()
    service_name, step_name = namers_of(screen.current, request)
    return page(
        request,
        "backoffice/queue.html",
        principal,
        result=screen.page,
        outside=screen.outside,
        flt=flt,
        services=screen.services,
        service_name=service_name,
        step_name=step_name,
        sla_of=lambda task: sla_state(task.sla_due_at, now).value,
        query=query,
    )


def _query_string(flt: QueueFilter) -> str:
    parts = [
        f"{name}={value}"
        for name, value in (
            ("service", flt.service),
            ("state", flt.state),
            ("sla", flt.sla.value if flt.sla else None),
            ("mine", "true" if flt.mine else None),
        )
        if value
    ]
    return "&".join(parts)


async def team_of(
    container: ContainerDep, principal: Principal, role: str | None
) -> list[dict[str, str]]:
    """Who a supervisor can assign this task to: the department's staff in the directory who
    hold the step's role and are not away (the same lookup the assignment use case checks
    against)."""
    staff = await read_department_staff(container.uow(), container.clock, principal.department)
    return [
        {"value": m.id, "text": m.name} for m in staff.values() if role is None or role in m.roles
    ]


def outcome_lines(
    rules: RuleBook, decision: RecordedDecision, locale: str, gettext: Any
) -> dict[str, Any]:
    """A recorded decision in words: the model's title and each output under the name its
    department gave it (Yes/No for flags), never the JSON the engine stored."""
    department, _sep, key = decision.model.partition("/")
    model = next(
        (
            m
            for m in rules.versions(decision.model)
            if m.version == decision.version and m.department == department
        ),
        None,
    )
    labels = model.output_labels() if model else {}
    title = model.metadata.title if model and model.metadata.title else None

    def say(text: str) -> str:  # the department's words for its model's texts (ADR 0070)
        return rules.say(decision.model, text, locale)

    def shown(value: Any) -> str:
        if value is True:
            return str(gettext("Yes"))
        if value is False:
            return str(gettext("No"))
        if value is None:
            return "–"
        if isinstance(value, list):
            return ", ".join(shown(v) for v in value)
        return say(value) if isinstance(value, str) else str(value)

    def fired(rule: dict[str, Any]) -> str:
        why = rule.get("description") or rule.get("rule_id")
        name = say(str(rule.get("node_name") or ""))
        return f"{name}: {say(str(why))}" if why else f"{name}: {gettext('evaluated')}"

    return {
        "title": title.get(locale) if title else key.replace("-", " ").capitalize(),
        "lines": [
            (
                say(labels[name]) if name in labels else name.replace("_", " ").capitalize(),
                shown(value),
            )
            for name, value in decision.output.items()
        ],
        "rules": [fired(r) for r in decision.rules],
    }


async def render_task(
    request: Request,
    container: ContainerDep,
    principal: Principal,
    task_id: str,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    cursor: str | None = None,
) -> HTMLResponse:
    """The task page (also re-rendered with errors after a refused action), with a page of
    the timeline: the newest, or the one ``cursor`` names (one this task's timeline did not give
    out is a 400 page with a link to the newest entries)."""
    cursors = timeline_cursors(container.settings.secret_key.get_secret_value())
    try:
        view = await task_page(container.uow, container.clock, principal, task_id, cursors, cursor)
    except InvalidCursor:
        first = f"/backoffice/tasks/{task_id}#timeline-heading"
        return page(request, "backoffice/page_link_invalid.html", principal, 400, first=first)
    now = container.clock.now()
    errors = errors or {}
    steps = view.blueprint.step_documents() if view.blueprint else {}
    role = step_role(view.blueprint, view.task.step_id)
    holder = view.task.assignee
    has_role = role is None or role in principal.roles
    supervisor = "supervisor" in principal.roles
    gettext = page_gettext(request)
    locale = negotiate_locale(request)
    rules = container.get(RULE_BOOK)

    def department_name(department: str | None) -> str:
        if not department:
            return ""
        return (
            view.departments[department].get(locale)
            if department in view.departments
            else department
        )

    def step_title(step_id: str | None) -> str:
        step = view.blueprint.step(step_id) if view.blueprint and step_id else None
        return localise(step.title, locale) if step is not None and step.title else ""

    return page(
        request,
        "backoffice/task.html",
        principal,
        status_code=status_code,
        view=view,
        sla=sla_state(view.task.sla_due_at, now).value,
        deadline=clock_of(
            container.get(CALENDARS),
            view.blueprint,
            view.task.application.deadline_at,
            view.task.application.clock_stopped_at,
            now,
        ),
        steps=steps,
        errors=errors,
        error_summary=error_list(errors) if errors else None,
        values=values or {},
        default_date=default_inspection_date(now.date()).isoformat(),
        team=await team_of(container, principal, role) if supervisor else [],
        step_role=role,
        may_work=has_role and holder in (None, principal.subject),
        may_take_over=supervisor and has_role and holder not in (None, principal.subject),
        done=request.query_params.get("done"),
        actions=action_labels(gettext),
        outcomes={d.id: outcome_lines(rules, d, locale, gettext) for d in view.decisions},
        who=lambda actor: actor_label(actor, view.people, gettext),
        holder_name=view.people.get(holder or "", holder),
        department_name=department_name,
        timeline_text=lambda entry: officer_timeline_text(
            entry, step_title, department_name, gettext, locale
        ),
        # a reviewer who reaches the case from the refused step finds the review and its
        # document (opened through the review's audited document route, ADR 0059)
        reviews=await reviews_of_step(
            container.uow(), principal, view.application.id, view.task.step_id
        ),
        document_types={
            spec.type: localise(spec.title, locale)
            for spec in (view.blueprint.documents if view.blueprint else [])
            if spec.title is not None
        },
        now=now,
    )


@officer_router.get("/backoffice/tasks/{task_id}", dependencies=[TASK_PAGE])
async def task(
    task_id: PathId,
    request: Request,
    container: ContainerDep,
    principal: CurrentPrincipal,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> HTMLResponse:
    """One task: the department's fields, documents, rule trace, notes, history, actions, and a
    page of the timeline (newest first; "Show older entries" carries a signed cursor)."""
    return await render_task(request, container, principal, task_id, cursor=cursor or None)


async def _act(
    request: Request,
    container: ContainerDep,
    principal: Principal,
    task_id: str,
    action: Any,
    done: str,
    values: dict[str, str] | None = None,
) -> Response:
    """Run an action; on success redirect back. An invalid answer re-renders the page with the
    reason beside the field; a conflict (someone else holds the task, it is no longer open)
    answers a page with the reason and no case data, so a refused action reads nothing."""
    try:
        await action()
    except ValidationFailed as failed:
        return await render_task(
            request, container, principal, task_id, 422, field_errors(failed), values
        )
    except Conflict as conflict:
        return page(
            request,
            "backoffice/conflict.html",
            principal,
            status_code=409,
            reason=conflict.detail,
            task_id=task_id,
        )
    return see_other(f"/backoffice/tasks/{task_id}?done={done}")


@officer_router.post("/backoffice/tasks/{task_id}/claim", dependencies=[TASK_PAGE])
async def claim(
    task_id: PathId, request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> Response:
    """Take the task."""

    async def run() -> None:
        await claim_task(container.uow(), container.clock, principal, task_id)

    return await _act(request, container, principal, task_id, run, "claimed")


@officer_router.post("/backoffice/tasks/{task_id}/release", dependencies=[TASK_PAGE])
async def release(
    task_id: PathId, request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> Response:
    """Give the task back to the queue."""

    async def run() -> None:
        await claim_task(container.uow(), container.clock, principal, task_id, release=True)

    return await _act(request, container, principal, task_id, run, "released")


@officer_router.post("/backoffice/tasks/{task_id}/assignment", dependencies=[SUPERVISOR_TASK])
async def assign(
    task_id: PathId, request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> Response:
    """A supervisor assigns (or reassigns) the task to an officer of the department."""
    values = await form_fields(request, "assignee", "next")
    staff = await read_department_staff(container.uow(), container.clock, principal.department)

    async def run() -> None:
        try:
            await assign_task(
                container.uow(), container.clock, principal, task_id, values["assignee"], staff
            )
        except ValidationFailed:
            message = page_gettext(request)("Choose an officer who holds the step's role")
            raise ValidationFailed([FieldError("assignee", "team-member", message)]) from None

    response = await _act(request, container, principal, task_id, run, "assigned", values)
    if values["next"] == "supervision" and response.status_code == 303:
        return see_other("/backoffice/supervision?done=assigned")
    return response


@officer_router.post("/backoffice/tasks/{task_id}/decision", dependencies=[TASK_PAGE])
async def decide(
    task_id: PathId, request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> Response:
    """Approve, or reject with a reason the applicant will read."""
    values = await form_fields(request, "decision", "reason")
    _ = page_gettext(request)

    async def run() -> None:
        if values["decision"] not in ("approve", "reject"):
            raise ValidationFailed(
                [FieldError("decision", "one-of", _("Select approve or reject"))]
            )
        if values["decision"] == "reject" and not values["reason"].strip():
            raise ValidationFailed(
                [FieldError("reason", "required", _("Say why, in words the applicant will read"))]
            )
        await decide_task(
            container.uow(),
            container.clock,
            principal,
            task_id,
            OfficerDecision(values["decision"]),
            values["reason"].strip() or None,
        )

    return await _act(request, container, principal, task_id, run, values["decision"], values)


@officer_router.post("/backoffice/tasks/{task_id}/information-request", dependencies=[TASK_PAGE])
async def ask(
    task_id: PathId, request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> Response:
    """Ask the applicant for more information."""
    values = await form_fields(request, "message")
    _ = page_gettext(request)

    async def run() -> None:
        if not values["message"].strip():
            raise ValidationFailed([FieldError("message", "required", _("Say what you need"))])
        await request_information(
            container.uow(), container.clock, principal, task_id, values["message"].strip()
        )

    return await _act(request, container, principal, task_id, run, "asked", values)


@officer_router.post("/backoffice/tasks/{task_id}/notes", dependencies=[TASK_PAGE])
async def note(
    task_id: PathId, request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> Response:
    """Add an internal note."""
    values = await form_fields(request, "note")
    _ = page_gettext(request)

    async def run() -> None:
        if not values["note"].strip():
            raise ValidationFailed([FieldError("note", "required", _("Write the note"))])
        await add_case_note(container.uow(), container.clock, principal, task_id, values["note"])

    return await _act(request, container, principal, task_id, run, "noted", values)


@officer_router.post("/backoffice/tasks/{task_id}/inspections", dependencies=[TASK_PAGE])
async def inspect(
    task_id: PathId, request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> Response:
    """Schedule a premises inspection (the applicant sees the date on their timeline)."""
    values = await form_fields(request, "planned_on", "inspection_note")
    _ = page_gettext(request)

    async def run() -> None:
        try:
            planned = date.fromisoformat(values["planned_on"])
        except ValueError:
            raise ValidationFailed(
                [FieldError("planned_on", "date", _("Enter the date as YYYY-MM-DD"))]
            ) from None
        await schedule_inspection(
            container.uow(),
            container.clock,
            principal,
            task_id,
            InspectionPlan(planned, values["inspection_note"] or None),
        )

    return await _act(request, container, principal, task_id, run, "scheduled", values)


@officer_router.get("/backoffice/tasks/{task_id}/documents/{document_id}", dependencies=[TASK_PAGE])
async def document(
    documents: DocumentsRuntimeDep,
    task_id: PathId,
    document_id: PathId,
    request: Request,
    container: ContainerDep,
    principal: CurrentPrincipal,
) -> Response:
    """View a document in the browser (sandboxed; PDFs and images inline, others downloaded)."""
    row, content = await read_task_document(
        container.uow(),
        documents,
        container.clock,
        principal,
        task_id,
        document_id,
    )
    return document_response(row, content, INLINE_TYPES)
