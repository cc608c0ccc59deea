"""Health, readiness, metrics, request ids and problem types."""

from __future__ import annotations

import asyncio
import json
from ipaddress import ip_network

import httpx
import pytest
from pydantic import SecretStr

from civicloom.app import create_app
from civicloom.bootstrap import build_container
from civicloom.settings import Profile, Settings
from tests.conftest import AMQP_URL


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok"}


async def test_readyz_is_503_when_the_database_is_unreachable(tmp_path: object) -> None:
    settings = Settings(
        profile=Profile.TEST, database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none"
    )
    app = create_app(build_container(settings))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        response = await c.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"].startswith("unavailable")


async def test_readyz_reports_the_broker_but_stays_ready_without_it(settings: Settings) -> None:
    # No request needs the broker (events wait in the outbox): a broker outage must not take
    # every API host out of the load balancer (ADR 0060, tests/cluster).
    good = create_app(build_container(settings.model_copy(update={"amqp_url": AMQP_URL})))
    bad = create_app(
        build_container(settings.model_copy(update={"amqp_url": "amqp://guest:guest@127.0.0.1:1/"}))
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=good), base_url="http://t") as c:
        ok = await c.get("/readyz")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=bad), base_url="http://t") as c:
        down = await c.get("/readyz")
    assert ok.status_code == 200, ok.text
    assert ok.json()["checks"]["broker"] == "ok"
    assert down.status_code == 200, down.text
    assert down.json()["status"] == "degraded"
    assert down.json()["checks"]["broker"].startswith("unavailable")


async def test_readyz_gives_up_on_a_silent_broker_and_stays_ready(settings: Settings) -> None:
    """A broker that accepts the connection and then says nothing (a hung node) is reported
    as timed out; the database decides readiness (attack review)."""
    silent = await asyncio.start_server(lambda _r, _w: None, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    hung = settings.model_copy(update={"amqp_url": f"amqp://guest:guest@127.0.0.1:{port}/"})
    app = create_app(build_container(hung))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as c:
            answer = await c.get("/readyz")
    finally:
        silent.close()
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "degraded"
    assert answer.json()["checks"]["database"] == "ok"
    assert answer.json()["checks"]["broker"].startswith("unavailable")


async def test_metrics_count_requests_by_route_template(client: httpx.AsyncClient) -> None:
    await client.get("/api/v1/applications/abc", headers={"Authorization": "Bearer dev:alice"})
    text = (await client.get("/metrics")).text
    assert "civicloom_http_requests_total" in text
    assert 'route="/api/v1/applications/{application_id}"' in text
    assert "civicloom_http_request_duration_seconds_bucket" in text


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient) -> None:
    given = await client.get("/healthz", headers={"X-Request-ID": "req-12345678"})
    assert given.headers["x-request-id"] == "req-12345678"
    generated = await client.get("/healthz", headers={"X-Request-ID": "bad id!"})
    assert generated.headers["x-request-id"] != "bad id!"
    assert len(generated.headers["x-request-id"]) == 36


async def test_problem_types_resolve(client: httpx.AsyncClient) -> None:
    missing = await client.get("/nowhere")
    assert missing.status_code == 404
    problem_type = missing.json()["type"]
    described = await client.get(problem_type)
    assert described.status_code == 200
    assert described.json()["title"] == "Not found"
    wrong_method = await client.put("/healthz")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["type"] == "/problems/method-not-allowed"


async def test_rate_limited_requests_say_when_to_retry() -> None:
    from fastapi import FastAPI

    from civicloom.identity.domain import TooManyRequests
    from civicloom.web import install_error_handlers

    app = FastAPI()
    install_error_handlers(app)

    @app.get("/limited")
    async def limited() -> None:
        raise TooManyRequests("slow down", retry_after=7)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        response = await c.get("/limited")
        described = await c.get(response.json()["type"])
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert described.status_code == 200


async def test_each_request_is_logged_with_its_trace_id(
    client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    await client.get(
        "/api/v1/applications/some-id?email=alice@example.org",
        headers={
            "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01",
            "Authorization": "Bearer dev:alice",
        },
    )
    lines = [
        json.loads(line)
        for line in capsys.readouterr().err.splitlines()
        if line.startswith("{") and '"http_request"' in line
    ]
    assert lines, "no request log line"
    line = lines[-1]
    assert line["trace_id"] == trace_id
    assert line["route"] == "/api/v1/applications/{application_id}"
    assert line["status"] == 404
    assert "alice@example.org" not in json.dumps(line)


def _metrics_client(settings: Settings, peer: str) -> httpx.AsyncClient:
    app = create_app(build_container(settings))
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://t")


METRICS_TOKEN = "scrape-" + "s" * 30


async def test_metrics_are_refused_to_everyone_but_the_scraper(settings: Settings) -> None:
    """With a token: no token, a wrong token or another scheme gets 403 problem+json, from any
    address (the loopback included); the scraper's token reads the figures."""
    guarded = settings.model_copy(update={"metrics_token": SecretStr(METRICS_TOKEN)})
    async with _metrics_client(guarded, "127.0.0.1") as c:
        refused = [
            (await c.get("/metrics", headers=h)).status_code
            for h in (
                {},
                {"Authorization": "Bearer scrape-wrong"},
                {"Authorization": f"Basic {METRICS_TOKEN}"},
                {"Authorization": "Bearer dev:alice"},
            )
        ]
        assert refused == [403, 403, 403, 403]
        problem = await c.get("/metrics")
        assert problem.headers["content-type"] == "application/problem+json"
        assert problem.json()["type"] == "/problems/forbidden"
        ok = await c.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert ok.status_code == 200
    assert "civicloom_http_requests_total" in ok.text


async def test_metrics_by_network_believe_only_trusted_proxies(settings: Settings) -> None:
    """From the monitoring network: allowed; from elsewhere, even forging X-Forwarded-For with
    a monitoring address: refused; through a trusted proxy, the forwarded client counts."""
    by_network = settings.model_copy(
        update={
            "metrics_networks": [ip_network("10.0.5.0/24")],
            "trusted_proxies": [ip_network("10.0.0.2")],
        }
    )
    async with _metrics_client(by_network, "10.0.5.9") as monitoring:
        assert (await monitoring.get("/metrics")).status_code == 200
    async with _metrics_client(by_network, "198.51.100.7") as outsider:
        assert (await outsider.get("/metrics")).status_code == 403
        forged = await outsider.get("/metrics", headers={"X-Forwarded-For": "10.0.5.9"})
        assert forged.status_code == 403
    async with _metrics_client(by_network, "10.0.0.2") as proxy:
        via = [
            (await proxy.get("/metrics", headers={"X-Forwarded-For": xff})).status_code
            for xff in ("10.0.5.9", "198.51.100.7", "10.0.5.9, 198.51.100.7")
        ]
        assert via == [200, 403, 403]


async def test_metrics_without_configuration_answer_this_machine_only(settings: Settings) -> None:
    async with _metrics_client(settings, "198.51.100.7") as outsider:
        assert (await outsider.get("/metrics")).status_code == 403
    async with _metrics_client(settings, "127.0.0.1") as local:
        assert (await local.get("/metrics")).status_code == 200
