"""Shared fixtures of the GovStack facade tests: the listener app in-process, machine clients.

- ``gs_client``: an httpx client of ``create_govstack_app`` (the facades at the root, as the
  ``--govstack-port`` listener serves them) around the test's container (demo world loaded).
- ``machine_key``: registers a machine client and returns its key,
  ``await machine_key("messaging:send", department="tax")``.
- ``count_rows``: how many rows a table holds, ``await count_rows(DeliveryRow)``.
- ``audit_actions``: the audit entries' actions in order, optionally only those of a prefix.
- ``keys``, ``receiver``, ``worker``: the IM pub/sub world (``pubsub_world.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from civicloom.audit.tables import AuditEntryRow
from civicloom.govstack import create_govstack_app
from civicloom.identity import create_api_key
from civicloom.runtime import Container
from civicloom.worker import Worker
from tests.integration.govstack.pubsub_world import Keys, Receiver, make_keys, make_worker

MachineKey = Callable[..., Awaitable[str]]
CountRows = Callable[[Any], Awaitable[int]]
AuditActions = Callable[..., Awaitable[list[str]]]


@pytest.fixture
async def gs_client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the GovStack listener app in-process (real ASGI stack, real database)."""
    app = create_govstack_app(container, own_container=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def machine_key(container: Container) -> MachineKey:
    """Register a machine client with scopes; its API key."""

    async def issue(*scopes: str, department: str = "tax", name: str = "") -> str:
        issued = await create_api_key(
            container.uow(),
            container.clock,
            name=name or f"{department}-system",
            department=department,
            scopes=list(scopes),
        )
        return issued.key

    return issue


@pytest.fixture
def count_rows(container: Container) -> CountRows:
    """How many rows a table (its ORM row class) holds."""

    async def count(table: Any) -> int:
        async with container.uow() as uow:
            return int(await uow.session.scalar(select(func.count()).select_from(table)) or 0)

    return count


@pytest.fixture
def audit_actions(container: Container) -> AuditActions:
    """The audit entries' actions in the order written (those starting with ``prefix``)."""

    async def actions(prefix: str = "") -> list[str]:
        async with container.uow() as uow:
            rows = await uow.session.scalars(
                select(AuditEntryRow.action)
                .where(AuditEntryRow.action.startswith(prefix))
                .order_by(AuditEntryRow.seq)
            )
            return list(rows)

    return actions


@pytest.fixture
async def keys(container: Container) -> Keys:
    """The pub/sub room's client, an allowed subscriber, another client, one without scopes."""
    return await make_keys(container)


@pytest.fixture
async def receiver() -> Receiver:
    """A pub/sub subscriber's endpoint in-process."""
    return Receiver()


@pytest.fixture
async def worker(container: Container, receiver: Receiver) -> AsyncIterator[Worker]:
    """The worker's outbox relay with the pub/sub deliverer posting to ``receiver``."""
    async for worker in make_worker(container, receiver):
        yield worker
