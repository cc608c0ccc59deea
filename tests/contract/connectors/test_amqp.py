"""AMQP connector on the real RabbitMQ against the labour simulator: request/reply, events,
error replies, timeouts and dead-lettering."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import aio_pika
import pytest

from civicloom.connectors import AmqpConnector, build_connectors
from civicloom.departments import (
    CallOutcome,
    CapabilityCall,
    ContractViolation,
    Department,
    PermanentError,
    TransientError,
)
from tests.conftest import AMQP_URL
from tests.contract.connectors.conftest import AMQP_PREFIX, gateway_of, make_settings
from tests.simulators.harness import SimProcess

EMPLOYER = {
    "registration_number": "BR-2019-004211",
    "employer_name": "Golden Dragon Kitchen Ltd",
    "staff_count": 14,
}
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

pytestmark = pytest.mark.rabbitmq


def register(key: str, **extra: Any) -> CapabilityCall:
    """A labour.register_employer call."""
    return CapabilityCall("labour", "labour.register_employer", {**EMPLOYER, **extra}, key)


@pytest.fixture
def sim(labour_sim: SimProcess) -> SimProcess:
    """A reset labour simulator on RabbitMQ."""
    labour_sim.reset()
    return labour_sim


@pytest.fixture
def registry(sim: SimProcess, registry_factory: Any, tmp_path: Path) -> Any:
    """A registry whose labour connector speaks AMQP (a broker is configured)."""
    return registry_factory(make_settings(tmp_path, amqp=True), {"labour": sim.url})


async def test_request_reply_exactly_once_with_event(registry: Any, sim: SimProcess) -> None:
    """Same key twice: one effect, the same reply, one employer.registered event."""
    connector = registry.connector("labour")
    assert isinstance(connector, AmqpConnector)
    events: list[dict[str, Any]] = []

    async def on_event(body: dict[str, Any]) -> None:
        events.append(body)

    await connector.subscribe("employer.registered", on_event)
    gateway = gateway_of(registry)
    first = await gateway.call(
        CapabilityCall(
            "labour", "labour.register_employer", EMPLOYER, "amqp-1", traceparent=TRACEPARENT
        )
    )
    second = await gateway.call(register("amqp-1"))
    assert first.outcome is CallOutcome.COMPLETED
    assert first.output == second.output
    assert (first.output["employer_number"], first.output["review_required"]) == (
        "EMP-2019-004211",
        True,
    )
    assert first.external_reference == "EMP-2019-004211"
    entry = sim.ledger_entry("amqp-1")
    assert entry is not None
    assert (entry["applied"], entry["received"]) == (1, 2)
    deadline = time.monotonic() + 5
    while not events:
        assert time.monotonic() < deadline, "no employer.registered event"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)
    assert [e["idempotency_key"] for e in events] == ["amqp-1"]
    report = next(r for r in await gateway.check_all() if r.department == "labour")
    assert report.healthy is True
    assert "consumer" in report.detail


async def test_error_replies(registry: Any, sim: SimProcess) -> None:
    """unavailable → TransientError; not_found → PermanentError; malformed → ContractViolation."""
    gateway = gateway_of(registry)
    sim.set_faults(error_rate=1.0)
    with pytest.raises(TransientError, match="unavailable"):
        await gateway.call(register("amqp-err"))
    assert sim.ledger_entry("amqp-err") is None
    sim.set_faults(malformed_rate=1.0)
    with pytest.raises(ContractViolation, match="employer_number"):
        await gateway.call(register("amqp-bad"))
    sim.set_faults()
    move = {"registration_number": "BR-2020-000001", "new_address": "1 Nowhere Lane"}
    with pytest.raises(PermanentError, match="not_found"):
        await gateway.call(
            CapabilityCall("labour", "labour.update_employer_address", move, "a-404")
        )


async def test_no_reply_is_transient(
    sim: SimProcess, registry_factory: Any, tmp_path: Path
) -> None:
    """A department that does not answer in time → TransientError; its late reply is dropped."""
    registry = registry_factory(
        make_settings(tmp_path, amqp=True), {"labour": sim.url}, labour={"timeout_seconds": 0.4}
    )
    sim.set_faults(timeout_rate=1.0, timeout_ms=800)
    with pytest.raises(TransientError, match="no reply"):
        await gateway_of(registry).call(register("amqp-slow"))
    sim.set_faults()
    result = await gateway_of(registry).call(register("amqp-after"))
    assert result.output["status"] == "registered"


async def test_unknown_operation_is_dead_lettered(
    sim: SimProcess, departments: list[Department], registry_factory: Any, tmp_path: Path
) -> None:
    """A message the department cannot read goes to labour.requests.dead; we time out safely."""
    connection = await aio_pika.connect(AMQP_URL)
    channel = await connection.channel()
    dead = await channel.get_queue(f"{AMQP_PREFIX}labour.requests.dead")
    await dead.purge()
    registry = registry_factory(
        make_settings(tmp_path, amqp=True), {"labour": sim.url}, labour={"timeout_seconds": 0.5}
    )
    connector = registry.connector("labour")
    connector.bindings["labour.register_employer"] = connector.bindings[
        "labour.register_employer"
    ].model_copy(update={"type": "labour.fly"})
    with pytest.raises(TransientError, match="no reply"):
        await connector.call(register("amqp-dead"))
    deadline = time.monotonic() + 5
    message = await dead.get(fail=False)
    while message is None:
        assert time.monotonic() < deadline, "nothing dead-lettered"
        await asyncio.sleep(0.05)
        message = await dead.get(fail=False)
    await message.ack()
    assert message.type == "labour.fly"
    assert message.headers["idempotency-key"] == "amqp-dead"
    await connection.close()


async def test_broker_unreachable_is_transient(
    departments: list[Department], registry_factory: Any, tmp_path: Path
) -> None:
    """Wrong broker address → TransientError and an unhealthy probe."""
    settings = make_settings(tmp_path, amqp=True).model_copy(
        update={"amqp_url": "amqp://guest:guest@127.0.0.1:1/"}
    )
    registry = registry_factory(settings, {})
    with pytest.raises(TransientError, match="broker unreachable"):
        await gateway_of(registry).call(register("amqp-nobroker"))
    report = next(r for r in await registry.check_all() if r.department == "labour")
    assert report.healthy is False


async def test_a_run_prefix_keeps_runs_on_one_rabbitmq_apart(
    sim: SimProcess, departments: list[Department], tmp_path: Path
) -> None:
    """``amqp_queue_prefix`` (CIVICLOOM_AMQP_QUEUE_PREFIX, used by tests/system and
    tests/durability) names this run's queues: the department of this run answers a platform
    with its prefix, and never sees a request of a platform with another run's prefix."""
    other_prefix = f"other-{uuid.uuid4().hex[:8]}."
    ours = build_connectors(
        departments,
        make_settings(tmp_path / "ours", amqp=True, amqp_queue_prefix=AMQP_PREFIX),
        {"labour": sim.url},
        overrides={"labour": {"timeout_seconds": 3}},
    )
    other = build_connectors(
        departments,
        make_settings(tmp_path / "other", amqp=True, amqp_queue_prefix=other_prefix),
        {"labour": sim.url},
        overrides={"labour": {"timeout_seconds": 0.4}},
    )
    try:
        result = await gateway_of(ours).call(register("amqp-run-ours"))
        assert result.output["status"] == "registered"
        with pytest.raises(TransientError, match="no reply"):
            await gateway_of(other).call(register("amqp-run-other"))
        assert sim.ledger_entry("amqp-run-other") is None
    finally:
        await ours.close()
        await other.close()
        connection = await aio_pika.connect(AMQP_URL)
        async with connection:
            channel = await connection.channel()
            for queue in ("labour.requests", "labour.requests.dead"):
                await channel.queue_delete(other_prefix + queue)
            for exchange in ("labour.dlx", "labour.events"):
                await channel.exchange_delete(other_prefix + exchange)
