"""Prefill enforces the agreements the platform stored with an approval (``agreements sync``),
not whatever lies in ``blueprints/agreements``: a file nobody synced, or a stored agreement whose
approval is withdrawn, allows no read."""

from __future__ import annotations

from sqlalchemy import update

from civicloom.portal import apply_prefill, current_agreements, get_draft, start_draft
from civicloom.registries.tables import AgreementRow
from civicloom.runtime import Container
from tests.integration.registries.test_consent_and_reuse import ALICE, SERVICE, registers

ANSWERS = {"parcel_id": "P-0042-117", "seating": 40}


async def _withdraw_approval(container: Container, agreement_id: str) -> None:
    async with container.uow() as uow:
        await uow.session.execute(
            update(AgreementRow).where(AgreementRow.id == agreement_id).values(approved_by=None)
        )
        await uow.commit()


async def test_the_stored_approved_agreements_are_the_ones_in_force(container: Container) -> None:
    ids = [a.id for a in await current_agreements(container.uow())]
    assert ids == ["DSA-2025-101", "DSA-2025-102", "DSA-2025-103"]
    await _withdraw_approval(container, "DSA-2025-102")
    ids = [a.id for a in await current_agreements(container.uow())]
    assert ids == ["DSA-2025-101", "DSA-2025-103"]


async def test_a_register_without_a_stored_approval_is_not_read(container: Container) -> None:
    await _withdraw_approval(container, "DSA-2025-102")  # the taxpayer register
    calls: list[str] = []
    draft = await start_draft(container.uow(), container.clock, ALICE, SERVICE)
    await apply_prefill(
        container.uow(),
        container.clock,
        registers(calls),
        ALICE,
        draft.id,
        consent=True,
        answers=ANSWERS,
    )
    assert calls == ["local-admin.business_lookup", "local-admin.parcel_lookup"]
    after = await get_draft(container.uow(), ALICE, draft.id)
    assert "tax_id" not in after.data
    assert after.data["premises_address"] == "117 Market Street, Riverton"


async def test_an_agreement_only_in_the_files_is_not_read(container: Container) -> None:
    async with container.uow() as uow:
        row = await uow.session.get(AgreementRow, "DSA-2025-103")  # the land-parcel register
        assert row is not None
        await uow.session.delete(row)
        await uow.commit()
    calls: list[str] = []
    draft = await start_draft(container.uow(), container.clock, ALICE, SERVICE)
    await apply_prefill(
        container.uow(),
        container.clock,
        registers(calls),
        ALICE,
        draft.id,
        consent=True,
        answers=ANSWERS,
    )
    assert calls == ["local-admin.business_lookup", "tax.taxpayer_lookup"]
    after = await get_draft(container.uow(), ALICE, draft.id)
    assert "premises_address" not in after.data
