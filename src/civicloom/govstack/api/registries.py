"""GovStack Digital Registries facade: the registers the platform answers for (ADR 0048).

Spec: ../shared/specs/govstack/digital-registries (Data API template 1.3.0). Registers are
named ``/data/{registryName}/{versionNumber}`` after their definitions
(``civicloom.registries.REGISTERS``):

- ``licences/1.0`` — the platform's own licence register (documents module): list, read,
  exists and readValue for machine clients with ``registries:read`` (every record handed out is
  audited); update (``Status: revoked`` only) and delete (revocation) for the issuing
  department's own system with ``registries:write``. A licence's signed terms never change and
  licences are issued by the case engine, so create/updateOrCreate/updateEntries are refused
  with the reason (405).
- ``businesses/1.0``, ``taxpayers/1.0``, ``parcels/1.0`` — departments' base registers, read
  one record at a time by key through the department's capability, under an approved
  data-sharing agreement naming the client's department as reader and the data subject's
  consent (``SubjectID``) where the agreement asks for it; each read is a data-use entry and a
  ``register.read`` audit entry. Every change is refused with the owner in the reason (403).
- ``MyPersonalDataUsage`` — who read the caller's own data (people only, their own id).
- ``databases`` and ``database/{id}`` — the register definitions and their schemas.

The published suite's kebab-case spellings (``read-value``, ``update-entries``,
``update-or-create``) are served beside the specification's camel-case ones.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import Field

from civicloom.departments import CapabilityGateway
from civicloom.documents import (
    LicenceQuery,
    LicenceRecord,
    licence_exists,
    revoke_licence_as_client,
    search_licence_register,
)
from civicloom.govstack.caller import govstack_caller
from civicloom.identity import Forbidden, Role
from civicloom.kernel import (
    DomainError,
    FieldError,
    InboundModel,
    NotFound,
    Principal,
    ValidationFailed,
    normalise_data,
)
from civicloom.registries import (
    REGISTERS,
    PersonalDataUse,
    RegisterDefinition,
    find_register,
    personal_data_usage,
    read_department_register,
    read_only_reason,
    register_by_code,
    register_by_database_id,
)
from civicloom.runtime import Container
from civicloom.web import (
    ContainerDep,
    CurrentPrincipal,
    GatewayDep,
    problem_responses,
    require_roles,
)

READ_SCOPE = "registries:read"
WRITE_SCOPE = "registries:write"
SUBJECT_KEY = "SubjectID"
"""Query key naming the data subject whose consent covers a department-register read."""
REASON_KEY = "RevocationReason"
MAX_PAGE_SIZE = 100
USER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,199}$")


class GovStackJSON(JSONResponse):
    """JSON as the published suite expects it: ``application/json; charset=utf-8``."""

    media_type = "application/json; charset=utf-8"


class NotOffered(DomainError):
    """The register does not offer this operation (the reason says why)."""

    slug = "method-not-allowed"
    title = "Method not allowed"
    status = 405


class BadQuery(ValidationFailed):
    """A query parameter broke a rule (400, as the MyPersonalDataUsage API specifies)."""

    status = 400


registries_router = APIRouter(
    tags=["govstack-registries"],
    default_response_class=GovStackJSON,
    responses=problem_responses(400, 401, 403, 404, 405, 409, 422, 503),
)
_READER = [Depends(govstack_caller), require_roles(Role.MACHINE_CLIENT, scope=READ_SCOPE)]
_WRITER = [Depends(govstack_caller), require_roles(Role.MACHINE_CLIENT, scope=WRITE_SCOPE)]
_PERSON = [
    Depends(govstack_caller),
    require_roles(Role.CITIZEN, Role.BUSINESS_REPRESENTATIVE),
]


class Content(InboundModel):
    """A record, or the fields a record is looked up by."""

    content: dict[str, Any] = Field(description="Register field names and their values.")


class QueryBody(InboundModel):
    """``{"query": {"content": {...}}}``: which record."""

    query: Content


class WriteBody(InboundModel):
    """``{"query": {"content": {...}}, "write": {"content": {...}}}``: which record, and what."""

    query: Content | None = None
    write: Content


def _im_client(request: Request) -> str:
    return str(getattr(request.state, "im_client", "") or "")


def _register(name: str, version: str) -> RegisterDefinition:
    register = find_register(name, version)
    if register is None:
        raise NotFound(f"no registry {name!r} in version {version!r}")
    return register


def _gateway(gateway: CapabilityGateway | None) -> CapabilityGateway:
    if gateway is None:
        raise NotOffered("no department connector is configured on this platform")
    return gateway


def _values(
    register: RegisterDefinition, content: dict[str, Any], where: str, extra: tuple[str, ...] = ()
) -> dict[str, str]:
    """The content's values as text, each key a field of the register (else 422 naming it)."""
    gated = normalise_data(content, where)
    errors: list[FieldError] = []
    values: dict[str, str] = {}
    for name, value in gated.items():
        path = f"{where}.{name}"
        if name not in register.field_names and name not in extra:
            errors.append(
                FieldError(path, "unknown-field", f"the {register.name} register has no {name}")
            )
        elif isinstance(value, dict | list):
            errors.append(FieldError(path, "type", "give a single value"))
        elif value is not None:
            values[name] = value if isinstance(value, str) else str(value).lower()
    if errors:
        raise ValidationFailed(errors)
    return values


def _not_found() -> GovStackJSON:
    return GovStackJSON({"detail": "no record found"}, status_code=404)


def _licence_query(values: dict[str, str]) -> LicenceQuery:
    return LicenceQuery(match=values, limit=1)


async def _department_read(
    request: Request,
    container: Container,
    gateway: CapabilityGateway | None,
    principal: Principal,
    register: RegisterDefinition,
    values: dict[str, str],
    where: str,
) -> dict[str, Any] | None:
    """One department register record by key (agreement, consent, audit); None: not held."""
    key_value = values.get(register.key)
    if not key_value:
        raise ValidationFailed(
            [
                FieldError(
                    f"{where}.{register.key}",
                    "required",
                    f"the {register.name} register is read by {register.key}",
                )
            ]
        )
    record = await read_department_register(
        container.uow(),
        container.clock,
        _gateway(gateway),
        principal,
        register,
        key_value=key_value,
        subject=values.get(SUBJECT_KEY),
        im_client=_im_client(request),
    )
    if not record.found:
        return None
    content = record.content
    others = {k: v for k, v in values.items() if k not in (register.key, SUBJECT_KEY)}
    if any(str(content.get(k) or "") != v for k, v in others.items()):
        return None  # the key's record does not have the other values asked for
    return content


# --- registers and their schemas -----------------------------------------------------------


def _schema(register: RegisterDefinition) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for number, field in enumerate(register.fields, start=1):
        prop: dict[str, Any] = {
            "type": field.type,
            "description": field.description,
            "id": number,
        }
        if field.name == register.key:
            prop["primaryKey"] = True
        if field.personal:
            prop["personalData"] = True
        properties[field.name] = prop
    return {"type": "object", "properties": properties, "required": [register.key]}


def _database(register: RegisterDefinition) -> dict[str, Any]:
    return {
        "id": register.database_id,
        "version": register.version,
        "name": register.name,
        "code": register.code,
        "description": register.description,
        "institution": register.owner,
        "schema": _schema(register),
        "schema_flags": [{"name": "mandatory", "path": f"/{register.key}"}],
        "is_draft": False,
        "is_disabled": False,
        "is_archived": False,
        "read_only": not register.platform_owned,
    }


@registries_router.get("/databases", dependencies=_READER, summary="Registers and schemas")
async def list_databases() -> dict[str, Any]:
    """Every register the platform answers for, with its schema (one catalogue)."""
    return {
        "name": "civicloom registers",
        "code": "civicloom",
        "databases": [_database(r) for r in REGISTERS],
    }


@registries_router.get("/database/{id}", dependencies=_READER, summary="One register's schema")
async def read_database(id: int) -> dict[str, Any]:
    """A register's definition and schema by its database id."""
    register = register_by_database_id(id)
    if register is None:
        raise NotFound(f"no database {id}")
    return _database(register)


# --- MyPersonalDataUsage (before the /data/{name}/{version} routes it would match) ----------


def _usage(use: PersonalDataUse) -> dict[str, Any]:
    return {
        "id": use.id,
        "readerId": use.reader,
        "readerInitials": "".join(w[0] for w in use.reader_name.split() if w[:1].isupper()),
        "readerInstitutionId": use.reader,
        "readerInstitutionName": use.reader_name,
        "readerApplicationName": use.purpose,
        "searchDateTime": use.read_at.isoformat(),
        "refrences": [{"ReferenceID": use.reference}],
        "fields": list(use.fields),
    }


async def _personal_data_usage(
    container: Container, principal: Principal, user_id: str | None, database_id: str | None
) -> list[dict[str, Any]]:
    errors: list[FieldError] = []
    if not user_id or not USER_ID.match(user_id):
        errors.append(FieldError("userId", "pattern", "give your own personal identifier"))
    register = register_by_code(database_id or "")
    if register is None:
        codes = ", ".join(r.code for r in REGISTERS)
        errors.append(FieldError("databaseId", "enum", f"give a register code: {codes}"))
    if errors:
        raise BadQuery(errors)
    assert user_id is not None
    assert register is not None
    uses = await personal_data_usage(container.uow(), principal, user_id, register)
    return [_usage(u) for u in uses]


UserIdQuery = Annotated[str | None, Query(alias="userId", max_length=200)]
UserIDQuery = Annotated[str | None, Query(alias="userID", max_length=200)]
DatabaseIdQuery = Annotated[str | None, Query(alias="databaseId", max_length=40)]
DatabaseIDQuery = Annotated[str | None, Query(alias="DatabaseID", max_length=40)]


@registries_router.get(
    "/data/MyPersonalDataUsage/1.0", dependencies=_PERSON, summary="Who read my data"
)
@registries_router.get(
    "/data/myPersonalDataUsage", dependencies=_PERSON, summary="Who read my data"
)
async def my_personal_data_usage(
    container: ContainerDep,
    principal: CurrentPrincipal,
    user_id: UserIdQuery = None,
    user_id_upper: UserIDQuery = None,
    database_id: DatabaseIdQuery = None,
    database_id_upper: DatabaseIDQuery = None,
) -> list[dict[str, Any]]:
    """Who read the caller's data from one register (the caller's own id only)."""
    return await _personal_data_usage(
        container, principal, user_id or user_id_upper, database_id or database_id_upper
    )


# --- data ----------------------------------------------------------------------------------


def _page_params(page: int, page_size: int, ordering: str | None) -> bool:
    errors: list[FieldError] = []
    if page < 1:
        errors.append(FieldError("page", "minimum", "pages are numbered from 1"))
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        errors.append(FieldError("pageSize", "range", f"give 1 to {MAX_PAGE_SIZE}"))
    descending = (ordering or "ascending").lower()
    if descending not in ("ascending", "descending", "asc", "desc"):
        errors.append(FieldError("ordering", "enum", "give ascending or descending"))
    if errors:
        raise ValidationFailed(errors)
    return descending.startswith("desc")


@registries_router.get("/data/{registryName}/{versionNumber}", dependencies=_READER)
async def list_records(
    request: Request,
    registryName: str,  # noqa: N803 - the spec's parameter name
    versionNumber: str,  # noqa: N803
    container: ContainerDep,
    principal: CurrentPrincipal,
    search: Annotated[str | None, Query(max_length=200)] = None,
    filter: Annotated[str | None, Query(max_length=60)] = None,
    ordering: Annotated[str | None, Query(max_length=20)] = None,
    page: int = 1,
    pageSize: int = 10,  # noqa: N803
) -> dict[str, Any]:
    """Records of a platform register matching ``query.<field>`` values and ``search``."""
    register = _register(registryName, versionNumber)
    if not register.platform_owned:
        raise NotOffered(
            f"The {register.name} register is read one record at a time by "
            f"{register.key} (read), under a data-sharing agreement: it is not listed."
        )
    descending = _page_params(page, pageSize, ordering)
    prefixed = {
        k.removeprefix("query."): v
        for k, v in request.query_params.items()
        if k.startswith("query.")
    }
    values = _values(register, prefixed, "query")
    if filter is not None and filter not in register.field_names:
        raise ValidationFailed([FieldError("filter", "enum", "give a field of the register")])
    search_text = normalise_data(search, "search") if search else None
    query = LicenceQuery(
        match=values,
        search=search_text,
        search_field=filter,
        descending=descending,
        offset=(page - 1) * pageSize,
        limit=pageSize,
    )
    count, records = await search_licence_register(
        container.uow(),
        container.clock,
        principal,
        query,
        operation="list",
        im_client=_im_client(request),
    )

    def link(number: int) -> str:
        return str(request.url.include_query_params(page=number))

    return {
        "count": count,
        "next": link(page + 1) if page * pageSize < count else None,
        "previous": link(page - 1) if page > 1 else None,
        "results": [r.content() for r in records],
    }


@registries_router.post("/data/{registryName}/{versionNumber}/read", dependencies=_READER)
async def read_record(
    request: Request,
    registryName: str,  # noqa: N803
    versionNumber: str,  # noqa: N803
    body: QueryBody,
    container: ContainerDep,
    gateway: GatewayDep,
    principal: CurrentPrincipal,
) -> Response:
    """One record matching the query (404 ``no record found`` when none does)."""
    register = _register(registryName, versionNumber)
    if register.platform_owned:
        values = _values(register, body.query.content, "query.content")
        _, records = await search_licence_register(
            container.uow(),
            container.clock,
            principal,
            _licence_query(values),
            operation="read",
            im_client=_im_client(request),
        )
        content = records[0].content() if records else None
    else:
        values = _values(register, body.query.content, "query.content", (SUBJECT_KEY,))
        content = await _department_read(
            request, container, gateway, principal, register, values, "query.content"
        )
    if content is None:
        return _not_found()
    return GovStackJSON({"content": content})


@registries_router.post("/data/{registryName}/{versionNumber}/exists", dependencies=_READER)
async def record_exists(
    request: Request,
    registryName: str,  # noqa: N803
    versionNumber: str,  # noqa: N803
    body: QueryBody,
    container: ContainerDep,
    gateway: GatewayDep,
    principal: CurrentPrincipal,
) -> dict[str, Any]:
    """Whether a record matching the query exists."""
    register = _register(registryName, versionNumber)
    if register.platform_owned:
        values = _values(register, body.query.content, "query.content")
        found = await licence_exists(
            container.uow(),
            container.clock,
            principal,
            _licence_query(values),
            im_client=_im_client(request),
        )
    else:
        values = _values(register, body.query.content, "query.content", (SUBJECT_KEY,))
        found = (
            await _department_read(
                request, container, gateway, principal, register, values, "query.content"
            )
            is not None
        )
    message = "Object found from database" if found else "Object not found from database"
    return {"answer": {"status": found, "message": message}}


@registries_router.get(
    "/data/{registryName}/{versionNumber}/{uuid}/readValue/{field}.{ext}", dependencies=_READER
)
@registries_router.get(
    "/data/{registryName}/{versionNumber}/{uuid}/read-value/{field}.{ext}",
    dependencies=_READER,
    include_in_schema=False,
)
async def read_value(
    request: Request,
    registryName: str,  # noqa: N803
    versionNumber: str,  # noqa: N803
    uuid: str,
    field: str,
    ext: str,
    container: ContainerDep,
    gateway: GatewayDep,
    principal: CurrentPrincipal,
    subject: Annotated[str | None, Query(alias=SUBJECT_KEY, max_length=200)] = None,
) -> Response:
    """One field of the record whose key is ``uuid``."""
    register = _register(registryName, versionNumber)
    errors = []
    if ext != "json":
        errors.append(FieldError("ext", "enum", "values are served as json"))
    if register.field(field) is None:
        errors.append(FieldError("field", "enum", f"the {register.name} register has no {field}"))
    if errors:
        raise ValidationFailed(errors)
    if register.platform_owned:
        _, records = await search_licence_register(
            container.uow(),
            container.clock,
            principal,
            _licence_query({register.key: uuid}),
            operation="readValue",
            im_client=_im_client(request),
        )
        content = records[0].content() if records else None
    else:
        values = {register.key: uuid, **({SUBJECT_KEY: subject} if subject else {})}
        content = await _department_read(
            request, container, gateway, principal, register, values, "uuid"
        )
    if content is None:
        return _not_found()
    if field not in content:
        raise Forbidden(
            f"The agreement under which the {register.name} register is read does not cover "
            f"{field}."
        )
    return GovStackJSON({"value": content.get(field)})


# --- changes -------------------------------------------------------------------------------


def _writable(register: RegisterDefinition) -> None:
    """Department registers are read-only: refuse with the owner in the reason (403)."""
    if not register.platform_owned:
        raise Forbidden(read_only_reason(register))


ISSUED_BY_CASES = (
    "Licences are issued by the case engine when an application is approved, and a licence's "
    "signed terms never change: apply for the service to get a licence, and revoke one with "
    "update (Status: revoked) or delete."
)


@registries_router.post("/data/{registryName}/{versionNumber}/create", dependencies=_WRITER)
@registries_router.post("/data/{registryName}/{versionNumber}/updateOrCreate", dependencies=_WRITER)
@registries_router.post(
    "/data/{registryName}/{versionNumber}/update-or-create",
    dependencies=_WRITER,
    include_in_schema=False,
)
async def create_record(
    registryName: str,  # noqa: N803
    versionNumber: str,  # noqa: N803
    body: WriteBody,
) -> dict[str, Any]:
    """Refused (create and updateOrCreate): department registers are read-only, licences are
    issued on applications."""
    register = _register(registryName, versionNumber)
    _writable(register)
    raise NotOffered(ISSUED_BY_CASES)


@registries_router.put("/data/{registryName}/{versionNumber}/updateEntries", dependencies=_WRITER)
@registries_router.put(
    "/data/{registryName}/{versionNumber}/update-entries",
    dependencies=_WRITER,
    include_in_schema=False,
)
async def update_entries(
    registryName: str,  # noqa: N803
    versionNumber: str,  # noqa: N803
    body: WriteBody,
) -> dict[str, Any]:
    """Refused: licences are revoked one at a time, by number."""
    register = _register(registryName, versionNumber)
    _writable(register)
    raise NotOffered(
        "Licences are revoked one at a time, by number (update or delete), never in bulk."
    )


def _revocation(register: RegisterDefinition, body: WriteBody) -> tuple[str, str]:
    """The licence number and the reason from an update body (only revocation is a change)."""
    query = _values(register, body.query.content if body.query else {}, "query.content")
    write = _values(register, body.write.content, "write.content", (REASON_KEY,))
    errors: list[FieldError] = []
    licence_id = query.get(register.key) or write.get(register.key)
    if not licence_id:
        errors.append(
            FieldError("query.content.ID", "required", "name the licence to change by its ID")
        )
    for name in write:
        if name not in ("Status", REASON_KEY, register.key):
            errors.append(
                FieldError(
                    f"write.content.{name}",
                    "immutable",
                    "a licence's signed terms never change: issue a new licence instead",
                )
            )
    if write.get("Status") != "revoked":
        errors.append(
            FieldError("write.content.Status", "enum", "the only change is Status: revoked")
        )
    reason = write.get(REASON_KEY, "").strip()
    if not reason:
        errors.append(
            FieldError(f"write.content.{REASON_KEY}", "required", "say why it is revoked")
        )
    elif len(reason) > 500:
        errors.append(FieldError(f"write.content.{REASON_KEY}", "max-length", "500 at most"))
    if errors:
        raise ValidationFailed(errors)
    assert licence_id is not None
    return licence_id, reason


@registries_router.put("/data/{registryName}/{versionNumber}/update", dependencies=_WRITER)
async def update_record(
    request: Request,
    registryName: str,  # noqa: N803
    versionNumber: str,  # noqa: N803
    body: WriteBody,
    container: ContainerDep,
    principal: CurrentPrincipal,
) -> dict[str, Any]:
    """Revoke a licence of the client's own department (the only change a licence takes)."""
    register = _register(registryName, versionNumber)
    _writable(register)
    licence_id, reason = _revocation(register, body)
    record: LicenceRecord = await revoke_licence_as_client(
        container.uow(), container.clock, principal, licence_id, reason, _im_client(request)
    )
    return {"content": record.content()}


@registries_router.delete(
    "/data/{registryName}/{versionNumber}/{ID}/delete",
    dependencies=_WRITER,
    status_code=204,
    response_class=Response,
)
async def delete_record(
    request: Request,
    registryName: str,  # noqa: N803
    versionNumber: str,  # noqa: N803
    ID: str,  # noqa: N803
    container: ContainerDep,
    principal: CurrentPrincipal,
    reason: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    """Withdraw a licence of the client's own department: it is revoked, never erased (the
    register keeps what was issued)."""
    register = _register(registryName, versionNumber)
    _writable(register)
    why = normalise_data(reason, "reason") if reason else "withdrawn through the registry API"
    await revoke_licence_as_client(
        container.uow(), container.clock, principal, ID, why, _im_client(request)
    )
    return Response(status_code=204)
