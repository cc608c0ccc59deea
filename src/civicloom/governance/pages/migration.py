"""Back-office pages of in-flight applications (ADR 0058): a published change's dry run (every
open application on the replaced version, what would change for it or why it stays), the run,
and moving one application back. The use cases are in ``inflight.py``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from civicloom.applications import MoveLine
from civicloom.governance.inflight import (
    MigrationPlan,
    MoveRefused,
    may_migrate,
    move_back,
    plan_migration,
    run_migration,
)
from civicloom.governance.pages import GOVERNANCE_PAGE, templates
from civicloom.governance.queries import get_change
from civicloom.governance.services import NotAllowed
from civicloom.kernel import Conflict, PathId, Principal
from civicloom.runtime import Container
from civicloom.web import (
    ContainerDep,
    CurrentPrincipal,
    negotiate_locale,
    page_gettext,
    render_page,
    see_other,
)

migration_pages_router = APIRouter(include_in_schema=False)


def _words(request: Request, line: MoveLine) -> str:
    return line.render(negotiate_locale(request), page_gettext(request))


async def _page(
    request: Request,
    container: Container,
    principal: Principal,
    change_id: str,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    _ = page_gettext(request)
    plan: MigrationPlan | None = None
    why_not = None
    try:
        plan = await plan_migration(container.uow(), principal, change_id)
    except NotAllowed:
        raise
    except Conflict as exc:
        why_not = (
            _("This change is not published yet: applications move only to a published version.")
            if "not published" in exc.detail
            else _(
                "This change declares no migration: its running applications keep their version."
            )
        )
    change = plan.change if plan else await get_change(container.uow(), change_id)
    context: dict[str, Any] = {
        "change": change,
        "plan": plan,
        "why_not": why_not,
        "may_run": plan is not None and may_migrate(principal, plan.owner),
        "would_move": [
            (p.reference, p.application_id, [_words(request, c) for c in p.changes])
            for p in (plan.plans if plan else ())
            if p.refusal is None
        ],
        "stays": [
            (p.reference, _words(request, p.refusal))
            for p in (plan.plans if plan else ())
            if p.refusal is not None
        ],
        "moved": [
            (m, _words(request, m.stays) if m.stays else None) for m in (plan.moved if plan else ())
        ],
        "errors": errors or {},
    }
    nav = [{"href": "/backoffice/changes", "text": _("Change requests"), "active": True}]
    return render_page(
        templates, request, "governance/migration.html", principal, nav, status_code, **context
    )


@migration_pages_router.get(
    "/backoffice/changes/{change_id}/migration", dependencies=[GOVERNANCE_PAGE]
)
async def migration_page(
    request: Request, change_id: PathId, container: ContainerDep, principal: CurrentPrincipal
) -> HTMLResponse:
    """The dry run: which running applications would move and what would change for each."""
    return await _page(request, container, principal, change_id)


@migration_pages_router.post(
    "/backoffice/changes/{change_id}/migration", dependencies=[GOVERNANCE_PAGE]
)
async def run(
    request: Request, change_id: PathId, container: ContainerDep, principal: CurrentPrincipal
) -> Response:
    """Move every movable application (the owning department's service owner)."""
    await request.form(max_files=0, max_fields=5)
    await run_migration(container.uow(), container.clock, principal, change_id)
    return see_other(f"/backoffice/changes/{change_id}/migration#moved")


@migration_pages_router.post(
    "/backoffice/changes/{change_id}/migration/back", dependencies=[GOVERNANCE_PAGE]
)
async def back(
    request: Request, change_id: PathId, container: ContainerDep, principal: CurrentPrincipal
) -> Response:
    """Move one application back to the version it was on."""
    form = await request.form(max_files=0, max_fields=5)
    application_id = str(form.get("application_id") or "")[:36]
    try:
        await move_back(container.uow(), container.clock, principal, change_id, application_id)
    except MoveRefused as refused:
        return await _page(
            request,
            container,
            principal,
            change_id,
            {application_id: _words(request, refused.line)},
            refused.status,
        )
    return see_other(f"/backoffice/changes/{change_id}/migration#moved")
