"""``/api/v1``: services and applications."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Response

from civicloom.api.schemas import (
    ApplicationCreate,
    ApplicationOut,
    CatalogueDrafts,
    CatalogueEntryOut,
    DataCatalogueOut,
    ServiceOut,
)
from civicloom.applications import SubmitApplication, get_application, submit_application
from civicloom.catalogue import RetentionStart, list_current_blueprints, read_data_catalogue
from civicloom.kernel import LocalisedText, PathId
from civicloom.registries import acting_for_answers
from civicloom.web import ContainerDep, CurrentPrincipal, GatewayDep, Problem, public_route

_PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}}
    for code in (400, 401, 403, 404, 409, 413, 422)
}

api_v1_router = APIRouter(prefix="/api/v1", tags=["v1"], responses=_PROBLEMS)


@api_v1_router.get("/services", response_model=list[ServiceOut])
async def list_services(container: ContainerDep) -> list[ServiceOut]:
    """The published services citizens can apply for."""
    async with container.uow() as uow:
        published = await list_current_blueprints(uow.session)
    return [
        ServiceOut(
            id=p.blueprint.id,
            version=p.blueprint.version,
            title={"en": p.blueprint.title.en, "zh-Hans": p.blueprint.title.zh_hans},
            owner=p.blueprint.owner,
            form_schema=p.blueprint.form.json_schema,
        )
        for p in published
    ]


def _texts(text: LocalisedText | None, fallback: str) -> dict[str, str]:
    if text is None:
        return {"en": fallback, "zh-Hans": fallback}
    return {"en": text.en, "zh-Hans": text.zh_hans or text.en}


@api_v1_router.get(
    "/data-catalogue",
    response_model=DataCatalogueOut,
    operation_id="readDataCatalogue",
    summary="The data catalogue",
    dependencies=[public_route()],
)
async def data_catalogue(container: ContainerDep) -> DataCatalogueOut:
    """Public: every form field, document type and register field of the published services,
    with its owner department, data class, legal basis and retention (ADR 0050)."""
    catalogue = await read_data_catalogue(container.uow(), container.settings.blueprints_dir)
    return DataCatalogueOut(
        drafts=CatalogueDrafts(
            retention=catalogue.draft_retention.text,
            counted_from=RetentionStart.LAST_CHANGE.value,
            legal_basis=catalogue.draft_legal_basis,
        ),
        entries=[
            CatalogueEntryOut(
                kind=e.kind.value,
                scope=e.scope,
                name=e.name,
                title=_texts(e.title, e.name),
                owner=e.ownership.owner,
                owner_name=_texts(catalogue.departments.get(e.ownership.owner), e.ownership.owner),
                data_class=e.ownership.data_class.value,
                legal_basis=e.ownership.legal_basis,
                retention=e.ownership.retention.text,
                counted_from=e.counted_from.value,
            )
            for e in catalogue.entries
        ],
    )


_RATE_LIMITED: dict[int | str, dict[str, Any]] = {
    429: {
        "model": Problem,
        "content": {"application/problem+json": {}},
        "description": "Too many submissions by this caller in a short time (`too-many-requests`)",
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait before submitting again.",
                "schema": {"type": "integer", "minimum": 1},
            }
        },
    }
}


@api_v1_router.post(
    "/applications", status_code=201, response_model=ApplicationOut, responses=_RATE_LIMITED
)
async def create_application(
    body: ApplicationCreate,
    container: ContainerDep,
    principal: CurrentPrincipal,
    response: Response,
    gateway: GatewayDep,
    idempotency_key: Annotated[str | None, Header(max_length=200, min_length=8)] = None,
) -> ApplicationOut:
    """Submit an application; with ``Idempotency-Key`` a retry returns the first result.

    For a business, the business register is read first (no transaction open) and the
    applicant must be a director it names or hold a delegated mandate (ADR 0041)."""
    acting = await acting_for_answers(
        container.uow, gateway, container.clock, principal, body.service, body.data
    )
    view, created = await submit_application(
        container.uow(),
        container.clock,
        principal,
        SubmitApplication(
            service_id=body.service,
            data=body.data,
            idempotency_key=idempotency_key,
            acting_for=acting,
        ),
    )
    if created:
        container.metrics.applications_submitted.labels(view.service_id).inc()
    else:
        response.status_code = 200
    response.headers["Location"] = f"/api/v1/applications/{view.id}"
    return ApplicationOut.of(view)


@api_v1_router.get("/applications/{application_id}", response_model=ApplicationOut)
async def read_application(
    application_id: PathId, container: ContainerDep, principal: CurrentPrincipal
) -> ApplicationOut:
    """One of the caller's own applications."""
    view = await get_application(container.uow(), container.clock, principal, application_id)
    return ApplicationOut.of(view)
