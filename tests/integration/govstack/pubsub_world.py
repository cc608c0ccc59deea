"""The IM pub/sub tests' world (ADR 0054, 0057): a room, its clients, a subscriber's endpoint
in-process, the worker's relay. Fixtures ``keys``, ``receiver`` and ``worker`` are in
``conftest.py``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from civicloom.documents import DOCUMENTS_RUNTIME
from civicloom.govstack.clients import register_client, set_room_subscriber
from civicloom.govstack.pubsub import SIGNATURE_HEADER, PushDeliverer
from civicloom.govstack.pubsub.tables import DeliveryRow
from civicloom.kernel import FixedClock
from civicloom.runtime import Container
from civicloom.worker import LogPublisher, Worker

ROOM = "civicloom/GOV/90000001/births"
BASE = f"/r1/{ROOM}"
OTHER_ROOM = "civicloom/GOV/90000002/police"
PUSH_URL = "http://subscriber.test/events"
SCHEMA = {
    "type": "object",
    "properties": {"mother": {"type": "string"}, "weight": {"type": "number"}},
    "required": ["mother"],
}
BIRTH = {"eventType": "newBirth", "event": {"mother": "Jane Doe", "weight": 3200}}
T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


@dataclass
class Receiver:
    """The subscriber's endpoint: records what it is sent, answers ``status``."""

    status: int = 200
    received: list[tuple[dict[str, Any], str]] = field(default_factory=list)

    def app(self) -> Starlette:
        async def take(request: Request) -> JSONResponse:
            self.received.append(
                (json.loads(await request.body()), request.headers.get(SIGNATURE_HEADER, ""))
            )
            return JSONResponse({}, status_code=self.status)

        return Starlette(routes=[Route("/events", take, methods=["POST"])])


@dataclass(frozen=True)
class Keys:
    """The room's client (publisher), a subscriber, another publisher, a client without scopes."""

    owner: dict[str, str]
    subscriber: dict[str, str]
    other: dict[str, str]
    scopeless: dict[str, str]


async def client(
    container: Container, name: str, scopes: list[str], **extra: Any
) -> dict[str, str]:
    registered = await register_client(
        container, name=name, department="local-admin", scopes=scopes, **extra
    )
    assert registered.key is not None
    return {"api_key": registered.key}


async def make_keys(container: Container) -> Keys:
    """The four clients; the subscriber is on the room's list (an operator's doing)."""
    container.clock = FixedClock(T0)
    keys = Keys(
        owner=await client(
            container, "births-registry", ["events:publish", "events:subscribe"], im_clients=(ROOM,)
        ),
        subscriber=await client(
            container,
            "police-system",
            ["events:subscribe"],
            im_clients=(OTHER_ROOM,),
            push_endpoints=(PUSH_URL,),
        ),
        other=await client(container, "tax-system", ["events:publish", "events:subscribe"]),
        scopeless=await client(container, "kpi-reader", ["kpis:read"]),
    )
    await set_room_subscriber(
        container, room=ROOM, client_name="police-system", allowed=True, actor="cli:ops"
    )
    return keys


async def make_worker(container: Container, receiver: Receiver) -> AsyncIterator[Worker]:
    """The worker's outbox relay with the pub/sub deliverer posting to the receiver in-process.
    The receiver's host is no public address: the operator's setting allows it (ADR 0057)."""
    container.settings = container.settings.model_copy(update={"pubsub_push_private_hosts": True})
    transport = httpx.ASGITransport(app=receiver.app())
    deliverer = PushDeliverer(
        container,
        container.get(DOCUMENTS_RUNTIME).keyring,
        httpx.AsyncClient(transport=transport),
    )
    yield Worker(container, LogPublisher(), subscribers=[deliverer])
    await deliverer.close()


async def relay(worker: Worker) -> None:
    while await worker.relay_outbox():
        pass


async def with_type(gs_client: httpx.AsyncClient, keys: Keys) -> None:
    created = await gs_client.post(
        f"{BASE}/api/v1/eventType",
        json={"eventType": "newBirth", "schema": SCHEMA},
        headers=keys.owner,
    )
    assert created.status_code == 200, created.text


async def deliveries(container: Container) -> list[tuple[str, int, str | None]]:
    async with container.uow() as uow:
        rows = await uow.session.scalars(select(DeliveryRow).order_by(DeliveryRow.sequence))
        return [(r.status, r.attempts, r.last_error) for r in rows]
