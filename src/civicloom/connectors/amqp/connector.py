"""A message-based department system: request/reply and events over RabbitMQ (aio-pika)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractConnection,
    AbstractIncomingMessage,
    AbstractQueue,
)
from pydantic import Field

from civicloom.connectors.base import (
    ConnectorContext,
    PluginOptions,
    Stopwatch,
    health,
    log,
    log_exchange,
    traceparent_of,
)
from civicloom.departments import (
    CallOutcome,
    CapabilityCall,
    CapabilityResult,
    CompletionVerdict,
    ContractViolation,
    ExternalCompletion,
    HealthReport,
    PermanentError,
    TransientError,
)

EventHandler = Callable[[dict[str, Any]], Awaitable[None]]
CompletionSink = Callable[[ExternalCompletion], Awaitable[object]]
TRANSIENT_CODES = frozenset({"unavailable", "timeout", "internal"})


class AmqpOptions(PluginOptions):
    """Typed options of the AMQP connector (broker URL from settings, never from YAML)."""

    queue_prefix: str = Field("", description="Prefix of every queue/exchange name (tests).")
    request_queue: str = "requests"
    dead_letter_exchange: str | None = Field(None, description="x-dead-letter-exchange of it.")
    dead_letter_queue: str | None = None
    events_exchange: str | None = Field(None, description="Topic exchange of the events.")
    timeout_seconds: float = Field(10.0, gt=0)
    event_completions: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Events that answer an accepted call: routing key → capability, e.g. "
            "`inspection.done: labour.workplace_review`. The event's `idempotency_key` names "
            "the call; the rest of its body is the capability's output."
        ),
    )
    event_queue: str = Field(
        "platform", description="Durable queue (after `<events_exchange>.`) the workers share."
    )
    declare_topology: bool = Field(True, description="Declare the durable queues (idempotent).")
    event_retry_seconds: float = Field(
        2.0,
        gt=0,
        description=(
            "How long an event is held before it goes back on the queue when the engine refused "
            "it only because its step is about to call again (its wait timed out)."
        ),
    )


class AmqpBinding(PluginOptions):
    """How one capability maps onto a request message."""

    type: str = Field(description="AMQP `type` property naming the operation.")
    reference_field: str | None = None


class AmqpConnector:
    """Request/reply with correlation ids, an exclusive reply queue and publisher confirms."""

    kind: str = "amqp"

    def __init__(self, ctx: ConnectorContext) -> None:
        self.ctx = ctx
        self.department = ctx.department
        self.options = ctx.options(AmqpOptions)
        self.url = ctx.settings.amqp_url
        if not self.url:
            raise PermanentError(f"{ctx.department}: AMQP connector needs CIVICLOOM_AMQP_URL")
        self.bindings = {
            name: AmqpBinding.model_validate(cap.binding("amqp"))
            for name, cap in ctx.capabilities.items()
            if cap.binding("amqp")
        }
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._reply_queue: AbstractQueue | None = None
        self._pending: dict[str, asyncio.Future[bytes]] = {}
        self._lock = asyncio.Lock()
        self._event_channel: AbstractChannel | None = None

    def name(self, base: str) -> str:
        """A queue or exchange name with the configured prefix."""
        return f"{self.options.queue_prefix or self.ctx.settings.amqp_queue_prefix}{base}"

    async def _ensure(self) -> tuple[AbstractChannel, AbstractQueue]:
        async with self._lock:
            if (
                self._channel is not None
                and not self._channel.is_closed
                and self._reply_queue is not None
            ):
                return self._channel, self._reply_queue
            await self._drop()
            self._connection = await aio_pika.connect(self.url, timeout=5)
            channel = await self._connection.channel(publisher_confirms=True)
            if self.options.declare_topology:
                await self._declare(channel)
            reply = await channel.declare_queue(exclusive=True, auto_delete=True)
            await reply.consume(self._on_reply, no_ack=True)
            self._channel, self._reply_queue = channel, reply
            return channel, reply

    async def _declare(self, channel: AbstractChannel) -> None:
        opts = self.options
        arguments: dict[str, Any] = {}
        if opts.dead_letter_exchange:
            dlx = await channel.declare_exchange(
                self.name(opts.dead_letter_exchange), aio_pika.ExchangeType.FANOUT, durable=True
            )
            arguments["x-dead-letter-exchange"] = self.name(opts.dead_letter_exchange)
            if opts.dead_letter_queue:
                dead = await channel.declare_queue(self.name(opts.dead_letter_queue), durable=True)
                await dead.bind(dlx)
        await channel.declare_queue(
            self.name(opts.request_queue), durable=True, arguments=arguments
        )

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        self._channel = self._reply_queue = None
        if connection is not None and not connection.is_closed:
            await connection.close()

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        future = self._pending.get(message.correlation_id or "")
        if future is None or future.done():
            log.info("amqp_late_reply_dropped", department=self.department)
            return
        future.set_result(message.body)

    async def call(self, call: CapabilityCall) -> CapabilityResult:
        """Publish the request (confirmed) and wait for the correlated reply."""
        self.ctx.capability(call)
        binding = self.bindings.get(call.capability)
        if binding is None:
            raise PermanentError(f"{call.capability} has no amqp binding")
        timeout = min(self.options.timeout_seconds, call.timeout_seconds)
        watch = Stopwatch()
        body = json.dumps(call.input).encode()
        try:
            channel, reply_queue = await self._ensure()
        except (OSError, aio_pika.exceptions.AMQPError, TimeoutError) as exc:
            raise TransientError(f"{self.department}: broker unreachable: {exc!r}") from exc
        correlation_id = uuid.uuid4().hex
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[correlation_id] = future
        headers: dict[str, Any] = {"idempotency-key": call.idempotency_key}
        traceparent = traceparent_of(call)
        if traceparent:
            headers["traceparent"] = traceparent
        message = aio_pika.Message(
            body,
            content_type="application/json",
            correlation_id=correlation_id,
            reply_to=reply_queue.name,
            type=binding.type,
            headers=headers,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            expiration=timeout,  # an unanswered request expires into the dead-letter queue
        )
        try:
            try:
                await channel.default_exchange.publish(
                    message,
                    routing_key=self.name(self.options.request_queue),
                    mandatory=True,
                    timeout=timeout,
                )
            except Exception as exc:  # nack, unroutable, closed channel: not delivered
                await self._reset()
                log_exchange(
                    call,
                    self.kind,
                    outcome="transient",
                    elapsed_ms=watch.ms,
                    request=body,
                    error=type(exc).__name__,
                )
                raise TransientError(f"{self.department}: publish failed: {exc!r}") from exc
            try:
                raw = await asyncio.wait_for(future, timeout)
            except TimeoutError as exc:
                log_exchange(
                    call,
                    self.kind,
                    outcome="transient",
                    elapsed_ms=watch.ms,
                    request=body,
                    error="no reply",
                )
                raise TransientError(f"{self.department}: no reply within {timeout}s") from exc
        finally:
            self._pending.pop(correlation_id, None)
        return self._result(call, binding, body, raw, watch)

    async def _reset(self) -> None:
        async with self._lock:
            await self._drop()

    def _result(
        self, call: CapabilityCall, binding: AmqpBinding, body: bytes, raw: bytes, watch: Stopwatch
    ) -> CapabilityResult:
        try:
            reply = json.loads(raw)
        except ValueError:
            reply = None
        if not isinstance(reply, dict):
            log_exchange(
                call,
                self.kind,
                outcome="contract_violation",
                elapsed_ms=watch.ms,
                request=body,
                response=raw,
            )
            raise ContractViolation(f"{call.capability}: the reply is not a JSON object")
        error = reply.get("error")
        if isinstance(error, dict):
            code = str(error.get("code", "unknown"))
            transient = bool(error.get("retryable")) or code in TRANSIENT_CODES
            log_exchange(
                call,
                self.kind,
                outcome="transient" if transient else "refused",
                elapsed_ms=watch.ms,
                request=body,
                response=raw,
                code=code,
            )
            kind = TransientError if transient else PermanentError
            raise kind(f"{self.department} error reply {code}: {error.get('message', '')}")
        log_exchange(
            call, self.kind, outcome="completed", elapsed_ms=watch.ms, request=body, response=raw
        )
        ref = reply.get(binding.reference_field) if binding.reference_field else None
        return CapabilityResult(
            outcome=CallOutcome.COMPLETED,
            output=reply,
            external_reference=str(ref) if ref is not None else None,
        )

    async def subscribe(self, binding_key: str, handler: EventHandler) -> AbstractQueue:
        """Receive the department's events matching ``binding_key`` on an exclusive queue."""
        if not self.options.events_exchange:
            raise PermanentError(f"{self.department} publishes no events")
        channel, _ = await self._ensure()
        exchange = await channel.declare_exchange(
            self.name(self.options.events_exchange), aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key=binding_key)

        async def on_event(message: AbstractIncomingMessage) -> None:
            async with message.process(requeue=False):
                body = json.loads(message.body)
                if isinstance(body, dict):
                    await handler(body)

        await queue.consume(on_event)
        return queue

    async def listen_for_completions(self, handler: CompletionSink) -> bool:
        """Consume the department's completion events (``event_completions``) from a durable
        queue all workers share; returns whether a consumer is (now) running.

        Each event is handed to ``handler`` (the engine's ``complete_external_step``) and
        acknowledged only after it returns, so an event is recorded before it is acknowledged;
        a handler failure puts it back for another try. An event that is not JSON naming an
        idempotency key is rejected (the broker dead-letters it where configured). Safe to
        call every cycle: a consumer lost with its connection is started again.
        """
        opts = self.options
        if not opts.events_exchange or not opts.event_completions:
            return False
        if self._event_channel is not None and not self._event_channel.is_closed:
            return True
        channel, _ = await self._ensure()
        exchange = await channel.declare_exchange(
            self.name(opts.events_exchange), aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(
            self.name(f"{opts.events_exchange}.{opts.event_queue}"), durable=True
        )
        for routing_key in sorted(opts.event_completions):
            await queue.bind(exchange, routing_key=routing_key)

        async def on_event(message: AbstractIncomingMessage) -> None:
            capability = opts.event_completions.get(message.routing_key or "")
            completion = self._event_completion(message.body, capability)
            if completion is None:
                log.warning(
                    "amqp_event_rejected", department=self.department, key=message.routing_key
                )
                await message.reject(requeue=False)
                return
            try:
                verdict = await handler(completion)
            except PermanentError as exc:  # breaks the capability's contract: never takeable
                log.warning("amqp_event_rejected", department=self.department, error=str(exc)[:200])
                await message.reject(requeue=False)
                return
            except Exception as exc:
                log.warning(
                    "amqp_event_not_recorded",
                    department=self.department,
                    error=type(exc).__name__,
                )
                await message.nack(requeue=True)
                return
            if isinstance(verdict, CompletionVerdict) and verdict.waits_again:
                # The step timed out and calls again under this key; the department sends its
                # event once: keep it for the step's next wait instead of acknowledging it.
                await asyncio.sleep(opts.event_retry_seconds)
                await message.nack(requeue=True)
                return
            await message.ack()

        await queue.consume(on_event)
        self._event_channel = channel
        return True

    def _event_completion(self, body: bytes, capability: str | None) -> ExternalCompletion | None:
        if capability is None:
            return None
        try:
            data = json.loads(body)
        except ValueError:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("idempotency_key"), str):
            return None
        key = data.pop("idempotency_key")
        data.pop("occurred_at", None)
        return ExternalCompletion(key, data, self.department, capability=capability)

    async def check(self) -> HealthReport:
        """Connect and passively inspect the request queue: healthy when someone consumes it."""
        watch = Stopwatch()
        try:
            await self._ensure()
            assert self._connection is not None
            probe = await self._connection.channel()
            try:
                queue = await probe.declare_queue(
                    self.name(self.options.request_queue), passive=True
                )
                result = queue.declaration_result
                consumers = int(result.consumer_count or 0)
                waiting = int(result.message_count or 0)
            finally:
                if not probe.is_closed:
                    await probe.close()
        except Exception as exc:
            await self._reset()
            return health(self.department, self.kind, False, type(exc).__name__, watch)
        detail = f"{consumers} consumer(s), {waiting} waiting"
        return health(self.department, self.kind, consumers > 0, detail, watch)

    async def close(self) -> None:
        """Close the broker connection; pending calls fail as transient."""
        for future in self._pending.values():
            if not future.done():
                future.set_exception(TransientError("connector closed"))
        await self._reset()
