"""The worker relays the outbox: real RabbitMQ delivery, lease take-over, retries."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import aio_pika
from sqlalchemy import select

from civicloom.kernel import FixedClock
from civicloom.outbox import CloudEvent, EventType, OutboxMessage, claim_due, enqueue_event
from civicloom.outbox.tables import OutboxRow
from civicloom.runtime import Container
from civicloom.worker import AmqpPublisher, Worker
from tests.conftest import AMQP_URL, unavailable
from tests.wiring import reconfigure

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


async def _enqueue(container: Container, n: int) -> None:
    async with container.uow() as uow:
        for i in range(n):
            event = CloudEvent(
                type=EventType.TASK_CREATED,
                source="urn:test",
                subject=f"s{i}",
                time=T0,
                data={"i": i},
            )
            await enqueue_event(uow.session, event, key=f"test:{i}")
        # the same key twice is one message
        await enqueue_event(uow.session, event, key=f"test:{n - 1}")
        await uow.commit()


class FailingPublisher:
    """A publisher whose broker is down."""

    async def publish(self, message: OutboxMessage) -> None:
        raise ConnectionError("broker down")

    async def close(self) -> None:
        return None


async def test_events_reach_rabbitmq_exactly_once(container: Container) -> None:
    exchange_name = f"civicloom.test.{uuid.uuid4().hex[:8]}"
    try:
        connection = await aio_pika.connect(AMQP_URL, timeout=5)
    except (OSError, aio_pika.exceptions.AMQPConnectionError) as exc:
        unavailable("RabbitMQ", exc)
        raise
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(exchange, routing_key="civicloom.#")
        await _enqueue(container, 3)
        container.clock = FixedClock(T0 + timedelta(seconds=1))
        worker = Worker(container, AmqpPublisher(AMQP_URL, exchange_name), worker_id="w1")
        assert await worker.run_once() == 3
        assert await worker.run_once() == 0
        await worker.publisher.close()

        received = []
        for _ in range(3):
            message = await queue.get(timeout=5, fail=True)
            assert message is not None
            await message.ack()
            received.append(json.loads(message.body))
        assert sorted(e["data"]["i"] for e in received) == [0, 1, 2]
        assert all(e["specversion"] == "1.0" for e in received)
        assert await queue.get(timeout=1, fail=False) is None
        await exchange.delete()

    async with container.uow() as uow:
        rows = list(await uow.session.scalars(select(OutboxRow)))
    assert all(r.dispatched_at is not None for r in rows)


async def test_expired_lease_is_taken_over(container: Container) -> None:
    await _enqueue(container, 1)
    lease = timedelta(seconds=30)
    async with container.uow() as uow:
        first = await claim_due(uow.session, "dead-worker", T0, 10, lease)
        await uow.commit()
    assert len(first) == 1
    async with container.uow() as uow:
        assert await claim_due(uow.session, "w2", T0 + timedelta(seconds=5), 10, lease) == []
        await uow.commit()
    async with container.uow() as uow:
        again = await claim_due(uow.session, "w2", T0 + timedelta(seconds=31), 10, lease)
        await uow.commit()
    assert [m.id for m in again] == [first[0].id]
    assert again[0].attempts == 2


async def test_failed_delivery_is_retried_later_not_lost(container: Container) -> None:
    await _enqueue(container, 1)
    clock = FixedClock(T0)
    container.clock = clock
    worker = Worker(container, FailingPublisher(), worker_id="w1")
    assert await worker.run_once() == 1
    assert await worker.run_once() == 0  # backed off: not due yet
    async with container.uow() as uow:
        row = (await uow.session.scalars(select(OutboxRow))).one()
    assert row.dispatched_at is None
    assert row.dead_at is None
    assert row.last_error is not None
    assert "broker down" in row.last_error
    assert row.available_at > T0
    clock.advance(timedelta(minutes=11))
    assert await worker.run_once() == 1  # due again


async def test_worker_loop_heartbeats_and_stops(container: Container) -> None:
    worker = Worker(container, FailingPublisher(), worker_id="loop-worker")
    task = asyncio.create_task(worker.run())
    from civicloom.worker.tables import WorkerHeartbeatRow

    deadline = asyncio.get_running_loop().time() + 10
    seen = False
    while asyncio.get_running_loop().time() < deadline and not seen:
        async with container.uow() as uow:
            seen = await uow.session.get(WorkerHeartbeatRow, "loop-worker") is not None
        if not seen:
            await asyncio.sleep(0.05)
    assert seen
    worker.stop()
    await asyncio.wait_for(task, timeout=10)
    container.database.engine.sync_engine.dispose()  # worker disposed the pool on exit
    async with container.uow() as uow:
        assert await uow.session.get(WorkerHeartbeatRow, "loop-worker") is None


async def test_nothing_due_means_nothing_claimed(container: Container) -> None:
    await _enqueue(container, 2)
    container.clock = FixedClock(T0 - timedelta(seconds=1))  # written "in the future"
    worker = Worker(container, FailingPublisher(), worker_id="idle")
    assert await worker.run_once() == 0


async def test_a_worker_serves_its_own_metrics(container: Container) -> None:
    import socket

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    reconfigure(container, container.settings.model_copy(update={"worker_metrics_port": port}))
    worker = Worker(container, FailingPublisher(), worker_id="metrics-worker")
    task = asyncio.create_task(worker.run())
    try:
        deadline = asyncio.get_running_loop().time() + 10
        text = ""
        async with httpx.AsyncClient() as client:
            while asyncio.get_running_loop().time() < deadline:
                try:
                    text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
        assert "civicloom_outbox_lag_seconds" in text
    finally:
        worker.stop()
        await asyncio.wait_for(task, timeout=10)
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # closed with the worker


async def test_a_workers_metrics_port_answers_only_the_scraper(container: Container) -> None:
    """ADR 0062: a worker's own metrics port is guarded like the API's /metrics: without the
    token, or with a wrong one, a caller gets 403 and no figure."""
    import socket

    import httpx
    from pydantic import SecretStr

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    token = "scraper-token-0123456789abcdef"
    update = {"worker_metrics_port": port, "metrics_token": SecretStr(token)}
    reconfigure(container, container.settings.model_copy(update=update))
    worker = Worker(container, FailingPublisher(), worker_id="guarded-metrics-worker")
    task = asyncio.create_task(worker.run())
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        deadline = asyncio.get_running_loop().time() + 10
        async with httpx.AsyncClient() as client:
            while True:
                try:
                    anonymous = await client.get(url)
                    break
                except httpx.TransportError:
                    assert asyncio.get_running_loop().time() < deadline, "no metrics port"
                    await asyncio.sleep(0.05)
            forged = await client.get(url, headers={"Authorization": "Bearer not-the-token"})
            scraper = await client.get(url, headers={"Authorization": f"Bearer {token}"})
        assert anonymous.status_code == 403
        assert "civicloom_" not in anonymous.text
        assert forged.status_code == 403
        assert "civicloom_" not in forged.text
        assert scraper.status_code == 200
        assert "civicloom_outbox_lag_seconds" in scraper.text
    finally:
        worker.stop()
        await asyncio.wait_for(task, timeout=10)


async def test_a_background_job_does_not_hold_up_the_loop_and_never_runs_twice_at_once(
    container: Container,
) -> None:
    # A KPI report at a million applications takes minutes (ADR 0082): run in the loop, it
    # would stop steps and heartbeats until it ended (attack review).
    from civicloom.worker import PeriodicJob

    started, release, cancelled, five = [], asyncio.Event(), asyncio.Event(), asyncio.Event()
    quick_runs = 0

    async def slow() -> None:
        started.append(1)
        try:
            await release.wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def quick() -> None:
        nonlocal quick_runs
        quick_runs += 1
        if quick_runs == 5:
            five.set()

    worker = Worker(
        container,
        FailingPublisher(),
        worker_id="background-worker",
        periodic=[PeriodicJob("slow", 0, slow, background=True), PeriodicJob("quick", 0, quick)],
    )
    task = asyncio.create_task(worker.run())
    await asyncio.wait_for(five.wait(), timeout=20)  # the loop went round 5 times meanwhile

    assert started == [1]  # and did not start it again while it ran
    worker.stop()
    await asyncio.wait_for(task, timeout=10)
    assert cancelled.is_set()  # stopping the worker stops it too
