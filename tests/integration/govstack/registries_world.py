"""A world for the Digital Registries facade tests: the GovStack listener in-process, machine
clients of two departments, a licence issued to Alice, and the departments' registers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from civicloom.audit.tables import AuditEntryRow
from civicloom.catalogue import DataSharingAgreement
from civicloom.departments import (
    CAPABILITY_GATEWAY,
    CallOutcome,
    CapabilityCall,
    CapabilityResult,
    PermanentError,
    TransientError,
)
from civicloom.documents import Validity, build_documents_runtime, issue_licence
from civicloom.documents.tables import LicenceRow
from civicloom.govstack import create_govstack_app
from civicloom.identity import PUBLIC, ROUTE_POLICIES, create_api_key
from civicloom.registries import GrantConsent, approved_agreements, grant_consent
from civicloom.registries.tables import DataUseRow
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.registries.test_consent_and_reuse import ALICE
from tests.integration.test_applications_api import restaurant
from tests.wiring import swap

GOLDEN_DRAGON = "BR-2019-004211"
CAROLS = "BR-2020-000777"
"""A business whose director is someone else than Alice."""
UNREACHABLE = "BR-2000-000503"
"""A number whose look-up finds the department's system down."""
BUSINESS = {
    "name": "Golden Dragon Kitchen Ltd",
    "status": "active",
    "director_name": "Alice Chen",
    "director_person_id": "alice",
    "registered_address": "8 Lantern Lane, Riverton",
}


@dataclass
class Registers:
    """The departments' registers as their systems answer, recording every call."""

    calls: list[CapabilityCall] = field(default_factory=list)

    async def call(self, call: CapabilityCall) -> CapabilityResult:
        self.calls.append(call)
        number = call.input.get("registration_number")
        if number == UNREACHABLE:
            raise TransientError("connection refused")
        if call.capability == "local-admin.business_lookup" and number == GOLDEN_DRAGON:
            return CapabilityResult(CallOutcome.COMPLETED, dict(BUSINESS))
        if call.capability == "local-admin.business_lookup" and number == CAROLS:
            carol = {"name": "Carol's Bakery", "director_name": "Carol Ng"}
            return CapabilityResult(
                CallOutcome.COMPLETED,
                {**BUSINESS, **carol, "director_person_id": "carol"},
            )
        if call.capability == "tax.taxpayer_lookup" and number == GOLDEN_DRAGON:
            answer = {"registration_number": number, "tax_id": "TIN-0042-7781"}
            return CapabilityResult(
                CallOutcome.COMPLETED, {**answer, "name": BUSINESS["name"], "standing": "good"}
            )
        raise PermanentError("Client.NotFound: not registered")


@dataclass
class World:
    """The listener's client, the keys, the licence and the registers."""

    container: Container
    gs: httpx.AsyncClient
    registers: Registers
    keys: dict[str, str]
    licence_id: str
    application_id: str

    def key(self, name: str) -> dict[str, str]:
        """Headers of the machine client ``name`` (GovStack's ``api_key`` header)."""
        return {"api_key": self.keys[name], "Information-Mediator-Client": "CL/GOV/LA/licensing"}

    async def audit(self, action: str) -> list[AuditEntryRow]:
        """Audit entries with this action, oldest first."""
        async with self.container.uow() as uow:
            rows = await uow.session.scalars(
                select(AuditEntryRow)
                .where(AuditEntryRow.action == action)
                .order_by(AuditEntryRow.seq)
            )
            return list(rows)

    async def counts(self) -> tuple[int, int, int]:
        """Audit entries, data-use entries, licences."""
        async with self.container.uow() as uow:
            s = uow.session
            return (
                int(await s.scalar(select(func.count()).select_from(AuditEntryRow)) or 0),
                int(await s.scalar(select(func.count()).select_from(DataUseRow)) or 0),
                int(await s.scalar(select(func.count()).select_from(LicenceRow)) or 0),
            )

    async def issue(self, activity: str, premises: str) -> str:
        """Another licence on Alice's application, as the case engine issues one."""
        runtime = build_documents_runtime(self.container.settings)
        now = self.container.clock.now()
        async with self.container.uow() as uow:
            ref = await issue_licence(
                uow.session,
                runtime,
                now,
                application_id=self.application_id,
                holder={"name": "Golden Dragon Kitchen Ltd", "registration_number": GOLDEN_DRAGON},
                activity=activity,
                premises=premises,
                validity=Validity(now + timedelta(days=30), now + timedelta(days=395)),
                issuing_department="local-admin",
                actor="system:case-engine",
            )
            await uow.commit()
        return ref.id

    async def licence(self) -> LicenceRow:
        """The licence as stored now."""
        async with self.container.uow() as uow:
            row = await uow.session.get(LicenceRow, self.licence_id)
            assert row is not None
            return row

    async def alice_consents(self, agreement_id: str = "DSA-2025-101") -> None:
        """Alice consents to the reads the agreement describes."""
        agreements: tuple[DataSharingAgreement, ...]
        async with self.container.uow() as uow:
            agreements = await approved_agreements(uow.session)
        chosen = tuple(a for a in agreements if a.id == agreement_id)
        await grant_consent(
            self.container.uow(),
            self.container.clock,
            ALICE,
            GrantConsent(
                service_id="open-a-restaurant",
                purpose="check my business for a licence",
                agreements=chosen,
                fields=tuple(chosen[0].fields),
            ),
        )


KEYS = {
    "la-reader": ("local-admin", ["registries:read"]),
    "la-writer": ("local-admin", ["registries:read", "registries:write"]),
    "tax-reader": ("tax", ["registries:read"]),
    "tax-writer": ("tax", ["registries:read", "registries:write"]),
    "la-messaging": ("local-admin", ["messaging:send"]),
}


@asynccontextmanager
async def registries_world(container: Container, main: httpx.AsyncClient) -> AsyncIterator[World]:
    """Alice's restaurant application with a licence, five machine clients, the listener."""
    submitted = await main.post(
        "/api/v1/applications", json=restaurant(), headers=as_persona("alice")
    )
    assert submitted.status_code == 201, submitted.text
    application_id = str(submitted.json()["id"])
    runtime = build_documents_runtime(container.settings)
    now = container.clock.now()
    async with container.uow() as uow:
        ref = await issue_licence(
            uow.session,
            runtime,
            now,
            application_id=application_id,
            holder={"name": "Golden Dragon Kitchen Ltd", "registration_number": GOLDEN_DRAGON},
            activity="Restaurant (seated, 40 covers)",
            premises="12 Harbour Street, parcel P-0042-117",
            validity=Validity(now - timedelta(days=1), now + timedelta(days=364)),
            issuing_department="local-admin",
            actor="system:case-engine",
        )
        await uow.commit()
    keys: dict[str, str] = {}
    for name, (department, scopes) in KEYS.items():
        issued = await create_api_key(
            container.uow(), container.clock, name=name, department=department, scopes=scopes
        )
        keys[name] = issued.key
    registers = Registers()
    # The listener's own /openapi.json has no policy on this branch yet (the listener is
    # gscore's, #22): declare it public as the main app's is, so the app starts.
    ROUTE_POLICIES.setdefault(("GET", "/openapi.json"), PUBLIC)
    app = create_govstack_app(container, own_container=False)
    swap(app, CAPABILITY_GATEWAY, registers)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://govstack") as gs:
        yield World(container, gs, registers, keys, ref.id, application_id)


def content_of(response: httpx.Response) -> dict[str, Any]:
    """The ``content`` of a 200 answer."""
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()["content"]
    return body
