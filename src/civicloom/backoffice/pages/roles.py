"""Pages of supervisors, service owners, operators and auditors."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import yaml
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from civicloom.applications import CaseFinished, resolve_dead_letter
from civicloom.backoffice.domain import rule_tables, sla_state
from civicloom.backoffice.labels import action_labels, purpose_labels
from civicloom.backoffice.oversight import (
    AuditQuery,
    blueprint_versions,
    dead_letter_to_abandon,
    export_search,
    model_versions,
    operator_status,
    search_audit,
    verify_audit_trail,
)
from civicloom.backoffice.pages.common import (
    AUDITOR_PAGE,
    OPERATOR_PAGE,
    OWNER_PAGE,
    SUPERVISOR_PAGE,
    field_errors,
    page,
    service_and_step_namers,
)
from civicloom.backoffice.pages.officer import team_of
from civicloom.backoffice.queries import attention_tasks, team_workload
from civicloom.catalogue import Blueprint, CatalogueContext, svg
from civicloom.departments import PAYMENTS_SENDER, department_names
from civicloom.identity import staff_named
from civicloom.kernel import Conflict, FieldError, NotFound, PathId, ValidationFailed
from civicloom.registries import agreement_purposes, approved_agreements, purpose_in_words
from civicloom.rules import RuleBook, recorded_evaluations, replay
from civicloom.web import (
    ContainerDep,
    CurrentPrincipal,
    error_list,
    negotiate_locale,
    page_gettext,
    see_other,
)

roles_router = APIRouter(include_in_schema=False)


@roles_router.get("/backoffice/supervision", dependencies=[SUPERVISOR_PAGE])
async def supervision(
    request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> HTMLResponse:
    """Escalated and breached tasks, reassignment, and the team's workload."""
    now = container.clock.now()
    _service_name, step_name = await service_and_step_namers(container, request)
    return page(
        request,
        "backoffice/supervision.html",
        principal,
        rows=await attention_tasks(container.uow(), container.clock, principal),
        step_name=step_name,
        workload=await team_workload(container.uow(), container.clock, principal),
        # The whole department (one list for every row; the step's role is checked when the
        # assignment is made, and a refusal shows the task page with the reason by the field).
        team=await team_of(container, principal, None),
        sla_of=lambda task: sla_state(task.sla_due_at, now).value,
        done=request.query_params.get("done"),
    )


def _rulebook(container: ContainerDep) -> RuleBook:
    return RuleBook.from_directory(container.settings.blueprints_dir / "rules")


@roles_router.get("/backoffice/services", dependencies=[OWNER_PAGE])
async def services(
    request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> HTMLResponse:
    """Blueprint versions, decision-model versions and their test results."""
    return page(
        request,
        "backoffice/services.html",
        principal,
        versions=await blueprint_versions(container.uow(), principal),
        models=model_versions(_rulebook(container), principal),
    )


@roles_router.get("/backoffice/services/{service_id}/versions/{version}", dependencies=[OWNER_PAGE])
async def journey(
    service_id: PathId,
    version: Annotated[int, Path(ge=1, le=1_000_000)],
    request: Request,
    container: ContainerDep,
    principal: CurrentPrincipal,
) -> HTMLResponse:
    """One blueprint version and its journey as department swimlanes."""
    rows = [
        r
        for r in await blueprint_versions(container.uow(), principal)
        if r.service_id == service_id and r.version == version
    ]
    if not rows:
        raise NotFound(f"no version {version} of {service_id!r} for your department")
    row = rows[0]
    locale = negotiate_locale(request)
    context = CatalogueContext.from_directory(container.settings.blueprints_dir)
    names = {d.id: d.name.get(locale) for d in context.departments.values()}
    spec = Blueprint.model_validate(row.document)
    return page(
        request,
        "backoffice/journey.html",
        principal,
        row=row,
        diagram=svg(spec, names, locale),
        source=yaml.safe_dump(row.document, allow_unicode=True, sort_keys=False),
    )


@roles_router.get("/backoffice/rules/what-if", dependencies=[OWNER_PAGE])
async def what_if(
    request: Request,
    container: ContainerDep,
    principal: CurrentPrincipal,
    model: Annotated[str, Query(max_length=120)],
    version: Annotated[int, Query(ge=0, le=100_000)],
) -> HTMLResponse:
    """Replay a model version over the recorded inputs of past applications."""
    candidates = [
        m.model
        for m in model_versions(_rulebook(container), principal)
        if m.model.ref.key == model and m.model.version == version
    ]
    if not candidates:
        raise NotFound(f"no version {version} of decision model {model!r} for your department")
    async with container.uow() as uow:
        records = await recorded_evaluations(uow.session, model)
    return page(
        request,
        "backoffice/what_if.html",
        principal,
        report=replay(candidates[0], records),
        model_title=candidates[0].metadata.title,
        model_department=candidates[0].department,
        rule_tables=rule_tables(candidates[0].content),
    )


@roles_router.get("/backoffice/operations", dependencies=[OPERATOR_PAGE])
async def operations(
    request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> HTMLResponse:
    """Connector health and breakers (from the workers), outbox lag, worker heartbeats and
    dead letters."""
    status = await operator_status(container.uow, container.clock, principal)
    _service_name, step_name = await service_and_step_namers(container, request)
    return page(
        request,
        "backoffice/operations.html",
        principal,
        status=status,
        step_name=step_name,
        payments_sender=PAYMENTS_SENDER,
        now=container.clock.now(),
        done=request.query_params.get("done"),
        error=request.query_params.get("error"),
    )


async def _resolve(
    container: ContainerDep, principal: CurrentPrincipal, letter_id: str, redrive: bool
) -> Response:
    done = "redriven" if redrive else "abandoned"
    try:
        await resolve_dead_letter(container.uow(), container.clock, principal, letter_id, redrive)
    except CaseFinished:
        return see_other("/backoffice/operations?error=finished")
    except Conflict:
        return see_other("/backoffice/operations?error=resolved")
    return see_other(f"/backoffice/operations?done={done}")


@roles_router.post(
    "/backoffice/operations/dead-letters/{dead_letter_id}/redrive", dependencies=[OPERATOR_PAGE]
)
async def redrive(
    dead_letter_id: PathId, container: ContainerDep, principal: CurrentPrincipal
) -> Response:
    """Try the department call again, with the same idempotency key."""
    return await _resolve(container, principal, dead_letter_id, True)


@roles_router.get(
    "/backoffice/operations/dead-letters/{dead_letter_id}/abandon", dependencies=[OPERATOR_PAGE]
)
async def confirm_abandon(
    dead_letter_id: PathId, request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> HTMLResponse:
    """Are you sure? Abandoning fails the application for good; the page says which one."""
    letter, reference = await dead_letter_to_abandon(container.uow, principal, dead_letter_id)
    return page(
        request,
        "backoffice/abandon.html",
        principal,
        letter=letter,
        reference=reference,
    )


@roles_router.post(
    "/backoffice/operations/dead-letters/{dead_letter_id}/abandon", dependencies=[OPERATOR_PAGE]
)
async def abandon(
    dead_letter_id: PathId, container: ContainerDep, principal: CurrentPrincipal
) -> Response:
    """Stop trying; the application fails with an explanation."""
    return await _resolve(container, principal, dead_letter_id, False)


def _audit_query(
    application: str | None,
    person: str | None,
    officer: str | None,
    department: str | None,
    since: str | None,
    until: str | None,
    reads: bool,
) -> AuditQuery:
    """The search from the form's fields (raises ValidationFailed naming a bad date)."""
    errors: list[FieldError] = []
    days: dict[str, date | None] = {}
    for name, value in (("since", since), ("until", until)):
        try:
            days[name] = _day(value, name)
        except ValidationFailed as failed:
            errors.extend(failed.errors)
    if errors:
        raise ValidationFailed(errors)
    return AuditQuery(
        application=(application or "").strip() or None,
        person=(person or "").strip() or None,
        officer=(officer or "").strip() or None,
        department=(department or "").strip() or None,
        since=days["since"],
        until=days["until"],
        reads_only=reads,
    )


Text = Annotated[str | None, Query(max_length=200)]
DateText = Annotated[str | None, Query(max_length=10)]


def _day(value: str | None, field: str) -> date | None:
    """A date field of the search form; empty means no limit."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(
            [FieldError(field, "date", "enter the date as YYYY-MM-DD")]
        ) from None


@roles_router.get("/backoffice/audit", dependencies=[AUDITOR_PAGE])
async def audit_search(
    request: Request,
    container: ContainerDep,
    principal: CurrentPrincipal,
    application: Text = None,
    person: Text = None,
    officer: Text = None,
    department: Text = None,
    since: DateText = None,
    until: DateText = None,
    reads: bool = False,
) -> HTMLResponse:
    """Search the audit trail by application, person, officer, department and time."""
    errors: dict[str, str] = {}
    results = None
    locale = negotiate_locale(request)
    async with container.uow() as uow:
        departments = await department_names(uow.session)
        # what is recorded is an agreement's English purpose: shown in the reader's language
        purposes = {
            **agreement_purposes(await approved_agreements(uow.session), locale),
            **purpose_labels(page_gettext(request)),
        }
        # A member of staff is searched by the name the pages show ("Elena Rossi") or their id.
        person = await staff_named(uow.session, person or "") or person
        officer = await staff_named(uow.session, officer or "") or officer
    # A department is searched by its id or by its name in either language ("Tax Authority").
    wanted = (department or "").strip().casefold()
    for department_id, name in departments.items():
        if wanted in (name.en.casefold(), name.zh_hans.casefold()):
            department = department_id
    try:
        q = _audit_query(application, person, officer, department, since, until, reads)
        if not q.empty:
            results = await search_audit(container.uow(), principal, q)
    except ValidationFailed as failed:
        errors = field_errors(failed)
        q = AuditQuery(application=application, person=person, officer=officer)
    return page(
        request,
        "backoffice/audit.html",
        principal,
        status_code=422 if errors else 200,
        actions=action_labels(page_gettext(request)),
        purpose_label=lambda p: purpose_in_words(p, purposes),
        department_label=lambda d: departments[d].get(locale) if d in departments else d,
        q=q,
        results=results,
        errors=errors,
        error_summary=error_list(errors) if errors else None,
        export_query=request.url.query,
    )


@roles_router.get("/backoffice/audit/export.jsonl", dependencies=[AUDITOR_PAGE])
async def audit_export(
    container: ContainerDep,
    principal: CurrentPrincipal,
    application: Text = None,
    person: Text = None,
    officer: Text = None,
    department: Text = None,
    since: DateText = None,
    until: DateText = None,
    reads: bool = False,
) -> StreamingResponse:
    """The search as JSON Lines (one application alone: its chain with seals and proofs)."""
    q = _audit_query(application, person, officer, department, since, until, reads)
    q.validate()
    return StreamingResponse(
        export_search(container.uow, principal, q),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": "attachment; filename=audit-export.jsonl"},
    )


@roles_router.get("/backoffice/audit/verification", dependencies=[AUDITOR_PAGE])
async def audit_verification(
    request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> HTMLResponse:
    """Recompute every chain and check every seal now."""
    report = await verify_audit_trail(
        container.uow(), principal, container.settings.effective_keys_dir
    )
    return page(request, "backoffice/verification.html", principal, report=report)
