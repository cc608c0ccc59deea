"""Department events over AMQP (e.g. "review done") answer accepted calls through the same
completion path as callbacks and batch files (issue 18, ADR 0032/0043): the worker consumes
them from a durable queue on the real RabbitMQ and acknowledges an event only after the engine
recorded it.

On the old main ``AmqpConnector.subscribe`` was consumed only by a test: an answer sent as an
event never reached the engine.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import pytest
from sqlalchemy import select

from civicloom.applications import complete_external_step
from civicloom.applications.tables import TaskRow
from civicloom.connectors import AmqpConnector, build_connectors, keep_listening
from civicloom.departments import (
    CallOutcome,
    CapabilityCall,
    CapabilityResult,
    CompletionVerdict,
    ExternalCompletion,
    load_departments,
)
from civicloom.settings import PROJECT_ROOT
from tests.conftest import AMQP_URL, unavailable
from tests.integration.engine.conftest import Engine, later
from tests.integration.engine.conftest import engine as engine

REVIEWED = {
    "status": "registered",
    "registration_number": "BR-2019-004211",
    "employer_number": "EMP-2019-004211",
    "review_required": False,
}


@pytest.fixture
async def labour(engine: Engine) -> AsyncIterator[tuple[Engine, str, AmqpConnector, str]]:
    """A case whose labour registration was accepted and waits for the office's event, and the
    worker's labour connector on this test's own queue names."""
    try:
        probe = await aio_pika.connect(AMQP_URL, timeout=5)
    except Exception as exc:
        unavailable("RabbitMQ", exc)
        raise
    await probe.close()
    prefix = f"ev-{uuid.uuid4().hex[:8]}."
    settings = engine.container.settings.model_copy(
        update={"amqp_url": AMQP_URL, "amqp_queue_prefix": prefix}
    )
    registry = build_connectors(
        load_departments(PROJECT_ROOT / "blueprints"),
        settings,
        {},
        overrides={
            "labour": {"event_completions": {"employer.reviewed": "labour.register_employer"}}
        },
    )
    connector = registry.connector("labour")
    assert isinstance(connector, AmqpConnector)
    inner = engine.departments.gateway()

    class Gateway:
        async def call(self, call: CapabilityCall) -> CapabilityResult:
            if call.capability == "labour.register_employer":
                return CapabilityResult(outcome=CallOutcome.ACCEPTED, external_reference="L-1")
            return await inner.call(call)

    engine.runner.gateway = Gateway()
    app_id = await engine.submit()
    await engine.drain()
    assert (await task(engine, app_id, "labour")).state == "awaiting_external"
    yield engine, app_id, connector, prefix
    await registry.close()
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(f"{prefix}labour.events.platform")
        for name in ("labour.requests", "labour.requests.dead"):
            await channel.queue_delete(prefix + name)
        for name in ("labour.events", "labour.dlx"):
            await channel.exchange_delete(prefix + name)


async def task(engine: Engine, app_id: str, step: str) -> TaskRow:
    async with engine.container.uow() as uow:
        row = await uow.session.scalar(
            select(TaskRow).where(TaskRow.application_id == app_id, TaskRow.step_id == step)
        )
        assert row is not None
        return row


async def publish(prefix: str, routing_key: str, body: dict[str, Any]) -> None:
    """The labour office's system publishes an event (persistent, confirmed)."""
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(
            f"{prefix}labour.events", aio_pika.ExchangeType.TOPIC, durable=True
        )
        await exchange.publish(
            aio_pika.Message(json.dumps(body).encode(), content_type="application/json"),
            routing_key=routing_key,
        )


async def until(check: Any, what: str) -> None:
    deadline = time.monotonic() + 10
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def waiting_in_queue(prefix: str) -> int:
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(f"{prefix}labour.events.platform", passive=True)
        return int(queue.declaration_result.message_count or 0)


async def test_an_event_completes_the_step_and_is_acknowledged_only_after_it_was_recorded(
    labour: tuple[Engine, str, AmqpConnector, str],
) -> None:
    engine, app_id, connector, prefix = labour
    key = (await task(engine, app_id, "labour")).idempotency_key
    seen: list[CompletionVerdict | str] = []

    async def handler(completion: ExternalCompletion) -> CompletionVerdict:
        if not seen:  # the first hand-over dies before the engine recorded anything
            seen.append("died")
            raise ConnectionError("database went away")
        seen.append(await complete_external_step(engine.container, completion))
        return CompletionVerdict()

    assert await keep_listening(connector, handler) == 0
    await publish(prefix, "employer.reviewed", {"idempotency_key": key, **REVIEWED})

    async def done() -> bool:
        return (await task(engine, app_id, "labour")).state == "completed"

    await until(done, "the labour step to complete")
    labour_task = await task(engine, app_id, "labour")
    assert labour_task.output == REVIEWED
    assert seen[0] == "died"
    assert [v.accepted for v in seen[1:] if not isinstance(v, str)] == [True]
    assert await waiting_in_queue(prefix) == 0
    await keep_listening(connector, handler)  # still running: not started twice


async def test_an_event_naming_another_departments_step_is_refused_and_not_retried(
    labour: tuple[Engine, str, AmqpConnector, str],
) -> None:
    engine, app_id, connector, prefix = labour
    zoning_key = (await task(engine, app_id, "zoning")).idempotency_key
    verdicts: list[CompletionVerdict] = []

    async def handler(completion: ExternalCompletion) -> CompletionVerdict:
        verdicts.append(await complete_external_step(engine.container, completion))
        return verdicts[-1]

    await keep_listening(connector, handler)
    await publish(prefix, "employer.reviewed", {"idempotency_key": zoning_key, **REVIEWED})
    await publish(prefix, "employer.reviewed", {"no": "key"})  # unreadable: dead-lettered

    async def refused() -> bool:
        return bool(verdicts)

    await until(refused, "the refusal")

    async def drained() -> bool:
        return await waiting_in_queue(prefix) == 0

    await until(drained, "the queue to drain")
    assert [str(v.refusal) for v in verdicts] == ["wrong-department"]
    assert (await task(engine, app_id, "labour")).state == "awaiting_external"


async def test_an_event_arriving_between_a_timeout_and_the_next_call_is_kept_for_it(
    labour: tuple[Engine, str, AmqpConnector, str],
) -> None:
    """The department sends its event once per key: refused because the step's wait had just
    timed out (``ready`` for its next call), it is put back and taken by the next wait
    (issue 18, ADR 0045). On the old main it was acknowledged and lost; the step called again
    and timed out until it was dead-lettered."""
    engine, app_id, connector, prefix = labour
    connector.options = connector.options.model_copy(update={"event_retry_seconds": 0.2})
    key = (await task(engine, app_id, "labour")).idempotency_key
    later(engine, 49 * 3600)  # past the default 48 h wait
    await engine.runner.expire_waits()
    assert (await task(engine, app_id, "labour")).state == "ready"
    verdicts: list[CompletionVerdict] = []

    async def handler(completion: ExternalCompletion) -> CompletionVerdict:
        verdicts.append(await complete_external_step(engine.container, completion))
        return verdicts[-1]

    await keep_listening(connector, handler)
    await publish(prefix, "employer.reviewed", {"idempotency_key": key, **REVIEWED})

    async def refused() -> bool:
        return bool(verdicts)

    await until(refused, "the refusal")
    assert [(str(v.refusal), v.waits_again) for v in verdicts[:1]] == [("not-waiting", True)]
    later(engine, 60)  # past the retry back-off: the step calls again and waits
    await engine.drain()

    async def done() -> bool:
        return (await task(engine, app_id, "labour")).state == "completed"

    await until(done, "the kept event to complete the step")
    assert (await task(engine, app_id, "labour")).output == REVIEWED

    async def drained() -> bool:
        return await waiting_in_queue(prefix) == 0

    await until(drained, "the queue to drain")
