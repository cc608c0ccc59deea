"""Once-only on SQLite and PostgreSQL: nothing is read without consent, revoking stops further
reads, every read is a data-use entry, and only the register's director acts for a business."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from civicloom.audit.tables import AuditEntryRow
from civicloom.departments import CAPABILITY_GATEWAY, CapabilityCall, InProcessGateway
from civicloom.identity import ScopedPrincipal
from civicloom.portal import apply_prefill, get_draft, save_answers, start_draft
from civicloom.registries import data_use_of_subject, list_consents, revoke_consent
from civicloom.registries.tables import ConsentRow, DataUseRow, RepresentationRow
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.wiring import swap

SERVICE = "open-a-restaurant"
ALICE = ScopedPrincipal(
    subject="alice",
    display_name="Alice Chen",
    roles=frozenset({"citizen", "business-representative"}),
    mandates=frozenset({"BR-2019-004211"}),
)
BOB = ScopedPrincipal(subject="bob", display_name="Bob Martins", roles=frozenset({"citizen"}))


def registers(calls: list[str]) -> InProcessGateway:
    """The two registers as the simulators answer for Golden Dragon Kitchen Ltd."""

    async def business(call: CapabilityCall) -> dict[str, Any]:
        calls.append(call.capability)
        return {
            "name": "Golden Dragon Kitchen Ltd",
            "status": "active",
            "director_name": "Alice Chen",
            "director_person_id": "alice",
            "registered_address": "8 Lantern Lane, Riverton",
        }

    async def taxpayer(call: CapabilityCall) -> dict[str, Any]:
        calls.append(call.capability)
        return {
            "registration_number": call.input["registration_number"],
            "tax_id": "TIN-0042-7781",
            "name": "Golden Dragon Kitchen Ltd",
            "standing": "good",
        }

    async def parcel(call: CapabilityCall) -> dict[str, Any]:
        calls.append(call.capability)
        return {
            "parcel_id": call.input["parcel_id"],
            "zone": "commercial",
            "address": "117 Market Street, Riverton",
        }

    return InProcessGateway(
        {
            "local-admin.business_lookup": business,
            "tax.taxpayer_lookup": taxpayer,
            "local-admin.parcel_lookup": parcel,
        }
    )


async def test_consent_then_reads_then_revocation_stops_them(container: Container) -> None:
    uow, clock = container.uow, container.clock
    calls: list[str] = []
    gateway = registers(calls)
    declined = await start_draft(uow(), clock, ALICE, SERVICE)
    assert await apply_prefill(uow(), clock, gateway, ALICE, declined.id, consent=False) == 0
    assert calls == []  # without consent nothing is read
    assert await list_consents(uow(), ALICE) == []

    draft = await start_draft(uow(), clock, ALICE, SERVICE)
    answers = {"parcel_id": "P-0042-117", "seating": 40}  # only what a register is asked by
    filled = await apply_prefill(
        uow(), clock, gateway, ALICE, draft.id, consent=True, answers=answers
    )
    assert calls == [
        "local-admin.business_lookup",
        "tax.taxpayer_lookup",
        "local-admin.parcel_lookup",
    ]
    after = await get_draft(uow(), ALICE, draft.id)
    assert after.data == {
        "business_registration_number": "BR-2019-004211",
        "business_name": "Golden Dragon Kitchen Ltd",
        "director_name": "Alice Chen",
        "parcel_id": "P-0042-117",
        "premises_address": "117 Market Street, Riverton",
        "tax_id": "TIN-0042-7781",
    }
    assert filled == 5  # the parcel id is the applicant's own answer, not filled
    assert after.prefilled["tax_id"] == {"department": "tax", "kind": "register"}
    assert after.prefilled["premises_address"] == {"department": "local-admin", "kind": "register"}
    assert "parcel_id" not in after.prefilled
    (consent,) = await list_consents(uow(), ALICE)
    assert consent.agreements == ("DSA-2025-101", "DSA-2025-102", "DSA-2025-103")
    assert consent.departments == ("local-admin", "tax")
    assert {"tax_id", "address"} <= set(consent.fields)
    assert consent.revoked_at is None
    uses = await data_use_of_subject(uow(), ALICE)
    assert sorted((u.owner, u.agreement_id, u.consent_id) for u in uses) == [
        ("local-admin", "DSA-2025-101", consent.id),
        ("local-admin", "DSA-2025-103", consent.id),
        ("tax", "DSA-2025-102", consent.id),
    ]

    revoked = await revoke_consent(uow(), clock, ALICE, consent.id)
    assert revoked.revoked_at is not None
    calls.clear()
    await apply_prefill(uow(), clock, gateway, ALICE, draft.id, consent=False)
    again = await start_draft(uow(), clock, ALICE, SERVICE)
    await apply_prefill(uow(), clock, gateway, ALICE, again.id, consent=False)
    assert calls == []  # after revocation nothing more is read
    assert len(await data_use_of_subject(uow(), ALICE)) == 3
    async with uow() as u:
        actions = list(
            await u.session.scalars(
                select(AuditEntryRow.action).where(AuditEntryRow.subject_id == consent.id)
            )
        )
    assert actions == ["consent.granted", "consent.revoked"]


async def test_bob_cannot_act_for_alices_business(container: Container) -> None:
    uow, clock = container.uow, container.clock
    calls: list[str] = []
    gateway = registers(calls)
    draft = await start_draft(uow(), clock, BOB, SERVICE)
    await apply_prefill(uow(), clock, gateway, BOB, draft.id, consent=True)
    assert calls == []  # Bob has no business: nothing to look up
    await save_answers(
        uow(), clock, BOB, draft.id, {"business_registration_number": "BR-2019-004211"}
    )
    await apply_prefill(uow(), clock, gateway, BOB, draft.id, consent=True)
    assert calls == ["local-admin.business_lookup"]  # the register names Alice: stop there
    after = await get_draft(uow(), BOB, draft.id)
    assert "business_name" not in after.data
    assert "tax_id" not in after.data
    async with uow() as u:
        (row,) = list(await u.session.scalars(select(RepresentationRow)))
        consents = list(await u.session.scalars(select(ConsentRow)))
        uses = list(await u.session.scalars(select(DataUseRow)))
    assert (row.subject, row.outcome) == ("bob", "refused")
    assert len(consents) == 1
    assert len(uses) == 1


async def test_consent_pages_show_why_and_revoke(
    client: httpx.AsyncClient, container: Container
) -> None:
    calls: list[str] = []
    app = client._transport.app  # type: ignore[attr-defined]
    swap(app, CAPABILITY_GATEWAY, registers(calls))
    alice = {**as_persona("alice"), "Accept": "text/html"}
    start = await client.post("/services/open-a-restaurant/apply", headers=alice)
    target = start.headers["location"]
    ask = await client.get(target, headers=alice)
    assert ask.status_code == 200
    assert 'data-agreement="DSA-2025-102"' in ask.text
    assert "Tax Administration Act 2011, s. 88" in ask.text  # the basis is shown
    assert calls == []
    await client.post(target, data={"consent": "yes"}, headers=alice)
    assert calls == ["local-admin.business_lookup", "tax.taxpayer_lookup"]
    listing = await client.get("/consents", headers=alice)
    (consent,) = await list_consents(container.uow(), ALICE)
    assert f'data-consent="{consent.id}"' in listing.text
    assert "Revoke" in listing.text
    bob = {**as_persona("bob"), "Accept": "text/html"}
    assert (await client.post(f"/consents/{consent.id}/revoke", headers=bob)).status_code == 404
    done = await client.post(f"/consents/{consent.id}/revoke", headers=alice)
    assert done.status_code == 303
    (after,) = await list_consents(container.uow(), ALICE)
    assert after.revoked_at is not None
    assert "Revoked" in (await client.get("/consents", headers=alice)).text
