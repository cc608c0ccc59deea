"""Where the worker sends outbox events: RabbitMQ, or the log in the embedded profile."""

from __future__ import annotations

import json

import aio_pika
from aio_pika.abc import AbstractExchange, AbstractRobustConnection

from civicloom.observability import get_logger
from civicloom.outbox import OutboxMessage

log = get_logger(__name__)


class LogPublisher:
    """Embedded profile: an event is 'published' as a structured log line (no personal data)."""

    async def publish(self, message: OutboxMessage) -> None:
        """Log the event's type and ids."""
        log.info(
            "event_published",
            topic=message.topic,
            event_id=message.payload.get("id"),
            subject=message.payload.get("subject"),
        )

    async def close(self) -> None:
        """Nothing to close."""


class AmqpPublisher:
    """Publishes CloudEvents to a durable RabbitMQ topic exchange with publisher confirms."""

    def __init__(self, url: str, exchange: str) -> None:
        self._url = url
        self._exchange_name = exchange
        self._connection: AbstractRobustConnection | None = None
        self._exchange: AbstractExchange | None = None

    async def _ensure(self) -> AbstractExchange:
        if self._exchange is None:
            self._connection = await aio_pika.connect_robust(self._url, timeout=5)
            channel = await self._connection.channel(publisher_confirms=True)
            self._exchange = await channel.declare_exchange(
                self._exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
            )
        return self._exchange

    async def publish(self, message: OutboxMessage) -> None:
        """Publish one event; the broker's confirm is awaited before the row is marked sent."""
        exchange = await self._ensure()
        await exchange.publish(
            aio_pika.Message(
                body=json.dumps(message.payload).encode(),
                content_type="application/cloudevents+json",
                message_id=message.key,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=message.topic,
        )

    async def close(self) -> None:
        """Close the connection."""
        if self._connection is not None:
            await self._connection.close()
