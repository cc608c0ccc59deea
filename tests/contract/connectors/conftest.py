"""The four department simulators as real processes, and registries built against them."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest

from civicloom.connectors import ConnectorGateway, ConnectorRegistry, build_connectors
from civicloom.departments import Department, load_departments
from civicloom.settings import PROJECT_ROOT, Profile, Settings
from tests.conftest import AMQP_URL, unavailable
from tests.simulators.harness import SimProcess, start_sim, wait_for

CALLBACK_SECRET = "contract-test-callback-secret"
BATCH_SECRET = "contract-test-batch-secret"
AMQP_PREFIX = f"ct-{uuid.uuid4().hex[:8]}."


@pytest.fixture(scope="session")
def departments() -> list[Department]:
    """The demo departments with their connector and capability sections."""
    return load_departments(PROJECT_ROOT / "blueprints")


@pytest.fixture(scope="session")
def sim_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Logs and data of the simulators."""
    return tmp_path_factory.mktemp("sims")


@pytest.fixture(scope="session")
def exchange_dir(sim_workdir: Path) -> Path:
    """The local-admin batch exchange directory shared with the simulator."""
    path = sim_workdir / "exchange" / "local-admin"
    path.mkdir(parents=True)
    return path


def _started(sim: SimProcess) -> Iterator[SimProcess]:
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture(scope="session")
def tax_sim(sim_workdir: Path) -> Iterator[SimProcess]:
    """The tax REST simulator."""
    yield from _started(start_sim("tax", sim_workdir))


@pytest.fixture(scope="session")
def local_admin_sim(sim_workdir: Path, exchange_dir: Path) -> Iterator[SimProcess]:
    """The local-admin SOAP + batch simulator, polling the exchange every 0.1 s."""
    yield from _started(
        start_sim(
            "local_admin",
            sim_workdir,
            "--exchange-dir",
            str(exchange_dir),
            "--batch-interval",
            "0.1",
            "--batch-secret",
            BATCH_SECRET,
        )
    )


@pytest.fixture(scope="session")
def environment_sim(sim_workdir: Path) -> Iterator[SimProcess]:
    """The environment simulator calling back after 100 ms."""
    yield from _started(
        start_sim(
            "environment",
            sim_workdir,
            "--callback-secret",
            CALLBACK_SECRET,
            "--callback-delay-ms",
            "100",
        )
    )


async def _rabbit_ok() -> BaseException | None:
    try:
        connection = await aio_pika.connect(AMQP_URL, timeout=3)
    except Exception as exc:
        return exc
    await connection.close()
    return None


@pytest.fixture(scope="session")
def labour_sim(sim_workdir: Path) -> Iterator[SimProcess]:
    """The labour simulator consuming prefixed queues on the real RabbitMQ."""
    problem = asyncio.run(_rabbit_ok())
    if problem is not None:
        unavailable("RabbitMQ", problem)
    sim = start_sim(
        "labour",
        sim_workdir,
        "--amqp-url",
        AMQP_URL,
        env={"SIM_LABOUR_AMQP_PREFIX": AMQP_PREFIX},
    )
    wait_for(lambda: httpx.get(f"{sim.url}/_sim/amqp").json()["connected"], timeout=15)
    try:
        yield sim
    finally:
        sim.stop()
        asyncio.run(_drop_topology())


async def _drop_topology() -> None:
    connection = await aio_pika.connect(AMQP_URL)
    channel = await connection.channel()
    for queue in ("labour.requests", "labour.requests.dead"):
        await channel.queue_delete(AMQP_PREFIX + queue)
    for exchange in ("labour.dlx", "labour.events"):
        await channel.exchange_delete(AMQP_PREFIX + exchange)
    await connection.close()


def make_settings(tmp_path: Path, *, amqp: bool = False, **extra: Any) -> Settings:
    """Test settings; the callback and batch secrets are the ones the simulators sign with."""
    secrets = {
        "environment.callback": CALLBACK_SECRET,
        "local-admin.batch": BATCH_SECRET,
        **extra.pop("connector_secrets", {}),
    }
    return Settings(
        profile=Profile.TEST,
        var_dir=tmp_path / "var",
        amqp_url=AMQP_URL if amqp else "",
        connector_secrets=secrets,
        public_url="http://127.0.0.1:9",
        **extra,
    )


def make_registry(
    departments: list[Department],
    settings: Settings,
    urls: dict[str, str],
    **overrides: dict[str, Any],
) -> ConnectorRegistry:
    """A fresh registry with quick retries (tests should not wait for production back-offs)."""
    fast = {"retries": 1, "backoff_seconds": 0.01, "timeout_seconds": 3}
    merged: dict[str, dict[str, Any]] = {
        "tax": dict(fast),
        "environment": dict(fast),
        "labour": {"timeout_seconds": 3}
        if settings.amqp_url
        else {"retries": 1, "backoff_seconds": 0.01},
    }
    if settings.amqp_url:
        merged["labour"]["queue_prefix"] = AMQP_PREFIX
    for key, value in overrides.items():
        merged[key.replace("__", ":").replace("_", "-")] = {
            **merged.get(key.replace("__", ":").replace("_", "-"), {}),
            **value,
        }
    return build_connectors(departments, settings, urls, overrides=merged)


@pytest.fixture
async def registry_factory(
    departments: list[Department],
) -> AsyncIterator[Any]:
    """Build registries (closed after the test)."""
    built: list[ConnectorRegistry] = []

    def factory(settings: Settings, urls: dict[str, str], **overrides: Any) -> ConnectorRegistry:
        registry = make_registry(departments, settings, urls, **overrides)
        built.append(registry)
        return registry

    yield factory
    for registry in built:
        await registry.close()


def gateway_of(registry: ConnectorRegistry, **kwargs: Any) -> ConnectorGateway:
    """A gateway over a registry."""
    return ConnectorGateway(registry, **kwargs)


IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
