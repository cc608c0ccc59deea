"""No register is read while the portal holds a database transaction (ADR 0038): on SQLite
another writer would get ``database is locked``; on PostgreSQL the audit chain's lock would be
held across the remote call."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import select

from civicloom.departments import CAPABILITY_GATEWAY, CapabilityCall, CapabilityResult
from civicloom.portal import apply_prefill, get_draft, start_draft
from civicloom.registries import data_use_of_subject, list_consents, revoke_consent
from civicloom.registries.tables import DataUseRow
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.registries.test_consent_and_reuse import ALICE, SERVICE, registers
from tests.transactions import NoCallInTransaction, TransactionWatch
from tests.wiring import swap


async def test_prefill_reads_registers_outside_transactions(container: Container) -> None:
    watch = TransactionWatch(container.database.engine)
    try:
        calls: list[str] = []
        guarded = NoCallInTransaction(registers(calls), watch)
        uow, clock = container.uow, container.clock
        draft = await start_draft(uow(), clock, ALICE, SERVICE)
        answers = {"parcel_id": "P-0042-117"}
        filled = await apply_prefill(
            uow(), clock, guarded, ALICE, draft.id, consent=True, answers=answers
        )
    finally:
        watch.close()
    assert calls == [
        "local-admin.business_lookup",
        "tax.taxpayer_lookup",
        "local-admin.parcel_lookup",
    ]
    assert guarded.violations == []
    assert filled >= 3
    kept = await get_draft(uow(), ALICE, draft.id)
    assert kept.data["premises_address"] == "117 Market Street, Riverton"
    assert kept.prefilled["premises_address"] == {"department": "local-admin", "kind": "register"}
    async with uow() as u:
        agreements = sorted(await u.session.scalars(select(DataUseRow.agreement_id)))
    assert agreements == ["DSA-2025-101", "DSA-2025-102", "DSA-2025-103"]


async def test_the_consent_page_prefill_reads_registers_outside_transactions(
    client: httpx.AsyncClient, container: Container
) -> None:
    watch = TransactionWatch(container.database.engine)
    calls: list[str] = []
    guarded = NoCallInTransaction(registers(calls), watch)
    swap(client._transport.app, CAPABILITY_GATEWAY, guarded)  # type: ignore[attr-defined]
    alice = {**as_persona("alice"), "Accept": "text/html"}
    try:
        started = await client.post(f"/services/{SERVICE}/apply", headers=alice)
        target = started.headers["location"]
        ok = await client.post(
            target, data={"consent": "yes", "parcel_id": "P-0042-117"}, headers=alice
        )
    finally:
        watch.close()
    assert ok.status_code == 303
    assert "local-admin.parcel_lookup" in calls
    assert guarded.violations == []


async def test_a_slow_register_holds_no_lock_and_a_revocation_meanwhile_fills_nothing(
    container: Container,
) -> None:
    """While the tax register answers, the applicant revokes their consent in another request:
    that write goes through at once (no ``database is locked``, no audit lock held); no
    register is read after it, and what was read is recorded but not filled into the form."""
    uow, clock = container.uow, container.clock
    calls: list[str] = []
    inner = registers(calls)

    class RevokingTaxRegister:
        async def call(self, call: CapabilityCall) -> CapabilityResult:
            if call.capability == "tax.taxpayer_lookup":
                (consent,) = await list_consents(uow(), ALICE)
                # another writer, while the register is still answering (a hang on main)
                await asyncio.wait_for(revoke_consent(uow(), clock, ALICE, consent.id), 20)
            return await inner.call(call)

    draft = await start_draft(uow(), clock, ALICE, SERVICE)
    filled = await apply_prefill(
        uow(),
        clock,
        RevokingTaxRegister(),
        ALICE,
        draft.id,
        consent=True,
        answers={"parcel_id": "P-0042-117"},
    )
    assert calls == ["local-admin.business_lookup", "tax.taxpayer_lookup"]  # then no more
    kept = await get_draft(uow(), ALICE, draft.id)
    assert filled == 0  # read under a consent revoked meanwhile: not used
    assert kept.data == {"parcel_id": "P-0042-117"}  # the applicant's own answer only
    assert kept.prefilled == {}
    (consent,) = await list_consents(uow(), ALICE)
    assert consent.revoked_at is not None
    uses = await data_use_of_subject(uow(), ALICE)
    assert sorted(u.agreement_id for u in uses) == ["DSA-2025-101", "DSA-2025-102"]
