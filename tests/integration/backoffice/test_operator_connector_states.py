"""The operator page shows the workers' circuit breakers and connector probes, read from the
database; a page view probes nothing (ADR 0062).

Two workers report through their heartbeats (each with its own gateway: real breakers, a probe
that counts its calls); the API process's gateway counts too, and must stay at zero."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
from sqlalchemy import select

from civicloom.connectors.breaker import BreakerSnapshot, CircuitBreaker
from civicloom.departments import CAPABILITY_GATEWAY, HealthReport
from civicloom.kernel import FixedClock
from civicloom.outbox import OutboxMessage
from civicloom.runtime import Container
from civicloom.worker import Worker
from civicloom.worker.tables import WorkerConnectorStateRow
from tests.conftest import as_persona

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Idle:
    """A publisher nothing is sent through in these tests."""

    async def publish(self, message: OutboxMessage) -> None:
        raise AssertionError("nothing is published here")

    async def close(self) -> None:
        return None


class Gateway:
    """Real breakers for tax and labour, and a probe that counts its calls."""

    def __init__(self, tax_healthy: bool = True) -> None:
        self.breakers = {d: CircuitBreaker(d, threshold=2) for d in ("labour", "tax")}
        self.tax_healthy = tax_healthy
        self.probes = 0

    def hold_open(self, department: str, seconds: float) -> None:
        self.breakers[department].hold_open(seconds)

    def breaker_states(self) -> list[BreakerSnapshot]:
        return [b.snapshot() for _, b in sorted(self.breakers.items())]

    async def check_all(self) -> list[HealthReport]:
        self.probes += 1
        tax = "ok" if self.tax_healthy else "connection refused"
        return [
            HealthReport("labour", "amqp", True, "ok", 3.0),
            HealthReport("tax", "rest", self.tax_healthy, tax, 12.0),
        ]


def _row(page: str, department: str) -> str:
    start = page.index(f'data-department="{department}"')
    return page[start : page.index("</tr>", start)]


async def _beat(container: Container, worker: Worker, gateway: Gateway) -> None:
    container.provide(CAPABILITY_GATEWAY, cast(Any, gateway))  # the worker process's own
    await worker.heartbeat()


async def test_the_page_shows_every_live_workers_breakers_and_probes_nothing(
    container: Container, client: httpx.AsyncClient
) -> None:
    clock = FixedClock(T0)
    container.clock = clock
    first, second = Gateway(), Gateway(tax_healthy=False)
    first.breakers["tax"].record_failure()
    first.breakers["tax"].record_failure()  # open on the first worker only
    w1 = Worker(container, Idle(), worker_id="worker-host-a")
    w2 = Worker(container, Idle(), worker_id="worker-host-b")
    await _beat(container, w1, first)
    clock.advance(timedelta(seconds=10))
    await _beat(container, w2, second)  # the later probe: tax refuses connections

    api = Gateway()
    container.provide(CAPABILITY_GATEWAY, cast(Any, api))
    page = await client.get("/backoffice/operations", headers=as_persona("priya"))
    assert page.status_code == 200
    assert api.probes == 0  # the page read the workers' reports; it called no department
    assert [first.probes, second.probes] == [1, 1]
    tax = _row(page.text, "tax")
    assert "Open: calls are held back" in tax
    assert "on 1 of 2 workers, 2 failures in a row" in tax
    assert "Unhealthy" in tax
    assert "connection refused" in tax
    labour = _row(page.text, "labour")
    assert "Closed: calls go out" in labour
    assert "on all 2 workers" in labour
    assert "Healthy" in labour

    # Worker A falls silent; B beats on: only B counts now (it holds tax open because A
    # opened it, without failures of its own).
    clock.advance(timedelta(seconds=61))
    await _beat(container, w2, second)
    later = _row(
        (await client.get("/backoffice/operations", headers=as_persona("priya"))).text, "tax"
    )
    assert "on 1 of 1 workers" in later
    assert "failures in a row" not in later
    assert api.probes == 0


async def test_a_heartbeat_writes_only_what_changed(container: Container) -> None:
    clock = FixedClock(T0)
    container.clock = clock
    gateway = Gateway()
    worker = Worker(container, Idle(), worker_id="worker-host-a")
    await _beat(container, worker, gateway)
    clock.advance(timedelta(seconds=5))
    await _beat(container, worker, gateway)  # nothing changed: the rows keep their time
    gateway.breakers["labour"].record_failure()
    clock.advance(timedelta(seconds=5))
    await _beat(container, worker, gateway)
    async with container.uow() as uow:
        rows = list(
            await uow.session.scalars(
                select(WorkerConnectorStateRow).order_by(WorkerConnectorStateRow.department)
            )
        )
    assert [(r.department, r.consecutive_failures, r.reported_at) for r in rows] == [
        ("labour", 1, T0 + timedelta(seconds=10)),
        ("tax", 0, T0),
    ]
    assert gateway.probes == 1  # one probe a minute, not one per heartbeat


async def test_a_breaker_opened_on_one_worker_holds_the_others_without_ping_pong(
    container: Container,
) -> None:
    clock = FixedClock(T0)
    container.clock = clock
    a, b = Gateway(), Gateway()
    w1 = Worker(container, Idle(), worker_id="worker-host-a")
    w2 = Worker(container, Idle(), worker_id="worker-host-b")
    await _beat(container, w2, b)
    a.breakers["tax"].record_failure()
    a.breakers["tax"].record_failure()
    await _beat(container, w1, a)  # A reports tax open after two failures
    await _beat(container, w2, b)  # B reads it and holds its own breaker open
    assert b.breakers["tax"].allow() is False
    assert b.breakers["labour"].allow() is True
    held = b.breakers["tax"].snapshot()
    assert (held.state, held.consecutive_failures) == ("open", 0)
    # A's trial call succeeds: A closes; B's held breaker (no failures of its own) must not
    # send A back to open.
    a.breakers["tax"].record_success()
    await _beat(container, w2, b)
    await _beat(container, w1, a)
    assert a.breakers["tax"].allow() is True


async def test_only_operators_see_the_connectors(client: httpx.AsyncClient) -> None:
    for persona in ("alice", "grace"):
        page = await client.get("/backoffice/operations", headers=as_persona(persona))
        assert page.status_code == 403, persona
