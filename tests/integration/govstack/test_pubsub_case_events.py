"""The platform's case events in its own pub/sub room (ADR 0057): a real application submitted
through the native API reaches, through the outbox and the worker, the PULL subscription of a
department with a step in its service — minimised to reference, service, state and time — and
never that of a department without one, though both are on the room's list."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from civicloom.govstack.clients import register_client, set_room_subscriber
from civicloom.govstack.pubsub import PLATFORM_ROOM, CaseEventBridge
from civicloom.govstack.pubsub.bridge import BRIDGED, room_event_type
from civicloom.govstack.pubsub.rooms import PLATFORM_EVENT_TYPES
from civicloom.govstack.pubsub.tables import PublishedEventRow
from civicloom.kernel import FixedClock
from civicloom.runtime import Container
from civicloom.worker import LogPublisher, RecordRetention, Worker, purge_operational_records
from tests.conftest import as_persona
from tests.integration.govstack.conftest import CountRows

BASE = f"/r1/{PLATFORM_ROOM}"
SUBMITTED = "application.submitted"


async def _reader(container: Container, department: str) -> dict[str, str]:
    """A department's case-event reader: events:subscribe, its own subsystem, on the list."""
    name = f"{department}-case-reader"
    registered = await register_client(
        container,
        name=name,
        department=department,
        scopes=["events:subscribe"],
        im_clients=(f"civicloom/GOV/{department}/case-reader",),
    )
    assert registered.key is not None
    await set_room_subscriber(
        container, room=PLATFORM_ROOM, client_name=name, allowed=True, actor="cli:ops"
    )
    return {"api_key": registered.key}


def _move() -> dict[str, Any]:
    return {
        "service": "change-of-business-address",
        "data": {
            "business_registration_number": "BR-2019-004211",
            "new_parcel_id": "P-0042-117",
            "new_address": "1 Harbour Street, Riverton",
            "effective_date": "2027-01-15",
        },
    }


def test_the_room_has_one_event_type_per_bridged_outbox_event() -> None:
    assert sorted(room_event_type(t.value) for t in BRIDGED) == sorted(PLATFORM_EVENT_TYPES)


async def test_a_department_with_a_step_receives_the_case_event_and_another_none(
    container: Container,
    client: httpx.AsyncClient,
    gs_client: httpx.AsyncClient,
    count_rows: CountRows,
) -> None:
    tax = await _reader(container, "tax")  # change of address asks the tax department
    environment = await _reader(container, "environment")  # it has no step in that service
    listed = await gs_client.get(f"{BASE}/api/v1/eventType", headers=tax)
    assert listed.json() == [
        "application.approved",
        "application.failed",
        "application.rejected",
        "application.submitted",
        "application.withdrawn",
        "licence.issued",
    ]
    for headers in (tax, environment):
        subscribed = await gs_client.post(
            f"{BASE}/api/v1/subs/{SUBMITTED}",
            json={"eventType": SUBMITTED, "delivery": "PULL"},
            headers=headers,
        )
        assert subscribed.status_code == 200, subscribed.text

    submitted = await client.post("/api/v1/applications", json=_move(), headers=as_persona("alice"))
    assert submitted.status_code == 201, submitted.text
    reference = submitted.json()["reference"]
    worker = Worker(container, LogPublisher(), subscribers=[CaseEventBridge(container)])
    while await worker.relay_outbox():
        pass

    fetched = await gs_client.get(f"{BASE}/pull/v1/{SUBMITTED}", headers=tax)
    assert fetched.status_code == 200, fetched.text
    item = fetched.json()
    assert item == {
        "id": item["id"],
        "sequence": item["sequence"],
        "publisherId": {
            "instanceId": "civicloom",
            "memberClass": "GOV",
            "memberCode": "civicloom",
            "applicationCode": "case-events",
        },
        "eventType": SUBMITTED,
        "event": {
            "reference": reference,
            "service": "change-of-business-address",
            "state": "submitted",
            "occurredAt": item["event"]["occurredAt"],
        },
    }
    nothing = await gs_client.get(f"{BASE}/pull/v1/{SUBMITTED}", headers=environment)
    assert nothing.status_code == 404
    assert await count_rows(PublishedEventRow) == 1


async def test_a_new_case_event_is_published_after_the_outbox_was_purged(
    container: Container,
    client: httpx.AsyncClient,
    count_rows: CountRows,
) -> None:
    """Attack review: the bridge keyed what it published on the outbox row's id, which SQLite
    hands out again once the newest rows are purged: the next case event looked published
    already and was dropped. It is keyed on the message's own unique key."""
    await _reader(container, "tax")
    worker = Worker(container, LogPublisher(), subscribers=[CaseEventBridge(container)])
    first = await client.post("/api/v1/applications", json=_move(), headers=as_persona("alice"))
    assert first.status_code == 201, first.text
    while await worker.relay_outbox():
        pass
    assert await count_rows(PublishedEventRow) == 1
    week_later = FixedClock(container.clock.now() + timedelta(days=8))
    purged = await purge_operational_records(container.uow, week_later, RecordRetention())
    assert purged["outbox_messages"] >= 1  # the sent case event's row is gone

    second = await client.post("/api/v1/applications", json=_move(), headers=as_persona("alice"))
    assert second.status_code == 201, second.text
    while await worker.relay_outbox():
        pass
    assert await count_rows(PublishedEventRow) == 2
