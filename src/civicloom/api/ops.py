"""Operational endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from civicloom.identity import Forbidden
from civicloom.settings import Settings
from civicloom.web import ContainerDep
from civicloom.web.metrics_access import metrics_caller_allowed

ops_router = APIRouter(include_in_schema=False)


@ops_router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


READY_DATABASE_SECONDS = 4.0
READY_BROKER_SECONDS = 1.5


async def _check_broker(url: str) -> None:
    import aio_pika

    connection = await aio_pika.connect(url, timeout=READY_BROKER_SECONDS)
    await connection.close()


@ops_router.get("/readyz")
async def readyz(container: ContainerDep) -> JSONResponse:
    """Ready when the database answers (503 otherwise). The broker, when configured, is
    checked and reported but does not decide: no request needs it (events wait in the outbox
    until it is back), and a broker outage would otherwise take every API host out of the
    load balancer at once (ADR 0060)."""
    checks: dict[str, str] = {}

    async def check(name: str, probe: Awaitable[None], seconds: float) -> None:
        try:
            await asyncio.wait_for(probe, timeout=seconds)
            checks[name] = "ok"
        except Exception as exc:
            checks[name] = f"unavailable: {type(exc).__name__}"

    # side by side, and the broker's answer bounded tighter: the load balancer's check gives
    # up after 5 s, so a slow database plus a broker dropping packets must not add up to that
    # on every host at once (attack review)
    probes = [check("database", container.database.ping(), READY_DATABASE_SECONDS)]
    if container.settings.amqp_url:
        broker = _check_broker(container.settings.amqp_url)
        probes.append(check("broker", broker, READY_BROKER_SECONDS))
    await asyncio.gather(*probes)
    ready = checks["database"] == "ok"
    status = "ready" if ready else "not-ready"
    if ready and checks.get("broker", "ok") != "ok":
        status = "degraded"
    return JSONResponse(
        {"status": status, "checks": checks},
        status_code=200 if ready else 503,
    )


def may_read_metrics(request: Request, settings: Settings) -> bool:
    """The scraper holds ``metrics_token``, or calls from ``metrics_networks``; with neither
    configured (only outside production: it refuses to start) this machine alone may read."""
    host = request.client.host if request.client else ""
    return metrics_caller_allowed(settings, request.headers.get("authorization", ""), host)


@ops_router.get("/metrics")
async def metrics(request: Request, container: ContainerDep) -> Response:
    """Prometheus exposition of this process's metrics, for the configured scraper only
    (ADR 0062): the figures name routes, queues and departments' failure counts."""
    if not may_read_metrics(request, container.settings):
        raise Forbidden("the metrics are for the monitoring system (metrics_token or network)")
    return Response(generate_latest(container.metrics.registry), media_type=CONTENT_TYPE_LATEST)
