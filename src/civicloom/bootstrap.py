"""The composition root: the only place adapters are built and wired."""

from __future__ import annotations

from fastapi import FastAPI

from civicloom.app import create_app
from civicloom.db import Database
from civicloom.kernel import SystemClock
from civicloom.observability import METRICS, configure_logging, configure_tracing
from civicloom.outbox import Publisher
from civicloom.runtime import Container
from civicloom.settings import Settings, get_settings
from civicloom.worker import AmqpPublisher, LogPublisher, Worker


def build_container(settings: Settings | None = None, service_name: str = "civicloom") -> Container:
    """Configure logging and tracing and build the container (no connection is opened yet)."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)
    configure_tracing(service_name, settings.otel_exporter.value, settings.otel_endpoint)
    return Container(
        settings=settings,
        database=Database(settings.effective_database_url, settings.db_pool_size),
        clock=SystemClock(),
        metrics=METRICS,
    )


def build_app(settings: Settings | None = None) -> FastAPI:
    """The web application for ``civicloom serve`` and tests."""
    return create_app(build_container(settings, "civicloom-api"))


def build_publisher(settings: Settings) -> Publisher:
    """RabbitMQ when configured, else the structured log."""
    if settings.amqp_url:
        return AmqpPublisher(settings.amqp_url, settings.events_exchange)
    return LogPublisher()


def build_worker(settings: Settings | None = None, worker_id: str | None = None) -> Worker:
    """A worker process's main object."""
    container = build_container(settings, "civicloom-worker")
    return Worker(container, build_publisher(container.settings), worker_id=worker_id)


def uvicorn_app() -> FastAPI:
    """Factory for ``uvicorn --factory civicloom.bootstrap:uvicorn_app``."""
    return build_app()
