"""Durability tests run the whole platform as processes, on servers of their own (ADR 0045):
restarting "the database" or "the broker" here never touches the shared PostgreSQL and
RabbitMQ other test runs use."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import unavailable
from tests.durability.servers import (
    PrivatePostgres,
    PrivateRabbit,
    ServerUnavailable,
    reap_orphans,
    start_private_postgres,
    start_private_rabbit,
)
from tests.system.platform import Platform, start_platform


@dataclass(frozen=True)
class Servers:
    """This session's own PostgreSQL and RabbitMQ."""

    postgres: PrivatePostgres
    rabbit: PrivateRabbit


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    """Start a PostgreSQL cluster and a RabbitMQ node for the durability tests only (after
    stopping those a hard-killed earlier session left running)."""
    for orphan in reap_orphans():
        print(f"stopped a private server left by a killed test session: {orphan}")
    try:
        postgres = start_private_postgres()
    except (ServerUnavailable, OSError) as exc:
        unavailable("a private PostgreSQL server", exc)
        raise
    try:
        rabbit = start_private_rabbit()
    except (ServerUnavailable, OSError) as exc:
        postgres.destroy()
        unavailable("a private RabbitMQ node", exc)
        raise
    try:
        yield Servers(postgres, rabbit)
    finally:
        rabbit.destroy()
        postgres.destroy()


@pytest.fixture
def platform(tmp_path: Path, servers: Servers) -> Iterator[Platform]:
    """A running platform on the private servers (simulators, API; workers on demand)."""
    yield from start_platform(
        tmp_path, admin_url=servers.postgres.admin_url, amqp_url=servers.rabbit.url
    )
