"""A data-sharing purpose reads in the reader's language wherever a person sees it (issue 19),
while what is recorded stays the agreement's English.

Alice lets the platform fill in her form from the business register (agreement DSA-2025-101).
In Simplified Chinese her consents page and the auditor's search of her entries say why in
Chinese: "为您所代表的企业填写许可证申请" (the agreement's own words),
never "Fill in the licence application of the business you represent", and name the fields by
the data catalogue's titles; the consent's and the audit entries' stored purposes are still that
English."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from civicloom.audit.tables import AuditEntryRow
from civicloom.departments import CAPABILITY_GATEWAY, CapabilityCall, InProcessGateway
from civicloom.registries import purpose_in_words
from civicloom.registries.tables import ConsentRow
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.english import english_runs, visible_text
from tests.wiring import swap

PURPOSE_EN = "Fill in the licence application of the business you represent"
PURPOSE_ZH = "为您所代表的企业填写许可证申请"
# her consent covers the business register and the tax register: both purposes, joined
CONSENTED = f"{PURPOSE_EN}; Fill in the tax details of the business you represent"
ZH = {"Accept": "text/html", "Accept-Language": "zh-Hans"}


async def _prefilled(client: httpx.AsyncClient, alice: dict[str, str]) -> None:
    async def lookup(call: CapabilityCall) -> dict[str, Any]:
        return {
            "name": "Golden Dragon Kitchen Ltd",
            "status": "active",
            "director_name": "Alice Chen",
            "registered_address": "12 Harbour Street",
        }

    app = client._transport.app  # type: ignore[attr-defined]
    swap(app, CAPABILITY_GATEWAY, InProcessGateway({"local-admin.business_lookup": lookup}))
    started = await client.post("/services/open-a-restaurant/apply", headers=alice)
    target = started.headers["location"]
    assert target.endswith("/prefill")
    given = await client.post(target, data={"consent": "yes"}, headers=alice)
    assert given.status_code == 303


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # words, not database paths
async def test_the_purpose_reads_in_chinese_and_is_stored_in_english(
    client: httpx.AsyncClient, container: Container
) -> None:
    alice = {**as_persona("alice"), "Accept": "text/html"}
    await _prefilled(client, alice)
    async with container.uow() as uow:
        stored = list(await uow.session.scalars(select(ConsentRow.purpose)))
        audited = set(
            await uow.session.scalars(
                select(AuditEntryRow.purpose).where(
                    AuditEntryRow.action.in_(("consent.granted", "register.read"))
                )
            )
        )
    assert stored == [CONSENTED]  # what is recorded is unchanged
    assert CONSENTED in audited

    pages = {
        "/consents": {**alice, **ZH},
        "/backoffice/audit?person=alice": {**as_persona("ada"), **ZH},
    }
    for path, headers in pages.items():
        page = await client.get(path, headers=headers)
        assert page.status_code == 200, path
        text = visible_text(page.text, "en")
        assert PURPOSE_ZH in text, path
        assert "Fill in the licence" not in text, path
        assert english_runs(text, ("Alice Chen", "Ada Moreau", "JSON Lines")) == [], path
    consents = visible_text((await client.get("/consents", headers={**alice, **ZH})).text)
    assert "董事姓名" in consents  # director_name, by the data catalogue's title
    assert "director name" not in consents
    english = await client.get("/consents", headers={**alice, "Accept": "text/html"})
    assert PURPOSE_EN in english.text


def test_a_purpose_in_words() -> None:
    labels = {"a": "甲", "b": "乙"}
    assert purpose_in_words("a", labels) == "甲"
    assert purpose_in_words("a; b", labels) == "甲; 乙"  # a consent for two agreements
    assert purpose_in_words("a; c", labels) is None  # shown as recorded, marked English
    assert purpose_in_words("c", labels) is None
    assert purpose_in_words(None, labels) == ""
