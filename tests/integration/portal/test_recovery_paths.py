"""Recovery paths (issue 19): a refused answer stays in its field, and "No" to prefill means no.

Over the real app, case engine and database (SQLite and PostgreSQL).
"""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
from sqlalchemy import func, select

from civicloom.applications import request_information
from civicloom.applications.tables import ApplicationRow, TimelineRow
from civicloom.audit.tables import AuditEntryRow
from civicloom.departments import CAPABILITY_GATEWAY, CapabilityCall, InProcessGateway
from civicloom.runtime import Container
from tests.integration.portal.test_journey import ALICE, location
from tests.integration.portal.test_status_page import OLIVIA, review_task, sent_and_checked
from tests.wiring import swap


async def test_a_too_long_answer_stays_in_the_field(
    container: Container, client: httpx.AsyncClient
) -> None:
    app_id = await sent_and_checked(container, client)
    await request_information(
        container.uow(),
        container.clock,
        OLIVIA,
        await review_task(container, app_id),
        "Please send the kitchen floor plan.",
    )
    typed = "Our kitchen has a grease trap & a hood. " * 130  # 5200 characters
    answer = await client.post(
        f"/applications/{app_id}/information", data={"answer": typed}, headers=ALICE
    )
    assert answer.status_code == 400
    assert "Your answer must be 5000 characters or fewer" in answer.text
    textarea = re.search(r'<textarea[^>]*id="answer"[^>]*>(.*?)</textarea>', answer.text, re.S)
    assert textarea is not None
    assert html.unescape(textarea[1]).strip() == typed.strip()
    async with container.uow() as uow:
        provided = await uow.session.scalar(
            select(func.count())
            .select_from(TimelineRow)
            .where(
                TimelineRow.application_id == app_id, TimelineRow.event == "information.provided"
            )
        )
        state = await uow.session.scalar(
            select(ApplicationRow.state).where(ApplicationRow.id == app_id)
        )
    assert provided == 0  # the refused answer was not sent
    assert state == "awaiting_applicant"


async def test_a_too_long_form_answer_stays_in_the_field(client: httpx.AsyncClient) -> None:
    target = location(await client.post("/services/open-a-restaurant/apply", headers=ALICE))
    draft = target.split("/")[2]
    long_name = "Golden Dragon Kitchen " * 10  # 220 characters: the limit is 200
    page = await client.post(
        f"/drafts/{draft}/pages/business",
        data={"business_name": long_name, "business_registration_number": "BR-2019-004211"},
        headers=ALICE,
    )
    assert page.status_code == 400
    assert "200 characters or fewer" in page.text
    assert f'value="{long_name}"' in page.text


def _business_register(calls: list[dict[str, Any]]) -> InProcessGateway:
    async def lookup(call: CapabilityCall) -> dict[str, Any]:
        calls.append(call.input)
        return {
            "name": "Golden Dragon Kitchen Ltd",
            "status": "active",
            "director_name": "Alice Chen",
            "registered_address": "12 Harbour Street",
        }

    return InProcessGateway({"local-admin.business_lookup": lookup})


async def register_reads(container: Container) -> int:
    async with container.uow() as uow:
        count = await uow.session.scalar(
            select(func.count())
            .select_from(AuditEntryRow)
            .where(AuditEntryRow.action == "register.read")
        )
    return int(count or 0)


async def test_no_to_prefill_fills_nothing_even_after_an_earlier_yes(
    client: httpx.AsyncClient, container: Container
) -> None:
    calls: list[dict[str, Any]] = []
    app = client._transport.app  # type: ignore[attr-defined]
    swap(app, CAPABILITY_GATEWAY, _business_register(calls))
    # An earlier application: Alice said yes, her consent is still in force.
    first = location(await client.post("/services/open-a-restaurant/apply", headers=ALICE))
    assert first.endswith("/prefill")
    await client.post(first, data={"consent": "yes"}, headers=ALICE)
    assert len(calls) == 1
    reads = await register_reads(container)

    # A new application: this time she says no.
    second = location(await client.post("/services/open-a-restaurant/apply", headers=ALICE))
    assert second.endswith("/prefill")
    assert second != first
    form_url = location(await client.post(second, data={"consent": "no"}, headers=ALICE))
    page = await client.get(form_url, headers=ALICE)
    assert page.status_code == 200
    assert len(calls) == 1  # no register was read
    assert await register_reads(container) == reads
    assert 'value="Golden Dragon Kitchen Ltd"' not in page.text
    assert "data-prefill-source" not in page.text
    assert "with your consent" not in page.text
