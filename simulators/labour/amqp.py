"""AMQP request/reply worker over RabbitMQ (aio-pika), with dead-lettering and events."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractRobustConnection,
)

from simulators.labour.register import REGISTER, UPDATE_ADDRESS, LabourError

log = logging.getLogger("simulators.labour.amqp")
Handler = Callable[[str, str, dict[str, Any]], Awaitable[dict[str, Any]]]


class ReplyDropped(Exception):
    """The request was applied but its reply is lost (fault ``drop_reply_rate``)."""


class Names:
    """Queue and exchange names, optionally prefixed (for isolated tests)."""

    def __init__(self, prefix: str = "") -> None:
        """Build the names."""
        self.requests = f"{prefix}labour.requests"
        self.dead = f"{prefix}labour.requests.dead"
        self.dlx = f"{prefix}labour.dlx"
        self.events = f"{prefix}labour.events"


class AmqpWorker:
    """Consumes labour.requests, replies to reply_to, publishes labour.events."""

    def __init__(self, url: str, names: Names, handler: Handler) -> None:
        """Create the worker (call ``run`` to connect)."""
        self.url = url
        self.names = names
        self.handler = handler
        self.connected = False
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._events: AbstractExchange | None = None

    async def run(self) -> None:
        """Connect (retrying until it works) and start consuming."""
        delay = 0.5
        while True:
            try:
                self._connection = await aio_pika.connect_robust(self.url)
                break
            except (OSError, aio_pika.exceptions.AMQPError) as exc:
                log.warning(
                    "AMQP connect failed (%s); retrying in %.1fs", type(exc).__name__, delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        channel = await self._connection.channel(publisher_confirms=True)
        await channel.set_qos(prefetch_count=16)
        dlx = await channel.declare_exchange(
            self.names.dlx, aio_pika.ExchangeType.FANOUT, durable=True
        )
        dead = await channel.declare_queue(self.names.dead, durable=True)
        await dead.bind(dlx)
        self._events = await channel.declare_exchange(
            self.names.events, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(
            self.names.requests,
            durable=True,
            arguments={"x-dead-letter-exchange": self.names.dlx},
        )
        self._channel = channel
        await queue.consume(self._on_message)
        self.connected = True
        log.info("consuming %s", self.names.requests)

    async def close(self) -> None:
        """Close the connection."""
        self.connected = False
        if self._connection is not None:
            await self._connection.close()

    async def publish_event(self, routing_key: str, body: dict[str, Any]) -> None:
        """Publish an event to the labour.events topic exchange (confirmed)."""
        if self._events is None:
            return
        message = aio_pika.Message(
            json.dumps(body).encode(),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            type=routing_key,
        )
        await self._events.publish(message, routing_key=routing_key)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        try:
            body = json.loads(message.body)
            if not isinstance(body, dict) or message.type not in (REGISTER, UPDATE_ADDRESS):
                raise ValueError("unexpected message shape or type")
        except (ValueError, UnicodeDecodeError):
            log.warning("dead-lettering malformed message id=%s", message.message_id)
            await message.reject(requeue=False)
            return
        raw_key = (message.headers or {}).get("idempotency-key")
        key = raw_key.decode() if isinstance(raw_key, bytes) else raw_key
        try:
            if not isinstance(key, str) or not key:
                raise LabourError("missing_idempotency_key", "idempotency-key header required", 400)
            reply = await self.handler(key, str(message.type), body)
        except ReplyDropped:
            log.info("dropping the reply to key=%s (fault)", key)
            await message.ack()
            return
        except LabourError as exc:
            reply = exc.as_reply()
        except Exception:
            log.exception("handler failed")
            reply = LabourError("internal", "internal error", 500).as_reply()
        if message.reply_to and self._channel is not None:
            await self._channel.default_exchange.publish(
                aio_pika.Message(
                    json.dumps(reply).encode(),
                    content_type="application/json",
                    correlation_id=message.correlation_id,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=message.reply_to,
            )
        await message.ack()
