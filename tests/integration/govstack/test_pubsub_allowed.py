"""Who may subscribe to a room (ADR 0057): only the room's own client and the clients its owner
or an operator put on the room's list. Another department's subscribe-scoped client is refused
everywhere it could learn of or receive the room's events, each refusal a problem+json that is
audited and leaves nothing else; a client taken off the list receives nothing more."""

from __future__ import annotations

import httpx
from sqlalchemy import delete, select

from civicloom.audit.tables import AuditEntryRow
from civicloom.govstack.clients import register_client, set_room_subscriber
from civicloom.govstack.pubsub.tables import (
    AllowedSubscriberRow,
    DeliveryRow,
    PublishedEventRow,
    SubscriptionRow,
)
from civicloom.runtime import Container
from civicloom.worker import Worker
from tests.integration.govstack.conftest import AuditActions, CountRows
from tests.integration.govstack.pubsub_world import (
    BASE,
    BIRTH,
    PUSH_URL,
    ROOM,
    Keys,
    Receiver,
    client,
    deliveries,
    relay,
    with_type,
)

PARKS_ROOM = "civicloom/GOV/90000004/parks"
PARKS_URL = "http://parks.test/events"
ALLOWED = f"{BASE}/api/v1/allowedSubscribers"


async def _parks(container: Container) -> dict[str, str]:
    """Another department's system: events:subscribe, its own subsystem and push endpoint."""
    return await client(
        container,
        "parks-system",
        ["events:subscribe"],
        im_clients=(PARKS_ROOM,),
        push_endpoints=(PARKS_URL,),
    )


async def _denials(container: Container) -> list[dict[str, str]]:
    async with container.uow() as uow:
        rows = await uow.session.scalars(
            select(AuditEntryRow)
            .where(AuditEntryRow.action == "identity.access_denied")
            .order_by(AuditEntryRow.seq)
        )
        return [{"room": r.subject_id, **(r.details or {})} for r in rows]


async def test_a_client_not_on_the_rooms_list_is_refused_everywhere_and_leaves_nothing(
    container: Container,
    gs_client: httpx.AsyncClient,
    keys: Keys,
    count_rows: CountRows,
    audit_actions: AuditActions,
) -> None:
    await with_type(gs_client, keys)
    parks = await _parks(container)
    subs = f"{BASE}/api/v1/subs/newBirth"
    answers = [
        await gs_client.post(
            subs, json={"eventType": "newBirth", "delivery": "PULL"}, headers=parks
        ),
        await gs_client.post(
            subs, json={"eventType": "newBirth", "pushUrl": PARKS_URL}, headers=parks
        ),
        await gs_client.get(f"{BASE}/api/v1/eventType", headers=parks),
        await gs_client.get(f"{BASE}/api/v1/eventType/newBirth", headers=parks),
        await gs_client.get(f"{BASE}/pull/v1/newBirth", headers=parks),
    ]
    assert [a.status_code for a in answers] == [403, 403, 403, 403, 403]
    assert {a.headers["content-type"] for a in answers} == {"application/problem+json"}
    assert answers[0].json()["detail"] == (
        "the owner of civicloom/GOV/90000001/births has not allowed this client to receive its"
        " events; ask the room's owner or an operator to add it"
    )
    assert [d["what"] for d in await _denials(container)] == [
        "subscribe",
        "subscribe",
        "list event types",
        "read an event type",
        "fetch an event",
    ]
    assert {d["room"] for d in await _denials(container)} == {ROOM}
    assert await count_rows(SubscriptionRow) == 0
    assert await audit_actions("pubsub.subscribed") == []

    # Only the room's own client keeps its list: not another publisher, not a subscriber.
    parks_path = f"{ALLOWED}/{PARKS_ROOM}"
    assert (await gs_client.put(parks_path, headers=keys.other)).status_code == 403
    assert (await gs_client.put(parks_path, headers=keys.subscriber)).status_code == 403
    assert (await gs_client.put(parks_path, headers=parks)).status_code == 403
    unknown = await gs_client.put(f"{ALLOWED}/civicloom/GOV/99/nobody", headers=keys.owner)
    own = await gs_client.put(f"{ALLOWED}/{ROOM}", headers=keys.owner)
    assert (unknown.status_code, [(e["field"], e["rule"]) for e in unknown.json()["errors"]]) == (
        400,
        [("subscriberId", "registered")],
    )
    assert (own.status_code, [(e["field"], e["rule"]) for e in own.json()["errors"]]) == (
        400,
        [("subscriberId", "own")],
    )
    assert await count_rows(AllowedSubscriberRow) == 1  # the police system, an operator's doing

    added = await gs_client.put(parks_path, headers=keys.owner)
    again = await gs_client.put(parks_path, headers=keys.owner)
    assert (added.status_code, again.status_code) == (201, 200)
    assert added.json() == {
        "subscriberId": {
            "instanceId": "civicloom",
            "memberClass": "GOV",
            "memberCode": "90000004",
            "applicationCode": "parks",
        }
    }
    listed = (await gs_client.get(ALLOWED, headers=keys.owner)).json()
    assert [(a["subscriberId"]["applicationCode"], a["addedBy"]) for a in listed] == [
        ("police", "operator"),  # civicloom/GOV/90000002/police
        ("parks", "owner"),  # civicloom/GOV/90000004/parks
    ]
    assert (await gs_client.get(ALLOWED, headers=parks)).status_code == 403
    assert await audit_actions("pubsub.subscriber_") == [
        "pubsub.subscriber_allowed",
        "pubsub.subscriber_allowed",
    ]
    subscribed = await gs_client.post(
        subs, json={"eventType": "newBirth", "delivery": "PULL"}, headers=parks
    )
    assert subscribed.status_code == 200, subscribed.text


async def test_a_removed_subscriber_receives_nothing_more(
    container: Container,
    gs_client: httpx.AsyncClient,
    keys: Keys,
    worker: Worker,
    receiver: Receiver,
    count_rows: CountRows,
    audit_actions: AuditActions,
) -> None:
    await with_type(gs_client, keys)
    parks = await _parks(container)
    assert (await gs_client.put(f"{ALLOWED}/{PARKS_ROOM}", headers=keys.owner)).status_code == 201
    subs = f"{BASE}/api/v1/subs/newBirth"
    await gs_client.post(
        subs, json={"eventType": "newBirth", "pushUrl": PUSH_URL}, headers=keys.subscriber
    )
    await gs_client.post(subs, json={"eventType": "newBirth", "delivery": "PULL"}, headers=parks)
    first = (
        await gs_client.post(f"{BASE}/pub/v1/newBirth", json=BIRTH, headers=keys.owner)
    ).json()["id"]
    pulled = await gs_client.get(f"{BASE}/pull/v1/newBirth", headers=parks)
    assert pulled.json()["id"] == first

    # The operator takes the police system off the list before its push is made; the owner
    # takes the parks system off after it fetched (not acknowledged) the event.
    await set_room_subscriber(
        container, room=ROOM, client_name="police-system", allowed=False, actor="cli:ops"
    )
    removed = await gs_client.delete(f"{ALLOWED}/{PARKS_ROOM}", headers=keys.owner)
    assert removed.status_code == 204
    assert (
        await gs_client.delete(f"{ALLOWED}/{PARKS_ROOM}", headers=keys.owner)
    ).status_code == 404
    await relay(worker)
    assert receiver.received == []
    assert sorted(await deliveries(container)) == [("cancelled", 0, None), ("cancelled", 1, None)]
    assert await count_rows(SubscriptionRow) == 0
    assert (await gs_client.get(f"{BASE}/pull/v1/newBirth", headers=parks)).status_code == 403
    assert (
        await gs_client.delete(f"{BASE}/pull/v1/newBirth/{first}", headers=parks)
    ).status_code == 403
    assert (
        await gs_client.post(
            subs, json={"eventType": "newBirth", "delivery": "PULL"}, headers=parks
        )
    ).status_code == 403

    await gs_client.post(f"{BASE}/pub/v1/newBirth", json=BIRTH, headers=keys.owner)
    assert await count_rows(PublishedEventRow) == 2
    assert await count_rows(DeliveryRow) == 2  # none for the second event
    assert await audit_actions("pubsub.subscriber_removed") == [
        "pubsub.subscriber_removed",
        "pubsub.subscriber_removed",
    ]


async def test_a_push_to_a_client_no_longer_listed_is_never_made(
    container: Container,
    gs_client: httpx.AsyncClient,
    keys: Keys,
    worker: Worker,
    receiver: Receiver,
) -> None:
    """The list is checked again at the push itself: a subscription left behind (a removal
    racing a subscribe) receives nothing."""
    await with_type(gs_client, keys)
    await gs_client.post(
        f"{BASE}/api/v1/subs/newBirth",
        json={"eventType": "newBirth", "pushUrl": PUSH_URL},
        headers=keys.subscriber,
    )
    await gs_client.post(f"{BASE}/pub/v1/newBirth", json=BIRTH, headers=keys.owner)
    async with container.uow() as uow:
        await uow.session.execute(delete(AllowedSubscriberRow))
        await uow.commit()
    await relay(worker)
    assert receiver.received == []
    assert await deliveries(container) == [
        ("cancelled", 0, "the subscriber is no longer allowed in this room")
    ]
    await gs_client.post(f"{BASE}/pub/v1/newBirth", json=BIRTH, headers=keys.owner)
    assert len(await deliveries(container)) == 1  # the stray subscription gets no delivery


async def test_a_push_to_a_private_address_is_refused_unless_the_operator_allows_it(
    container: Container,
    gs_client: httpx.AsyncClient,
    keys: Keys,
    worker: Worker,
    receiver: Receiver,
) -> None:
    """An endpoint an operator registered may still name (or come to resolve to) an address
    inside the platform's network; without the setting no connection is made to it."""
    loopback = "http://127.0.0.1:9/events"
    await register_client(
        container,
        name="police-system",
        department="local-admin",
        scopes=["events:subscribe"],
        push_endpoints=(loopback,),
    )
    await with_type(gs_client, keys)
    await gs_client.post(
        f"{BASE}/api/v1/subs/newBirth",
        json={"eventType": "newBirth", "pushUrl": loopback},
        headers=keys.subscriber,
    )
    published = await gs_client.post(f"{BASE}/pub/v1/newBirth", json=BIRTH, headers=keys.owner)
    container.settings = container.settings.model_copy(update={"pubsub_push_private_hosts": False})
    await relay(worker)
    assert receiver.received == []  # the in-process receiver would have taken it
    assert await deliveries(container) == [
        ("pending", 1, "the push endpoint resolves to a non-public address: 127.0.0.1")
    ]
    status = await gs_client.get(
        f"{BASE}/pub/v1/newBirth/{published.json()['id']}", headers=keys.owner
    )
    assert [d["lastError"] for d in status.json()["deliveries"]] == [
        "the subscriber's endpoint is not on a public network"
    ]
