"""Officers see on the task page who applied, in what capacity, verified against which register
entry (issue 17, ADR 0041)."""

from __future__ import annotations

from datetime import timedelta

import httpx

from civicloom.applications import StepRunner
from civicloom.departments import CAPABILITY_GATEWAY
from civicloom.registries import GrantMandate, accept_mandate, grant_mandate
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.backoffice.world import drain, persona, restaurant_data, submit, task_of


async def test_the_task_page_names_the_director_and_the_delegate(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    alices = await submit(container, "acting-1", seating=60)
    alice, bob, clock = persona(container, "alice"), persona(container, "bob"), container.clock
    mandate = await grant_mandate(
        container.uow,
        container.get(CAPABILITY_GATEWAY),
        clock,
        alice,
        GrantMandate("BR-2019-004211", "bob", (), clock.now() + timedelta(days=30)),
    )
    await accept_mandate(container.uow(), clock, bob, mandate.id)
    sent = await client.post(
        "/api/v1/applications",
        json={"service": "open-a-restaurant", "data": restaurant_data(seating=60)},
        headers=as_persona("bob"),
    )
    assert sent.status_code == 201, sent.text
    await drain(runner)

    elena = as_persona("elena")
    own = await client.get(
        f"/backoffice/tasks/{(await task_of(container, alices, 'inspection')).id}", headers=elena
    )
    assert own.status_code == 200
    assert 'data-capacity="director"' in own.text
    assert "director named by the business register" in own.text
    assert "Verified against the register entry BR-2019-004211 (Golden Dragon Kitchen Ltd)" in (
        own.text
    )

    bobs = await task_of(container, sent.json()["id"], "inspection")
    page = await client.get(f"/backoffice/tasks/{bobs.id}", headers=elena)
    assert page.status_code == 200
    assert 'data-capacity="delegate"' in page.text
    assert f"delegate under mandate {mandate.id} from a director" in page.text
    assert "bob" in page.text
