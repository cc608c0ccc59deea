"""The worker loop for ``civicloom worker``: claims due work from the database and carries it out.

Today the worker relays the outbox (CloudEvents to RabbitMQ or the log) and keeps a
heartbeat; the case engine adds its step handlers here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from datetime import timedelta

from sqlalchemy import delete

from civicloom.observability import get_logger
from civicloom.outbox import (
    OutboxMessage,
    Publisher,
    claim_due,
    mark_dispatched,
    mark_failed,
    oldest_pending_age,
)
from civicloom.runtime import Container
from civicloom.worker.tables import WorkerHeartbeatRow

log = get_logger(__name__)


class Worker:
    """One worker process: many can run against one PostgreSQL; SQLite has a single writer."""

    def __init__(
        self, container: Container, publisher: Publisher, worker_id: str | None = None
    ) -> None:
        self.container = container
        self.publisher = publisher
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}"
        self._stop = asyncio.Event()

    def stop(self) -> None:
        """Ask the loop to finish its current batch and exit."""
        self._stop.set()

    async def run_once(self) -> int:
        """Claim and dispatch one batch of due outbox messages; returns how many were handled."""
        settings, clock = self.container.settings, self.container.clock
        async with self.container.uow() as uow:
            messages = await claim_due(
                uow.session,
                self.worker_id,
                clock.now(),
                settings.worker_batch_size,
                timedelta(seconds=settings.worker_lease_seconds),
            )
            await uow.commit()
        for message in messages:
            await self._dispatch(message)
        return len(messages)

    async def _dispatch(self, message: OutboxMessage) -> None:
        clock, metrics = self.container.clock, self.container.metrics
        try:
            await self.publisher.publish(message)
        except Exception as exc:
            async with self.container.uow() as uow:
                dead = await mark_failed(
                    uow.session, message, self.worker_id, clock.now(), repr(exc)
                )
                await uow.commit()
            metrics.outbox_dispatched.labels(message.topic, "dead" if dead else "retry").inc()
            log.warning(
                "outbox_dispatch_failed",
                message_id=message.id,
                topic=message.topic,
                attempts=message.attempts,
                dead=dead,
                error=type(exc).__name__,
            )
            return
        async with self.container.uow() as uow:
            await mark_dispatched(uow.session, message.id, self.worker_id, clock.now())
            await uow.commit()
        metrics.outbox_dispatched.labels(message.topic, "ok").inc()

    async def heartbeat(self) -> None:
        """Record that this worker is alive (the operator screen lists heartbeats)."""
        now = self.container.clock.now()
        async with self.container.uow() as uow:
            row = await uow.session.get(WorkerHeartbeatRow, self.worker_id)
            if row is None:
                uow.session.add(
                    WorkerHeartbeatRow(
                        worker_id=self.worker_id,
                        host=socket.gethostname(),
                        pid=os.getpid(),
                        started_at=now,
                        seen_at=now,
                    )
                )
            else:
                row.seen_at = now
            lag = await oldest_pending_age(uow.session, now)
            await uow.commit()
        self.container.metrics.outbox_lag.set(lag)

    async def run(self) -> None:
        """Loop until stopped: heartbeat, claim, dispatch; poll when idle."""
        settings = self.container.settings
        log.info("worker_started", worker_id=self.worker_id)
        beat_every = 5.0
        loop = asyncio.get_running_loop()
        last_beat = 0.0
        try:
            while not self._stop.is_set():
                if loop.time() - last_beat >= beat_every:
                    await self.heartbeat()
                    last_beat = loop.time()
                try:
                    handled = await self.run_once()
                except Exception as exc:  # database restarts etc.: log, back off, carry on
                    log.warning("worker_cycle_failed", error=type(exc).__name__)
                    handled = 0
                    await asyncio.sleep(min(5.0, settings.worker_poll_seconds * 4))
                if handled == 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            self._stop.wait(), timeout=settings.worker_poll_seconds
                        )
        finally:
            async with self.container.uow() as uow:
                await uow.session.execute(
                    delete(WorkerHeartbeatRow).where(WorkerHeartbeatRow.worker_id == self.worker_id)
                )
                await uow.commit()
            await self.publisher.close()
            await self.container.database.dispose()
            log.info("worker_stopped", worker_id=self.worker_id)
