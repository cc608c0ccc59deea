"""IM pub/sub on the listener (ADR 0054): rooms managed by their own client, events validated
and stored, PUSH through the outbox (signed, recorded before acknowledged, retried, dead after
the last attempt), PULL with acknowledgement, waits that end, and every refusal leaving nothing."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from civicloom.audit.tables import AuditEntryRow
from civicloom.documents import DOCUMENTS_RUNTIME
from civicloom.govstack.clients import register_subsystem
from civicloom.govstack.pubsub import purge_old_events
from civicloom.govstack.pubsub.tables import DeliveryRow, EventTypeRow, PublishedEventRow
from civicloom.kernel import FixedClock, NotFound, ValidationFailed
from civicloom.outbox import MAX_ATTEMPTS
from civicloom.runtime import Container
from civicloom.worker import Worker
from tests.conftest import as_persona
from tests.integration.govstack.conftest import AuditActions, CountRows
from tests.integration.govstack.pubsub_world import (
    BASE,
    BIRTH,
    OTHER_ROOM,
    PUSH_URL,
    ROOM,
    SCHEMA,
    Keys,
    Receiver,
    deliveries,
    relay,
    with_type,
)


async def test_only_the_rooms_own_client_manages_its_event_types(
    gs_client: httpx.AsyncClient, keys: Keys, count_rows: CountRows
) -> None:
    path = f"{BASE}/api/v1/eventType"
    body = {"eventType": "newBirth", "schema": SCHEMA}
    refused = [
        (await gs_client.post(path, json=body)).status_code,
        (await gs_client.post(path, json=body, headers=as_persona("olivia"))).status_code,
        (await gs_client.post(path, json=body, headers=keys.other)).status_code,
        (await gs_client.post(path, json=body, headers=keys.scopeless)).status_code,
        (
            await gs_client.post(
                f"/r1/{OTHER_ROOM}/api/v1/eventType", json=body, headers=keys.owner
            )
        ).status_code,
        (
            await gs_client.post(
                "/r1/civicloom/GOV/nobody/none/api/v1/eventType", json=body, headers=keys.owner
            )
        ).status_code,
        (
            await gs_client.post(
                path, json={"eventType": "newBirth", "schema": {"type": 5}}, headers=keys.owner
            )
        ).status_code,
        (
            await gs_client.post(path, json={"eventType": "newBirth"}, headers=keys.owner)
        ).status_code,
    ]
    assert refused == [401, 403, 403, 403, 403, 404, 400, 400]
    # A publisher's regular expression would run on every publish (a backtracking one took
    # seconds per event on the listener's loop: found by the attack review).
    slow = {"type": "object", "properties": {"mother": {"type": "string", "pattern": "^(a+)+$"}}}
    regex = await gs_client.post(
        path, json={"eventType": "newBirth", "schema": slow}, headers=keys.owner
    )
    assert regex.status_code == 400
    assert "schema.properties.mother.pattern" in regex.text
    assert "no-regular-expressions" in regex.text
    assert await count_rows(EventTypeRow) == 0
    assert (await gs_client.get(path, headers=keys.owner)).status_code == 204

    created = await gs_client.post(path, json=body, headers=keys.owner)
    assert (created.status_code, created.json()) == (200, {"eventType": "newBirth"})
    again = await gs_client.post(path, json=body, headers=keys.owner)
    assert again.status_code == 409
    listed = await gs_client.get(path, headers=keys.subscriber)
    assert (listed.status_code, listed.json()) == (200, ["newBirth"])
    read = await gs_client.get(f"{path}/newBirth", headers=keys.subscriber)
    assert read.json() == {"eventType": "newBirth", "schema": SCHEMA}
    assert (await gs_client.get(f"{path}/newDeath", headers=keys.owner)).status_code == 204
    assert (await gs_client.get(path, headers=keys.scopeless)).status_code == 403
    assert (await gs_client.delete(f"{path}/newBirth", headers=keys.other)).status_code == 403
    assert (await gs_client.delete(f"{path}/newBirth", headers=keys.owner)).status_code == 204
    assert (await gs_client.delete(f"{path}/newBirth", headers=keys.owner)).status_code == 404


async def test_publishing_validates_the_event_and_refuses_other_publishers(
    gs_client: httpx.AsyncClient, keys: Keys, count_rows: CountRows, audit_actions: AuditActions
) -> None:
    await with_type(gs_client, keys)
    path = f"{BASE}/pub/v1/newBirth"
    invalid = await gs_client.post(
        path, json={"eventType": "newBirth", "event": {"weight": "heavy"}}, headers=keys.owner
    )
    assert invalid.status_code == 400
    assert sorted(e["field"] for e in invalid.json()["errors"]) == ["event", "event.weight"]
    refused = [
        (await gs_client.post(path, json=BIRTH)).status_code,
        (await gs_client.post(path, json=BIRTH, headers=keys.other)).status_code,
        (await gs_client.post(path, json=BIRTH, headers=keys.subscriber)).status_code,
        (
            await gs_client.post(
                f"{BASE}/pub/v1/newDeath",
                json={**BIRTH, "eventType": "newDeath"},
                headers=keys.owner,
            )
        ).status_code,
        (
            await gs_client.post(f"{BASE}/pub/v1/newDeath", json=BIRTH, headers=keys.owner)
        ).status_code,
    ]
    assert refused == [401, 403, 403, 404, 400]
    assert await count_rows(PublishedEventRow) == 0
    assert await audit_actions("pubsub.event_published") == []

    headers = {**keys.owner, "Idempotency-Key": "birth-0001"}
    first = await gs_client.post(path, json=BIRTH, headers=headers)
    reordered = {"eventType": "newBirth", "event": {"weight": 3200, "mother": "Jane Doe"}}
    repeated = await gs_client.post(path, json=reordered, headers=headers)
    changed = await gs_client.post(
        path, json={**BIRTH, "event": {"mother": "Mary Major"}}, headers=headers
    )
    assert (first.status_code, repeated.status_code, changed.status_code) == (201, 201, 409)
    assert repeated.json() == first.json()
    assert await count_rows(PublishedEventRow) == 1
    assert await audit_actions("pubsub.event_published") == ["pubsub.event_published"]


async def test_a_push_is_signed_and_recorded_before_it_is_acknowledged(
    container: Container,
    gs_client: httpx.AsyncClient,
    keys: Keys,
    worker: Worker,
    receiver: Receiver,
    audit_actions: AuditActions,
) -> None:
    await with_type(gs_client, keys)
    subs = f"{BASE}/api/v1/subs/newBirth"
    elsewhere = await gs_client.post(
        subs,
        json={"eventType": "newBirth", "delivery": "PUSH", "pushUrl": "http://attacker.test/x"},
        headers=keys.subscriber,
    )
    assert elsewhere.status_code == 400
    assert [e["field"] for e in elsewhere.json()["errors"]] == ["pushUrl"]
    subscribed = await gs_client.post(
        subs, json={"eventType": "newBirth", "pushUrl": PUSH_URL}, headers=keys.subscriber
    )
    assert subscribed.status_code == 200, subscribed.text
    assert subscribed.json()["subscriberId"] == {
        "instanceId": "civicloom",
        "memberClass": "GOV",
        "memberCode": "90000002",
        "applicationCode": "police",
    }
    assert (
        await gs_client.post(
            subs, json={"eventType": "newBirth", "pushUrl": PUSH_URL}, headers=keys.subscriber
        )
    ).status_code == 409

    published = await gs_client.post(f"{BASE}/pub/v1/newBirth", json=BIRTH, headers=keys.owner)
    event_id = published.json()["id"]
    assert receiver.received == []  # nothing leaves inside the request
    await relay(worker)

    [(item, signature)] = receiver.received
    assert item == {
        "id": event_id,
        "sequence": item["sequence"],
        "publisherId": {
            "instanceId": "civicloom",
            "memberClass": "GOV",
            "memberCode": "90000001",
            "applicationCode": "births",
        },
        "eventType": "newBirth",
        "event": {"mother": "Jane Doe", "weight": 3200},
        "subscriptionId": subscribed.json()["id"],
    }
    _, signed = container.get(DOCUMENTS_RUNTIME).keyring().public.verify(signature)
    assert signed == item
    assert await deliveries(container) == [("delivered", 1, None)]
    assert await audit_actions("pubsub.event_delivered") == ["pubsub.event_delivered"]

    status = await gs_client.get(f"{BASE}/pub/v1/newBirth/{event_id}", headers=keys.owner)
    [delivery] = status.json()["deliveries"]
    assert {k: delivery[k] for k in ("subscriberId", "delivery", "status", "attempts")} == {
        "subscriberId": subscribed.json()["subscriberId"],
        "delivery": "PUSH",
        "status": "delivered",
        "attempts": 1,
    }
    assert (
        await gs_client.get(f"{BASE}/pub/v1/newBirth/{event_id}", headers=keys.other)
    ).status_code == 403
    await relay(worker)
    assert len(receiver.received) == 1  # acknowledged in the outbox: never pushed again


async def test_a_failing_subscriber_is_retried_then_dead_lettered(
    container: Container,
    gs_client: httpx.AsyncClient,
    keys: Keys,
    worker: Worker,
    receiver: Receiver,
    audit_actions: AuditActions,
) -> None:
    await with_type(gs_client, keys)
    await gs_client.post(
        f"{BASE}/api/v1/subs/newBirth",
        json={"eventType": "newBirth", "pushUrl": PUSH_URL, "options": {"TTL": 86400}},
        headers=keys.subscriber,
    )
    published = await gs_client.post(f"{BASE}/pub/v1/newBirth", json=BIRTH, headers=keys.owner)
    event_id = published.json()["id"]
    receiver.status = 503
    clock = container.clock
    assert isinstance(clock, FixedClock)
    await relay(worker)
    assert await deliveries(container) == [("pending", 1, "HTTP 503")]
    for _ in range(MAX_ATTEMPTS - 1):
        clock.advance(timedelta(minutes=11))  # past the longest back-off
        await relay(worker)
    assert len(receiver.received) == MAX_ATTEMPTS
    assert await deliveries(container) == [("dead", MAX_ATTEMPTS, "HTTP 503")]
    # the publisher reads what happened in words, not the subscriber's answer
    status = await gs_client.get(f"{BASE}/pub/v1/newBirth/{event_id}", headers=keys.owner)
    assert [d["lastError"] for d in status.json()["deliveries"]] == [
        "the subscriber's system failed to take the event"
    ]
    assert await audit_actions("pubsub.delivery_dead") == ["pubsub.delivery_dead"]
    clock.advance(timedelta(hours=1))
    await relay(worker)
    assert len(receiver.received) == MAX_ATTEMPTS  # the wait ended


async def test_pull_hands_over_in_order_until_acknowledged(
    container: Container, gs_client: httpx.AsyncClient, keys: Keys
) -> None:
    await with_type(gs_client, keys)
    pull = f"{BASE}/pull/v1/newBirth"
    assert (await gs_client.get(pull, headers=keys.subscriber)).status_code == 409
    await gs_client.post(
        f"{BASE}/api/v1/subs/newBirth",
        json={"eventType": "newBirth", "delivery": "PULL"},
        headers=keys.subscriber,
    )
    assert (await gs_client.get(pull, headers=keys.subscriber)).status_code == 404
    first = (
        await gs_client.post(f"{BASE}/pub/v1/newBirth", json=BIRTH, headers=keys.owner)
    ).json()["id"]
    second = (
        await gs_client.post(
            f"{BASE}/pub/v1/newBirth",
            json={"eventType": "newBirth", "event": {"mother": "Mary Major"}},
            headers=keys.owner,
        )
    ).json()["id"]

    assert (await gs_client.delete(f"{pull}/{first}", headers=keys.subscriber)).status_code == 409
    assert (await gs_client.get(pull, headers=keys.subscriber)).json()["id"] == first
    assert (await gs_client.get(pull, headers=keys.subscriber)).json()["id"] == first
    # another department's client is not on the room's list (ADR 0057)
    assert (await gs_client.get(pull, headers=keys.other)).status_code == 403
    assert (await gs_client.delete(f"{pull}/{first}", headers=keys.other)).status_code == 403
    assert (await gs_client.delete(f"{pull}/{first}", headers=keys.subscriber)).status_code == 204
    assert (await gs_client.delete(f"{pull}/{first}", headers=keys.subscriber)).status_code == 404
    assert (await gs_client.get(pull, headers=keys.subscriber)).json()["id"] == second
    assert await deliveries(container) == [("acknowledged", 2, None), ("delivered", 1, None)]


async def test_an_event_waits_no_longer_than_its_ttl(
    container: Container, gs_client: httpx.AsyncClient, keys: Keys
) -> None:
    await with_type(gs_client, keys)
    await gs_client.post(
        f"{BASE}/api/v1/subs/newBirth",
        json={"eventType": "newBirth", "delivery": "PULL", "options": {"TTL": 60}},
        headers=keys.subscriber,
    )
    await gs_client.post(f"{BASE}/pub/v1/newBirth", json=BIRTH, headers=keys.owner)
    clock = container.clock
    assert isinstance(clock, FixedClock)
    clock.advance(timedelta(seconds=61))
    assert (
        await gs_client.get(f"{BASE}/pull/v1/newBirth", headers=keys.subscriber)
    ).status_code == 404
    assert await deliveries(container) == [("dead", 0, "expired (TTL)")]


async def test_a_cancelled_event_is_not_pushed(
    container: Container,
    gs_client: httpx.AsyncClient,
    keys: Keys,
    worker: Worker,
    receiver: Receiver,
) -> None:
    await with_type(gs_client, keys)
    await gs_client.post(
        f"{BASE}/api/v1/subs/newBirth",
        json={"eventType": "newBirth", "pushUrl": PUSH_URL},
        headers=keys.subscriber,
    )
    event_id = (
        await gs_client.post(f"{BASE}/pub/v1/newBirth", json=BIRTH, headers=keys.owner)
    ).json()["id"]
    event = f"{BASE}/pub/v1/newBirth/{event_id}"
    assert (await gs_client.delete(event, headers=keys.other)).status_code == 403
    assert (await gs_client.delete(event, headers=keys.owner)).status_code == 204
    await relay(worker)
    assert receiver.received == []
    assert await deliveries(container) == [("cancelled", 0, None)]


async def test_subscriptions_are_the_callers_own(gs_client: httpx.AsyncClient, keys: Keys) -> None:
    await with_type(gs_client, keys)
    subs = f"{BASE}/api/v1/subs"
    body = {"eventType": "newBirth", "delivery": "PULL"}
    assert (
        await gs_client.post(f"{subs}/newBirth", json=body, headers=keys.scopeless)
    ).status_code == 403
    spoofed = {
        **body,
        "subscriberId": {
            "instanceId": "civicloom",
            "memberClass": "GOV",
            "memberCode": "90000001",
            "applicationCode": "births",
        },
    }
    assert (
        await gs_client.post(f"{subs}/newBirth", json=spoofed, headers=keys.subscriber)
    ).status_code == 400
    assert (
        await gs_client.post(f"{subs}/newBirth", json=body, headers=keys.subscriber)
    ).status_code == 200
    assert (await gs_client.get(f"{subs}/newBirth", headers=keys.other)).status_code == 404
    assert (await gs_client.get(subs, headers=keys.other)).json() == []
    assert [
        s["eventType"] for s in (await gs_client.get(subs, headers=keys.subscriber)).json()
    ] == ["newBirth"]
    changed = await gs_client.patch(
        f"{subs}/newBirth",
        json={"eventType": "newBirth", "delivery": "PUSH", "pushUrl": PUSH_URL},
        headers=keys.subscriber,
    )
    assert (changed.status_code, changed.json()["delivery"]) == (201, "PUSH")
    assert (await gs_client.delete(f"{subs}/newBirth", headers=keys.other)).status_code == 404
    assert (await gs_client.delete(f"{subs}/newBirth", headers=keys.subscriber)).status_code == 204
    assert (await gs_client.get(f"{subs}/newBirth", headers=keys.subscriber)).status_code == 404


async def test_an_operator_registers_a_room_only_for_an_existing_client_and_never_takes_one(
    container: Container, keys: Keys, audit_actions: AuditActions
) -> None:
    with pytest.raises(NotFound):
        await register_subsystem(
            container, client_name="nobody", subsystems=("civicloom/GOV/x/y",), actor="cli:ops"
        )
    with pytest.raises(ValidationFailed) as taken:
        await register_subsystem(
            container, client_name="police-system", subsystems=(ROOM,), actor="cli:ops"
        )
    assert [e.rule for e in taken.value.errors] == ["taken"]
    with pytest.raises(ValidationFailed) as malformed:
        await register_subsystem(
            container,
            client_name="police-system",
            subsystems=("no-slashes",),
            push_endpoints=("ftp://x",),
            actor="cli:ops",
        )
    assert [e.field for e in malformed.value.errors] == ["subsystem", "push_endpoint"]
    assert await audit_actions("govstack.") == []
    await register_subsystem(
        container,
        client_name="police-system",
        subsystems=("civicloom/GOV/90000002/traffic",),
        push_endpoints=("https://police.example/events",),
        actor="cli:ops",
    )
    assert await audit_actions("govstack.") == ["govstack.client_registered"]


async def test_old_events_are_purged_with_their_deliveries_and_audited(
    container: Container,
    gs_client: httpx.AsyncClient,
    keys: Keys,
    count_rows: CountRows,
    audit_actions: AuditActions,
) -> None:
    await with_type(gs_client, keys)
    await gs_client.post(
        f"{BASE}/api/v1/subs/newBirth",
        json={"eventType": "newBirth", "delivery": "PULL"},
        headers=keys.subscriber,
    )
    old = (await gs_client.post(f"{BASE}/pub/v1/newBirth", json=BIRTH, headers=keys.owner)).json()[
        "id"
    ]
    clock = container.clock
    assert isinstance(clock, FixedClock)
    clock.advance(timedelta(days=91))  # past the default 90 days; never fetched
    recent = (
        await gs_client.post(f"{BASE}/pub/v1/newBirth", json=BIRTH, headers=keys.owner)
    ).json()["id"]
    assert await purge_old_events(container, container.settings.pubsub_retention_days) == 1
    assert await purge_old_events(container, container.settings.pubsub_retention_days) == 0
    async with container.uow() as uow:
        left = list(await uow.session.scalars(select(PublishedEventRow.id)))
        details = await uow.session.scalar(
            select(AuditEntryRow.details).where(AuditEntryRow.action == "pubsub.purged")
        )
    assert (left, await count_rows(DeliveryRow)) == ([recent], 1)
    assert old not in left
    assert details == {"events": 1, "deliveries": 1, "retention_days": 90}
    assert await audit_actions("pubsub.purged") == ["pubsub.purged"]
