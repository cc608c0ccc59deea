"""The capability catalogue page (ADR 0051): every department capability with its contract,
connector, SLA, owner department, version and the published services that use it.

Shown to the roles that may read the catalogue API (``CATALOGUE_READERS``); other staff get
403, applicants and machine keys too."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from civicloom.api import CATALOGUE_READERS
from civicloom.backoffice.pages.common import page
from civicloom.catalogue import capability_catalogue, capability_entry
from civicloom.kernel import PathId
from civicloom.web import ContainerDep, CurrentPrincipal, negotiate_locale, page_roles

capabilities_pages_router = APIRouter(include_in_schema=False)
CATALOGUE_PAGE = page_roles(*(role.value for role in CATALOGUE_READERS))


def contract_fields(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The top-level fields of a JSON Schema object: name, type(s), required, constraints."""
    required = set(schema.get("required") or [])
    rows = []
    for name, spec in (schema.get("properties") or {}).items():
        declared = spec.get("type", "") if isinstance(spec, dict) else ""
        types = [declared] if isinstance(declared, str) else list(declared)
        rules = {
            key: spec[key]
            for key in ("enum", "pattern", "minimum", "maximum", "format")
            if isinstance(spec, dict) and key in spec
        }
        rows.append(
            {"name": name, "types": [t for t in types if t], "required": name in required, **rules}
        )
    return rows


@capabilities_pages_router.get("/backoffice/capabilities", dependencies=[CATALOGUE_PAGE])
async def capabilities(
    request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> HTMLResponse:
    """Every registered capability, by department."""
    async with container.uow() as uow:
        entries = await capability_catalogue(uow.session)
    return page(
        request,
        "backoffice/capabilities.html",
        principal,
        entries=entries,
        locale=negotiate_locale(request),
    )


@capabilities_pages_router.get(
    "/backoffice/capabilities/{capability_id}", dependencies=[CATALOGUE_PAGE]
)
async def capability(
    capability_id: PathId, request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> HTMLResponse:
    """One capability: its terms, its input and output contracts and who uses it."""
    async with container.uow() as uow:
        entry = await capability_entry(uow.session, capability_id)
    return page(
        request,
        "backoffice/capability.html",
        principal,
        entry=entry,
        locale=negotiate_locale(request),
        inputs=contract_fields(entry.input_schema),
        outputs=contract_fields(entry.output_schema),
    )
