"""Rate limits are shared by every API process and keyed on the real client (ADR 0062).

Two app objects on one database stand for two API replicas behind a load balancer: they count
into one bucket. ``X-Forwarded-For`` counts only from a trusted proxy; a client that forges it
keeps its own (spent) bucket. The limiters' clocks stand still, so no minute turns mid-test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from ipaddress import ip_network

import httpx
import pytest
from sqlalchemy import func, select

from civicloom.app import create_app
from civicloom.bootstrap import build_container
from civicloom.identity import RateLimiter
from civicloom.identity.tables import RateLimitWindowRow
from civicloom.runtime import Container
from civicloom.settings import Settings
from civicloom.web.session import IDENTITY_RUNTIME

PROXY = "10.0.0.2"
CLIENT = "198.51.100.7"
OTHER = "198.51.100.8"
LOGIN = "/auth/login"  # rate-limited "login" bucket: 10 a minute per client address


@pytest.fixture
async def replicas(settings: Settings) -> AsyncIterator[list[Container]]:
    """Two containers (two API processes) on the same database, proxy 10.0.0.0/24 trusted."""
    trusting = settings.model_copy(update={"trusted_proxies": [ip_network("10.0.0.0/24")]})
    built = [build_container(trusting), build_container(trusting)]
    for container in built:
        runtime = container.get(IDENTITY_RUNTIME)
        still = RateLimiter(container.database, runtime.rate_limiter.limits, now=lambda: 6000.0)
        container.provide(IDENTITY_RUNTIME, replace(runtime, rate_limiter=still))
    yield built
    for container in built:
        await container.close()
        await container.database.dispose()


def _http(container: Container, peer: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(container), client=(peer, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def _statuses(http: httpx.AsyncClient, count: int, **headers: str) -> list[int]:
    return [(await http.get(LOGIN, headers=headers)).status_code for _ in range(count)]


async def test_two_replicas_share_one_bucket(replicas: list[Container]) -> None:
    first, second = replicas
    async with _http(first, CLIENT) as a, _http(second, CLIENT) as b:
        assert await _statuses(a, 6) == [303] * 6
        assert await _statuses(b, 4) == [303] * 4
        refused = await b.get(LOGIN)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "60"
        assert (await a.get(LOGIN)).status_code == 429
    async with first.uow() as uow:
        rows = list(await uow.session.scalars(select(RateLimitWindowRow)))
    assert [(r.bucket, r.window_start, r.hits) for r in rows] == [("login", 6000, 12)]
    assert CLIENT not in rows[0].key  # a digest, never the address


async def test_a_forged_forwarded_for_from_a_client_gets_no_fresh_bucket(
    replicas: list[Container],
) -> None:
    """The attacker connects directly (not through the proxy) and names a new address each time."""
    async with _http(replicas[0], CLIENT) as direct:
        assert await _statuses(direct, 10) == [303] * 10
        forged = [
            (await direct.get(LOGIN, headers={"X-Forwarded-For": f"203.0.113.{n}"})).status_code
            for n in range(1, 4)
        ]
        assert forged == [429, 429, 429]


async def test_through_the_proxy_each_client_has_its_own_bucket(
    replicas: list[Container],
) -> None:
    """Behind the proxy, the right-most untrusted hop is the client; what a client wrote at
    the left of the header (a forged address) is never reached."""
    async with _http(replicas[0], PROXY) as via_proxy, _http(replicas[1], PROXY) as via_other:
        assert await _statuses(via_proxy, 10, **{"X-Forwarded-For": CLIENT}) == [303] * 10
        assert await _statuses(via_other, 1, **{"X-Forwarded-For": CLIENT}) == [429]
        # the spent client forges a fresh address at the left; the proxy appended the real one
        forged = f"203.0.113.9, {CLIENT}"
        assert await _statuses(via_proxy, 1, **{"X-Forwarded-For": forged}) == [429]
        # a chain of trusted proxies is skipped over
        assert await _statuses(via_other, 1, **{"X-Forwarded-For": f"{CLIENT}, 10.0.0.3"}) == [429]
        # another person behind the same proxy is not punished for the first one
        assert await _statuses(via_proxy, 1, **{"X-Forwarded-For": OTHER}) == [303]
    async with replicas[0].uow() as uow:
        buckets = await uow.session.scalar(select(func.count()).select_from(RateLimitWindowRow))
    assert buckets == 2


async def test_finished_windows_are_purged(settings: Settings) -> None:
    container = build_container(settings)
    try:
        times = iter([6000.0, 6001.0, 6130.0])
        limiter = RateLimiter(container.database, {"login": 1}, now=lambda: next(times))
        assert await limiter.take("login", CLIENT) == 0
        assert await limiter.take("login", CLIENT) == 59
        # two minutes later: the old window is gone, the new one starts at one
        assert await limiter.take("login", CLIENT) == 0
        async with container.uow() as uow:
            rows = list(await uow.session.scalars(select(RateLimitWindowRow)))
        assert [(r.window_start, r.hits) for r in rows] == [(6120, 1)]
    finally:
        await container.close()
        await container.database.dispose()
