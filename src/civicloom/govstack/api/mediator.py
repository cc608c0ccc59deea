"""Information Mediator metaservices over the departments' capability catalogue (ADR 0046).

Identifiers follow X-Road: ``INSTANCE/CLASS/MEMBER/SUBSYSTEM``. The instance is
``govstack_instance``; every department is a member of class ``GOV`` whose one subsystem,
``capabilities``, offers each capability of its blueprint as a REST service (service code =
capability id, e.g. ``tax.clearance_check``); the platform itself is member ``civicloom`` with
one subsystem per GovStack facade (``messaging``, ``payments``, ``registration``,
``registries``, ``mediator``), whose services are the facade's routes.

- ``GET /listClients``: every subsystem of the instance (public, as in X-Road: names only).
- ``GET /{instance}/{class}/{member}/{subsystem}/listMethods``: a provider's services and their
  endpoints (machine clients and staff: it names the departments' internal endpoints).
- ``…/allowedMethods``: those of the provider's services the caller may use — a facade's routes
  whose scope the caller's key holds, a department's capabilities that an approved data-sharing
  agreement lets the caller's department read. An anonymous caller is allowed nothing (an
  empty list, which tells nothing).
- ``…/getOpenAPI?serviceCode=``: one service's contract as OpenAPI 3 (a JSON string, as the
  spec says), built from the capability's input and output schemas or from the facade's routes.

The same routes answer under ``/r1/…`` (the spec's paths). Unknown providers or services answer
404; malformed identifiers 400 naming the part.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts

from civicloom.departments import Department, list_departments
from civicloom.identity import STAFF_ROLES, Role, RoutePolicy, scopes_of
from civicloom.kernel import FieldError, NotFound, Principal, ValidationFailed
from civicloom.registries import approved_agreements
from civicloom.web import (
    ContainerDep,
    OptionalPrincipal,
    policy_for_route,
    problem_responses,
    public_route,
)
from civicloom.web.deps import Guard

mediator_router = APIRouter(tags=["govstack-mediator"], responses=problem_responses(400, 401, 404))

JSON_UTF8 = "application/json; charset=utf-8"
MEMBER_CLASS = "GOV"
PLATFORM_MEMBER = "civicloom"
DEPARTMENT_SUBSYSTEM = "capabilities"
FACADE_TAGS = {
    "govstack-messaging": "messaging",
    "govstack-payments": "payments",
    "govstack-registration": "registration",
    "govstack-registries": "registries",
    "govstack-mediator": "mediator",
}
IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{0,63}$")
SERVICE_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{0,127}$")
VERSION = "1"
# listMethods and getOpenAPI name the departments' internal endpoints: staff and machine
# clients (any scope) only; citizens get 403.
_STAFF_OR_MACHINES = Depends(
    Guard(RoutePolicy(roles=STAFF_ROLES | {Role.OPERATOR.value}, machines=True))
)


class BadIdentifier(ValidationFailed):
    """A part of an X-Road identifier is malformed (400, as the IM spec says)."""

    status = 400


@dataclass(frozen=True)
class Endpoint:
    """One REST endpoint of a service."""

    method: str
    path: str
    scope: str | None = None  # a facade route's scope (who may call it)


@dataclass(frozen=True)
class Service:
    """A REST service of a subsystem: a capability, or a facade's route group."""

    code: str
    endpoints: tuple[Endpoint, ...]
    contract: dict[str, Any]


def _respond(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=JSON_UTF8)


def _check_ids(**parts: str) -> None:
    errors = [
        FieldError(name, "pattern", "a letter, then letters, digits, '.', '_' or '-'")
        for name, value in parts.items()
        if not IDENTIFIER.match(value)
    ]
    if errors:
        raise BadIdentifier(errors)


def _capability_contract(department: str, capability: dict[str, Any]) -> dict[str, Any]:
    rest = capability.get("rest") or {}
    method = str(rest.get("method", "POST")).lower()
    path = str(rest.get("path", f"/{capability['id']}"))
    operation: dict[str, Any] = {
        "operationId": capability["id"],
        "summary": capability.get("description", ""),
        "responses": {
            "200": {
                "description": "The department's answer",
                "content": {"application/json": {"schema": capability.get("output_schema", {})}},
            }
        },
    }
    names = re.findall(r"{([^}]+)}", path)
    if names:
        operation["parameters"] = [
            {"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names
        ]
    if method not in ("get", "delete"):
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": capability.get("input_schema", {})}},
        }
    return {
        "openapi": "3.0.3",
        "info": {"title": f"{department}: {capability['id']}", "version": VERSION},
        "paths": {path: {method: operation}},
    }


def _department_services(department: Department) -> list[Service]:
    capabilities = (department.model_extra or {}).get("capabilities") or []
    services = []
    for capability in capabilities:
        rest = capability.get("rest") or {}
        endpoint = Endpoint(
            str(rest.get("method", "POST")).upper(), str(rest.get("path", f"/{capability['id']}"))
        )
        services.append(
            Service(
                code=str(capability["id"]),
                endpoints=(endpoint,),
                contract=_capability_contract(department.id, capability),
            )
        )
    return services


def _facade_services(request: Request, subsystem: str) -> list[Service]:
    routes = [
        (str(c.path), c.original_route)
        for c in iter_route_contexts(list(request.app.routes))
        if isinstance(c.original_route, APIRoute)
        and c.original_route.include_in_schema
        and any(FACADE_TAGS.get(str(t)) == subsystem for t in c.original_route.tags)
    ]
    if not routes:
        return []
    schema = request.app.openapi()
    paths = {path: schema.get("paths", {}).get(path, {}) for path, _ in routes}
    endpoints = tuple(
        Endpoint(m, path, p.scope if (p := policy_for_route(r, m)) is not None else None)
        for path, r in routes
        for m in sorted(r.methods or ())
    )
    contract = {
        "openapi": "3.0.3",
        "info": {"title": f"civicloom GovStack {subsystem}", "version": VERSION},
        "paths": paths,
        "components": schema.get("components", {}),
    }
    return [Service(code=subsystem, endpoints=endpoints, contract=contract)]


async def _departments(container: ContainerDep) -> dict[str, Department]:
    async with container.uow() as uow:
        departments = await list_departments(uow.session)
    return {d.id: d for d in departments}


async def _services(
    request: Request, container: ContainerDep, ids: tuple[str, str, str, str]
) -> tuple[list[Service], str | None]:
    """The provider's services, and the department owning them (None for the platform)."""
    instance, member_class, member, app = ids
    _check_ids(
        instanceId=instance, memberClass=member_class, memberCode=member, applicationCode=app
    )
    settings = container.settings
    if instance != settings.govstack_instance or member_class != MEMBER_CLASS:
        raise NotFound(f"no provider {instance}/{member_class}/{member}/{app}")
    if member == PLATFORM_MEMBER and app in FACADE_TAGS.values():
        return _facade_services(request, app), None
    departments = await _departments(container)
    if member in departments and app == DEPARTMENT_SUBSYSTEM:
        return _department_services(departments[member]), member
    raise NotFound(f"no provider {instance}/{member_class}/{member}/{app}")


def _listing(instance: str, member: str, app: str, services: list[Service]) -> dict[str, Any]:
    return {
        "member": [
            {
                "objectType": {"object_type": "SERVICE"},
                "serviceType": "REST",
                "GovStackInstance": instance,
                "memberClass": MEMBER_CLASS,
                "memberCode": member,
                "applicationCode": app,
                "serviceCode": s.code,
                "serviceVersion": VERSION,
                "endpointList": {
                    "member": [{"method": e.method, "path": e.path} for e in s.endpoints]
                },
            }
            for s in services
        ]
    }


@mediator_router.get("/listClients", dependencies=[public_route()])
async def list_clients(
    request: Request,
    container: ContainerDep,
    instance_id: Annotated[str, Query(alias="instanceId", max_length=64)] = "",
) -> JSONResponse:
    """Every subsystem of this instance (another ``instanceId``: none known here)."""
    instance = container.settings.govstack_instance
    if instance_id and instance_id != instance:
        return _respond({"member": []})
    departments = await _departments(container)
    ids = [(PLATFORM_MEMBER, app) for app in sorted(set(FACADE_TAGS.values()))] + [
        (d, DEPARTMENT_SUBSYSTEM) for d in sorted(departments)
    ]
    return _respond(
        {
            "member": [
                {
                    "objectType": {"object_type": "SUBSYSTEM"},
                    "GovStackInstance": instance,
                    "memberClass": MEMBER_CLASS,
                    "memberCode": member,
                    "applicationCode": app,
                }
                for member, app in ids
            ]
        }
    )


async def _list_methods(
    request: Request, container: ContainerDep, ids: tuple[str, str, str, str]
) -> JSONResponse:
    services, _ = await _services(request, container, ids)
    return _respond(_listing(ids[0], ids[2], ids[3], services))


async def _allowed(
    request: Request,
    container: ContainerDep,
    principal: Principal | None,
    ids: tuple[str, str, str, str],
) -> JSONResponse:
    if principal is None:
        _check_ids(instanceId=ids[0], memberClass=ids[1], memberCode=ids[2], applicationCode=ids[3])
        return _respond({"member": []})
    services, department = await _services(request, container, ids)
    if department is None:
        held = scopes_of(principal)
        allowed = [
            replace(s, endpoints=mine)
            for s in services
            if (mine := tuple(e for e in s.endpoints if _may_call(principal, held, e)))
        ]
    else:
        async with container.uow() as uow:
            agreements = await approved_agreements(uow.session)
        readable = {
            a.capability
            for a in agreements
            if a.owner == department and a.reader == principal.department
        }
        allowed = [s for s in services if s.code in readable]
    return _respond(_listing(ids[0], ids[2], ids[3], allowed))


def _may_call(principal: Principal, held: frozenset[str], endpoint: Endpoint) -> bool:
    """Whether the caller's grants cover a facade route: a machine client holds its scope; a
    person passes to the route's own role checks (facade routes admit people by role only)."""
    if Role.MACHINE_CLIENT.value in principal.roles:
        return endpoint.scope is not None and endpoint.scope in held
    return False


async def _open_api(
    request: Request, container: ContainerDep, ids: tuple[str, str, str, str], code: str
) -> JSONResponse:
    if not SERVICE_CODE.match(code):
        raise BadIdentifier(
            [
                FieldError(
                    "serviceCode", "pattern", "a letter, then letters, digits, '.', '_' or '-'"
                )
            ]
        )
    services, _ = await _services(request, container, ids)
    found = next((s for s in services if s.code == code), None)
    if found is None:
        raise NotFound(f"no service {code!r} at {'/'.join(ids)}")
    return _respond(json.dumps(found.contract, sort_keys=True))


PROVIDER = "/{instanceId}/{memberClass}/{memberCode}/{applicationCode}"
Ids = tuple[str, str, str, str]


# The spec's paths start with ``/r1``; the suites call them without it too: one handler each,
# registered under both paths.
@mediator_router.get(f"{PROVIDER}/listMethods", dependencies=[_STAFF_OR_MACHINES])
@mediator_router.get(
    f"/r1{PROVIDER}/listMethods", dependencies=[_STAFF_OR_MACHINES], include_in_schema=False
)
async def list_methods(
    request: Request,
    container: ContainerDep,
    instanceId: str,  # noqa: N803 - the spec's names
    memberClass: str,  # noqa: N803
    memberCode: str,  # noqa: N803
    applicationCode: str,  # noqa: N803
) -> JSONResponse:
    """A provider's REST services and their endpoints."""
    ids = (instanceId, memberClass, memberCode, applicationCode)
    return await _list_methods(request, container, ids)


@mediator_router.get(f"{PROVIDER}/allowedMethods", dependencies=[public_route()])
@mediator_router.get(
    f"/r1{PROVIDER}/allowedMethods", dependencies=[public_route()], include_in_schema=False
)
async def allowed_methods(
    request: Request,
    container: ContainerDep,
    principal: OptionalPrincipal,
    instanceId: str,  # noqa: N803
    memberClass: str,  # noqa: N803
    memberCode: str,  # noqa: N803
    applicationCode: str,  # noqa: N803
) -> JSONResponse:
    """The provider's services the caller may use (none for an anonymous caller)."""
    ids = (instanceId, memberClass, memberCode, applicationCode)
    return await _allowed(request, container, principal, ids)


@mediator_router.get(f"{PROVIDER}/getOpenAPI", dependencies=[_STAFF_OR_MACHINES])
@mediator_router.get(
    f"/r1{PROVIDER}/getOpenAPI", dependencies=[_STAFF_OR_MACHINES], include_in_schema=False
)
async def get_open_api(
    request: Request,
    container: ContainerDep,
    instanceId: str,  # noqa: N803
    memberClass: str,  # noqa: N803
    memberCode: str,  # noqa: N803
    applicationCode: str,  # noqa: N803
    service_code: Annotated[str, Query(alias="serviceCode", max_length=128)] = "",
) -> JSONResponse:
    """One service's contract as OpenAPI 3, as a JSON string."""
    ids = (instanceId, memberClass, memberCode, applicationCode)
    return await _open_api(request, container, ids, service_code)
