"""Labour simulator: AMQP request/reply on real RabbitMQ, dead-lettering, events, REST twin."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest
from aio_pika.abc import AbstractChannel, AbstractQueue

from tests.simulators.harness import SimProcess, start_sim, wait_for

AMQP_URL = os.environ.get("CIVICLOOM_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
PREFIX = f"test-{uuid.uuid4().hex[:8]}."
REQUESTS = f"{PREFIX}labour.requests"


async def rabbitmq_available() -> bool:
    """Probe RabbitMQ once."""
    try:
        connection = await aio_pika.connect(AMQP_URL, timeout=3)
    except Exception:
        return False
    await connection.close()
    return True


@pytest.fixture(scope="module")
def broker_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    """A labour simulator consuming prefixed queues on the real RabbitMQ."""
    if not asyncio.run(rabbitmq_available()):
        message = f"RabbitMQ not reachable at {AMQP_URL}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    proc = start_sim(
        "labour",
        tmp_path_factory.mktemp("labour"),
        "--amqp-url",
        AMQP_URL,
        env={"SIM_LABOUR_AMQP_PREFIX": PREFIX},
    )
    wait_for(lambda: httpx.get(f"{proc.url}/_sim/amqp").json()["connected"], timeout=15)
    yield proc
    proc.stop()


@pytest.fixture
def sim(broker_sim: SimProcess, cleanup_broker: None) -> SimProcess:
    """The broker-backed simulator, with topology cleanup registered."""
    return broker_sim


@pytest.fixture
async def channel(sim: SimProcess) -> AsyncIterator[AbstractChannel]:
    """A channel on a fresh connection to a reset simulator."""
    sim.reset()
    connection = await aio_pika.connect(AMQP_URL)
    ch = await connection.channel()
    yield ch
    await connection.close()


@pytest.fixture(scope="module")
def cleanup_broker(broker_sim: SimProcess) -> Iterator[None]:
    """Remove the prefixed topology after the module."""
    yield
    broker_sim.stop()

    async def drop() -> None:
        connection = await aio_pika.connect(AMQP_URL)
        ch = await connection.channel()
        for queue in (REQUESTS, f"{PREFIX}labour.requests.dead"):
            await ch.queue_delete(queue)
        for exchange in ("labour.dlx", "labour.events"):
            await ch.exchange_delete(f"{PREFIX}{exchange}")
        await connection.close()

    asyncio.run(drop())


async def request(
    ch: AbstractChannel,
    reply: AbstractQueue,
    kind: str,
    body: dict[str, Any],
    key: str,
    within: float = 10.0,
) -> tuple[str, dict[str, Any]]:
    """Publish one request and wait for its reply; return (correlation_id, body)."""
    correlation_id = uuid.uuid4().hex
    await ch.default_exchange.publish(
        aio_pika.Message(
            json.dumps(body).encode(),
            correlation_id=correlation_id,
            reply_to=reply.name,
            type=kind,
            headers={"idempotency-key": key},
            content_type="application/json",
        ),
        routing_key=REQUESTS,
    )
    message = await next_message(reply, within)
    assert message.correlation_id == correlation_id
    return correlation_id, json.loads(message.body)


async def next_message(
    queue: AbstractQueue, within: float = 10.0
) -> aio_pika.abc.AbstractIncomingMessage:
    """Wait for the next message on ``queue``."""
    async with asyncio.timeout(within):
        async with queue.iterator() as it:
            async for message in it:
                await message.ack()
                return message
    raise AssertionError("queue iterator ended")


EMPLOYER = {
    "registration_number": "BR-2019-004211",
    "employer_name": "Golden Dragon Kitchen Ltd",
    "staff_count": 14,
}


async def test_request_reply_idempotent_with_event(
    channel: AbstractChannel, sim: SimProcess
) -> None:
    """Register twice with one key: same reply, applied once, one employer.registered event."""
    reply = await channel.declare_queue(exclusive=True)
    events = await channel.declare_queue(exclusive=True)
    exchange = await channel.get_exchange(f"{PREFIX}labour.events")
    await events.bind(exchange, routing_key="employer.registered")
    _, first = await request(channel, reply, "labour.register_employer", EMPLOYER, "amqp-1")
    _, second = await request(channel, reply, "labour.register_employer", EMPLOYER, "amqp-1")
    assert first == second
    assert first["status"] == "registered"
    assert first["employer_number"] == "EMP-2019-004211"
    assert first["review_required"] is True
    event = json.loads((await next_message(events)).body)
    assert (event["event"], event["idempotency_key"]) == ("employer.registered", "amqp-1")
    await asyncio.sleep(0.3)
    assert await events.get(fail=False) is None
    entry = sim.ledger_entry("amqp-1")
    assert entry is not None
    assert (entry["applied"], entry["received"], entry["capability"]) == (
        1,
        2,
        "labour.register_employer",
    )
    _, moved = await request(
        channel,
        reply,
        "labour.update_employer_address",
        {
            "registration_number": "BR-2019-004211",
            "new_address": "200 High Street",
            "parcel_id": "P-0042-200",
        },
        "amqp-2",
    )
    assert (moved["status"], moved["address"]) == ("updated", "200 High Street")


async def test_error_replies(channel: AbstractChannel, sim: SimProcess) -> None:
    """error_rate=1 → error reply and nothing applied; invalid body → error reply."""
    reply = await channel.declare_queue(exclusive=True)
    sim.set_faults(error_rate=1.0)
    _, body = await request(channel, reply, "labour.register_employer", EMPLOYER, "amqp-err")
    assert body["error"]["code"] == "unavailable"
    assert body["error"]["retryable"] is True
    assert sim.ledger_entry("amqp-err") is None
    sim.set_faults()
    _, invalid = await request(
        channel, reply, "labour.register_employer", {"registration_number": "x"}, "amqp-bad"
    )
    assert invalid["error"]["code"] == "invalid"
    _, missing = await request(
        channel,
        reply,
        "labour.update_employer_address",
        {"registration_number": "BR-2020-000001", "new_address": "x"},
        "amqp-404",
    )
    assert missing["error"]["code"] == "not_found"


async def test_a_dropped_reply_is_applied_and_replayed(
    channel: AbstractChannel, sim: SimProcess
) -> None:
    """drop_reply_rate=1: the request is applied but no reply comes; the repeat gets the
    stored reply (the chaos suite's lost AMQP answer, issue 18)."""
    reply = await channel.declare_queue(exclusive=True)
    sim.set_faults(drop_reply_rate=1.0)
    try:
        with pytest.raises(TimeoutError):
            await request(channel, reply, "labour.register_employer", EMPLOYER, "amqp-drop", 2.0)
        entry = sim.ledger_entry("amqp-drop")
        assert entry is not None
        assert (entry["applied"], entry["received"]) == (1, 1)
    finally:
        sim.set_faults()
    _, body = await request(channel, reply, "labour.register_employer", EMPLOYER, "amqp-drop")
    assert (body["status"], body["employer_number"]) == ("registered", "EMP-2019-004211")
    entry = sim.ledger_entry("amqp-drop")
    assert entry is not None
    assert (entry["applied"], entry["received"]) == (1, 2)


async def test_malformed_message_dead_lettered(channel: AbstractChannel) -> None:
    """Bad JSON and an unknown type are rejected into labour.requests.dead."""
    dead = await channel.get_queue(f"{PREFIX}labour.requests.dead")
    await dead.purge()
    for body, kind in ((b"{not json", "labour.register_employer"), (b"{}", "labour.fly")):
        await channel.default_exchange.publish(
            aio_pika.Message(body, type=kind, headers={"idempotency-key": "dl"}),
            routing_key=REQUESTS,
        )
        message = await next_message(dead)
        assert message.body == body
        assert message.headers["x-death"]


def test_rest_twin_shares_ledger(sim: SimProcess) -> None:
    """The REST twin replays the same ledger; missing key → 400."""
    sim.reset()
    url = f"{sim.url}/api/v1/employers"
    small = {**EMPLOYER, "staff_count": 4}
    first = httpx.post(url, json=small, headers={"Idempotency-Key": "rest-1"})
    again = httpx.post(url, json=small, headers={"Idempotency-Key": "rest-1"})
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert first.json()["review_required"] is False
    assert httpx.post(url, json=small).status_code == 400
    change = httpx.post(
        f"{url}/BR-2019-004211/address-changes",
        json={"new_address": "1 Quay Side"},
        headers={"Idempotency-Key": "rest-2"},
    )
    assert change.json()["address"] == "1 Quay Side"
    entry = sim.ledger_entry("rest-1")
    assert entry is not None
    assert (entry["applied"], entry["received"]) == (1, 2)
    sim.set_faults(error_rate=1.0)
    assert httpx.post(url, json=small, headers={"Idempotency-Key": "rest-3"}).status_code == 503
    assert sim.ledger_entry("rest-3") is None
    sim.set_faults()


def test_rest_only_without_amqp(tmp_path: Path) -> None:
    """Without --amqp-url only the REST twin runs (embedded profile); no broker needed."""
    proc = start_sim("labour", tmp_path, env={"SIM_LABOUR_AMQP_URL": ""})
    try:
        assert httpx.get(f"{proc.url}/_sim/amqp").json()["enabled"] is False
        resp = httpx.post(
            f"{proc.url}/api/v1/employers",
            json={**EMPLOYER, "staff_count": 11},
            headers={"Idempotency-Key": "embedded-1"},
        )
        assert resp.json()["review_required"] is True
        assert httpx.get(f"{proc.url}/api/v1/employers/BR-2021-000666").status_code == 200
    finally:
        proc.stop()
