"""``/api/v1/capabilities``: the catalogue of department capabilities (ADR 0051).

Read by the people who compose, run and oversee services (``CATALOGUE_READERS``); officers,
finance officers, applicants and machine keys are refused (403): a capability's contract says
how a department's system is reached, which none of them needs.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from civicloom.catalogue import CatalogueEntry, capability_catalogue, capability_entry
from civicloom.identity import Role
from civicloom.kernel import PathId
from civicloom.web import ContainerDep, problem_responses, require_roles

CATALOGUE_READERS = (
    Role.SERVICE_OWNER,
    Role.OPERATOR,
    Role.AUDITOR,
    Role.PLATFORM_OWNER,
    Role.DEPARTMENT_ADMIN,
)
"""Who may read the capability catalogue (API and back-office page)."""

capabilities_router = APIRouter(
    prefix="/api/v1",
    tags=["capabilities"],
    responses=problem_responses(400, 401, 403, 404, 422),
    dependencies=[require_roles(*CATALOGUE_READERS)],
)

_SLA_EXAMPLE = {"response_seconds": 10, "answer_within_hours": None, "availability_percent": 99.9}
_EXAMPLE: dict[str, Any] = {
    "id": "tax.clearance_check",
    "department": "tax",
    "department_name": {"en": "Tax Authority", "zh-Hans": "税务局"},
    "description": "Tax clearance of a business (POST /api/v1/clearance-checks).",
    "connector": "rest",
    "asynchronous": False,
    "version": 1,
    "sla": _SLA_EXAMPLE,
    "input_schema": {
        "type": "object",
        "required": ["registration_number"],
        "properties": {"registration_number": {"type": "string"}},
    },
    "output_schema": {
        "type": "object",
        "required": ["registration_number", "status", "checked_at"],
        "properties": {
            "registration_number": {"type": "string"},
            "status": {"type": "string", "enum": ["cleared", "arrears", "unknown"]},
            "checked_at": {"type": "string"},
        },
    },
    "used_by": [{"service": "open-a-restaurant", "version": 3, "kind": "step", "name": "tax"}],
}


class SlaOut(BaseModel):
    """What the department promises about the capability's answers (null: not promised)."""

    response_seconds: float | None
    answer_within_hours: float | None
    availability_percent: float | None


class ServiceUseOut(BaseModel):
    """A published service version that calls the capability."""

    service: str
    version: int
    kind: str = Field(description="`step` (an automated step) or `prefill` (a form field).")
    name: str = Field(description="The step id, or the prefilled form field.")


class CapabilityOut(BaseModel, json_schema_extra={"examples": [_EXAMPLE]}):
    """A department capability with its contract, terms and the services that use it."""

    id: str
    department: str
    department_name: dict[str, str]
    description: str
    connector: str = Field(description="Connector kind: rest, amqp, soap, filedrop, callback.")
    asynchronous: bool
    version: int
    sla: SlaOut
    input_schema: dict[str, Any] = Field(description="JSON Schema of the input.")
    output_schema: dict[str, Any] = Field(description="JSON Schema of the output.")
    used_by: list[ServiceUseOut]

    @classmethod
    def of(cls, entry: CatalogueEntry) -> CapabilityOut:
        """The API view of a catalogue entry."""
        return cls(
            id=entry.id,
            department=entry.department,
            department_name={
                "en": entry.department_name.en,
                "zh-Hans": entry.department_name.zh_hans,
            },
            description=entry.description,
            connector=entry.connector_kind,
            asynchronous=entry.asynchronous,
            version=entry.version,
            sla=SlaOut(**entry.sla.model_dump()),
            input_schema=entry.input_schema,
            output_schema=entry.output_schema,
            used_by=[
                ServiceUseOut(service=u.service_id, version=u.version, kind=u.kind, name=u.name)
                for u in entry.used_by
            ],
        )


@capabilities_router.get(
    "/capabilities",
    response_model=list[CapabilityOut],
    operation_id="listCapabilities",
    summary="The catalogue of department capabilities",
)
async def list_capabilities(container: ContainerDep) -> list[CapabilityOut]:
    """Every registered capability with its contract (JSON Schema), connector, SLA, owner
    department, version and the published services that use it."""
    async with container.uow() as uow:
        entries = await capability_catalogue(uow.session)
    return [CapabilityOut.of(e) for e in entries]


@capabilities_router.get(
    "/capabilities/{capability_id}",
    response_model=CapabilityOut,
    operation_id="readCapability",
    summary="One department capability",
)
async def read_capability(capability_id: PathId, container: ContainerDep) -> CapabilityOut:
    """One capability by id (``tax.clearance_check``); 404 ``not-found`` if no department
    declares it."""
    async with container.uow() as uow:
        entry = await capability_entry(uow.session, capability_id)
    return CapabilityOut.of(entry)
