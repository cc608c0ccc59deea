"""The consent page asks the parcel id the land-parcel register is read by; a bad one is a 400
naming the field with nothing read; a good one fills the premises address with its source."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from civicloom.departments import CAPABILITY_GATEWAY
from civicloom.registries.tables import DataUseRow
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.registries.test_consent_and_reuse import registers
from tests.wiring import swap

ALICE = {**as_persona("alice"), "Accept": "text/html"}


async def test_the_parcel_id_is_asked_before_the_land_parcel_register_is_read(
    client: httpx.AsyncClient, container: Container
) -> None:
    calls: list[str] = []
    app = client._transport.app  # type: ignore[attr-defined]
    swap(app, CAPABILITY_GATEWAY, registers(calls))
    started = await client.post("/services/open-a-restaurant/apply", headers=ALICE)
    target = started.headers["location"]
    assert target.endswith("/prefill")
    ask = await client.get(target, headers=ALICE)
    assert 'data-prefill-asks="parcel_id"' in ask.text
    assert 'data-agreement="DSA-2025-103"' in ask.text
    assert "Land Registration Act 2002, s. 66" in ask.text

    bad = await client.post(target, data={"consent": "yes", "parcel_id": "42"}, headers=ALICE)
    assert bad.status_code == 400
    assert 'href="#parcel_id"' in bad.text  # the error summary names the field
    assert calls == []  # nothing is read while an answer is wrong

    ok = await client.post(
        target, data={"consent": "yes", "parcel_id": "P-0042-117"}, headers=ALICE
    )
    assert ok.status_code == 303
    assert calls[-1] == "local-admin.parcel_lookup"
    premises = await client.get(target.replace("/prefill", "/pages/premises"), headers=ALICE)
    assert ">117 Market Street, Riverton<" in premises.text  # a textarea
    assert 'value="P-0042-117"' in premises.text
    assert 'data-prefill-source="premises_address"' in premises.text
    assert 'data-prefill-source="parcel_id"' not in premises.text  # the applicant's own
    async with container.uow() as uow:
        agreements = set(await uow.session.scalars(select(DataUseRow.agreement_id)))
    assert agreements == {"DSA-2025-101", "DSA-2025-102", "DSA-2025-103"}
