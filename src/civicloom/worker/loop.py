"""The worker loop for ``civicloom worker``: claims due work from the database and carries it out.

Each cycle: run due case-engine steps, collect late department answers (batch files),
relay the outbox, and now and then sweep SLAs and write a heartbeat. On PostgreSQL the
loop sleeps on ``LISTEN civicloom_work`` and wakes on ``NOTIFY``; the poll interval is the
fallback (and the only mechanism on SQLite).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import delete

from civicloom.applications import (
    NOTIFY_CHANNEL,
    StepRunner,
    sweep_review_deadlines,
    sweep_slas,
)
from civicloom.db import libpq_dsn
from civicloom.departments import CAPABILITY_GATEWAY
from civicloom.observability import get_logger
from civicloom.outbox import (
    OutboxMessage,
    Publisher,
    claim_due,
    mark_dispatched,
    mark_failed,
    oldest_pending_age,
    postpone,
    renew_lease,
)
from civicloom.runtime import Container
from civicloom.web.metrics_access import serve_metrics
from civicloom.worker.domain import ConnectorReport
from civicloom.worker.services import opened_elsewhere, record_connector_reports
from civicloom.worker.tables import WorkerHeartbeatRow

log = get_logger(__name__)
# In-process work (e.g. notification deliveries): handed to subscribers, never published.
INTERNAL_PREFIX = "internal."
# Called with each dispatched message after publishing; may answer seconds to wait and retry.
Subscriber = Callable[[OutboxMessage], Awaitable[float | None]]

Sleep = Callable[[float], Awaitable[object]]
"""Paces the outbox lease heartbeat (``asyncio.sleep``; tests tick it by hand)."""

Collector = Callable[[], Awaitable[int]]
"""Hands late department answers (batch files) to the engine; answers how many it handed."""


@dataclass(frozen=True)
class PeriodicJob:
    """Work a worker does every ``every_seconds`` (SLA sweeps, audit seals, retention purges).

    Jobs must be safe when several workers run them at about the same time.
    """

    name: str
    every_seconds: float
    run: Callable[[], Awaitable[object]]
    background: bool = False
    """Run beside the loop (an asyncio task, at most one at a time) instead of in it: for a job
    that may take minutes (a KPI report at a million applications), so steps, heartbeats and
    the other jobs go on between its awaits (attack review, ADR 0082)."""


HEARTBEAT_SECONDS = 5.0
PROBE_SECONDS = 60.0
"""How often a worker runs its connectors' health probes (the operator page reads the result,
never probes itself: ADR 0062)."""
PROBE_TIMEOUT = 10.0
SLA_SWEEP_SECONDS = 30.0


def _gist(report: ConnectorReport) -> tuple[object, ...]:
    # What makes a report worth writing again (an open breaker's countdown alone does not).
    return (
        report.breaker_state,
        report.consecutive_failures,
        report.healthy,
        report.detail,
        report.checked_at,
    )


def _closer(server: Any, thread: Any) -> Callable[[], Awaitable[None]]:
    async def close() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return close


class Worker:
    """One worker process: many can run against one PostgreSQL; SQLite has a single writer."""

    def __init__(
        self,
        container: Container,
        publisher: Publisher,
        worker_id: str | None = None,
        runner: StepRunner | None = None,
        collectors: Sequence[Collector] = (),
        resources: Sequence[Callable[[], Awaitable[None]]] = (),
        periodic: Sequence[PeriodicJob] = (),
        subscribers: Sequence[Subscriber] = (),
        sleep: Sleep | None = None,
    ) -> None:
        self.container = container
        self.sleep: Sleep = sleep or asyncio.sleep
        self.subscribers = list(subscribers)
        self.publisher = publisher
        self.runner = runner
        self.collectors = list(collectors)
        self.resources = list(resources)
        self.periodic = [PeriodicJob("sla-sweep", SLA_SWEEP_SECONDS, self._sweep_slas), *periodic]
        self._last_run: dict[str, float] = {}
        self._background: dict[str, asyncio.Task[None]] = {}
        self._probed_at = -1e18
        self._probes: dict[str, ConnectorReport] = {}
        self._reported: dict[str, tuple[object, ...]] = {}
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}"
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._listener: Any = None

    def stop(self) -> None:
        """Ask the loop to finish its current batch and exit."""
        self._stop.set()
        self._wake.set()

    async def run_once(self) -> int:
        """One cycle of every kind of work; returns how many items were handled."""
        handled = 0
        if self.runner is not None:
            handled += await self.runner.run_once(self.worker_id)
        for collect in self.collectors:
            handled += await collect()
        handled += await self.relay_outbox()
        return handled

    async def relay_outbox(self) -> int:
        """Claim and dispatch one batch of due outbox messages.

        Each message has its own lease (ADR 0045): a message whose turn comes late in the batch
        is renewed first and skipped if another relay took it over; while it is published and
        handed to subscribers a heartbeat renews it every third of the lease; and its outcome
        is recorded only in the lease round this relay claimed (``attempts`` fences it)."""
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

    async def _renew(self, message: OutboxMessage) -> bool:
        """Extend this relay's lease on ``message``; False if it was lost."""
        lease = timedelta(seconds=self.container.settings.worker_lease_seconds)
        async with self.container.uow() as uow:
            held = await renew_lease(
                uow.session, message, self.worker_id, self.container.clock.now(), lease
            )
            await uow.commit()
        return held

    async def _keep_lease(self, message: OutboxMessage) -> None:
        """Renew the lease every third of it while ``message`` is being delivered."""
        every = self.container.settings.worker_lease_seconds / 3
        while True:
            await self.sleep(every)
            try:
                if not await self._renew(message):
                    log.warning("outbox_lease_lost_in_flight", message_id=message.id)
                    return
            except Exception as exc:  # the database is away: the next beat tries again
                log.warning("outbox_lease_renewal_failed", error=type(exc).__name__)

    async def _dispatch(self, message: OutboxMessage) -> None:
        clock = self.container.clock
        lease = self.container.settings.worker_lease_seconds
        late = (
            message.lease_until is None
            or clock.now() + timedelta(seconds=lease / 3) >= message.lease_until
        )
        if late and not await self._renew(message):
            # Its lease ran out while earlier messages of the batch were delivered and another
            # relay claimed it: that relay delivers it, not this one.
            log.info("outbox_lease_lost_before_dispatch", message_id=message.id)
            return
        beat = asyncio.create_task(self._keep_lease(message))
        try:
            await self._deliver(message)
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat

    async def _deliver(self, message: OutboxMessage) -> None:
        clock, metrics = self.container.clock, self.container.metrics
        delay: float | None = None
        try:
            if not message.topic.startswith(INTERNAL_PREFIX):
                await self.publisher.publish(message)
            for subscriber in self.subscribers:
                wanted = await subscriber(message)
                delay = max(delay or 0.0, wanted or 0.0) or None
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
        if delay:  # a subscriber is rate-limited: try again later, not counted as an attempt
            async with self.container.uow() as uow:
                await postpone(
                    uow.session,
                    message,
                    self.worker_id,
                    clock.now() + timedelta(seconds=delay),
                )
                await uow.commit()
            return
        async with self.container.uow() as uow:
            marked = await mark_dispatched(uow.session, message, self.worker_id, clock.now())
            await uow.commit()
        if not marked:  # the lease was lost meanwhile: the round's new owner records it
            log.warning("outbox_lease_lost_after_dispatch", message_id=message.id)
            return
        metrics.outbox_dispatched.labels(message.topic, "ok").inc()

    async def _probe(self, gateway: Any, now: datetime) -> None:
        """Run the connectors' health probes, bounded in time, outside any transaction."""
        check_all = getattr(gateway, "check_all", None)
        if check_all is None:
            return
        try:
            found = list(await asyncio.wait_for(check_all(), PROBE_TIMEOUT))
        except Exception as exc:  # a probe that hangs or breaks says the same: unknown health
            log.warning("connector_probe_failed", error=type(exc).__name__)
            found = []
            for department, old in self._probes.items():
                self._probes[department] = replace(
                    old, healthy=False, detail="the probe did not answer", checked_at=now
                )
        for report in found:
            self._probes[report.department] = ConnectorReport(
                department=report.department,
                breaker_state="closed",
                consecutive_failures=0,
                kind=report.kind,
                healthy=report.healthy,
                detail=report.detail,
                latency_ms=report.latency_ms,
                checked_at=now,
            )

    async def connector_reports(self, now: datetime, probe: bool) -> list[ConnectorReport]:
        """This worker's breakers (in memory) with its last probes (run now if ``probe``)."""
        gateway = self.container.find(CAPABILITY_GATEWAY)
        if gateway is None:
            return []
        if probe:
            await self._probe(gateway, now)
        breakers = {b.department: b for b in getattr(gateway, "breaker_states", list)()}
        reports = []
        for department in sorted(set(breakers) | set(self._probes)):
            base = self._probes.get(department) or ConnectorReport(department, "closed", 0)
            breaker = breakers.get(department)
            if breaker is not None:
                retry = breaker.retry_in_seconds
                base = replace(
                    base,
                    breaker_state=str(breaker.state),
                    consecutive_failures=breaker.consecutive_failures,
                    retry_at=now + timedelta(seconds=retry) if retry is not None else None,
                )
            reports.append(base)
        return reports

    async def heartbeat(self) -> None:
        """Record that this worker is alive (the operator screen lists heartbeats), with what
        it knows of the departments' systems when that changed (ADR 0062)."""
        now = self.container.clock.now()
        loop_now = asyncio.get_running_loop().time()
        probe = loop_now - self._probed_at >= PROBE_SECONDS
        if probe:
            self._probed_at = loop_now
        reports = await self.connector_reports(now, probe)
        changed = [r for r in reports if self._reported.get(r.department) != _gist(r)]
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
            await record_connector_reports(uow.session, self.worker_id, now, changed)
            elsewhere = await opened_elsewhere(uow.session, self.worker_id, now)
            await uow.commit()
        self._reported.update({r.department: _gist(r) for r in changed})
        hold_open = getattr(self.container.find(CAPABILITY_GATEWAY), "hold_open", None)
        if hold_open is not None:
            for department, retry_at in elsewhere.items():
                hold_open(department, (retry_at - now).total_seconds())
        self.container.metrics.outbox_lag.set(lag)

    async def _sweep_slas(self) -> object:
        now = self.container.clock.now()
        tasks = await sweep_slas(self.container.uow(), now)
        return tasks, await sweep_review_deadlines(self.container.uow(), now)

    async def _run_periodic(self, now: float) -> None:
        for job in self.periodic:
            if now - self._last_run.get(job.name, -1e18) < job.every_seconds:
                continue
            if job.background:
                running = self._background.get(job.name)
                if running is not None and not running.done():
                    continue  # still at it: the next run starts after this one ends
                self._last_run[job.name] = now
                self._background[job.name] = asyncio.create_task(self._run_job(job))
                continue
            self._last_run[job.name] = now
            await self._run_job(job)

    async def _run_job(self, job: PeriodicJob) -> None:
        try:
            await job.run()
        except Exception as exc:  # one failing job must not stop the others
            log.warning("periodic_job_failed", job=job.name, error=type(exc).__name__)

    async def _listen(self) -> None:
        """Subscribe to NOTIFY on PostgreSQL (best effort: polling still works without it)."""
        if not self.container.database.is_postgresql or self._listener is not None:
            return
        try:
            conn = await asyncpg.connect(libpq_dsn(self.container.database.url), timeout=5)
            await conn.add_listener(NOTIFY_CHANNEL, lambda *_: self._wake.set())
            self._listener = conn
        except (OSError, asyncpg.PostgresError, asyncpg.InternalClientError) as exc:
            # InternalClientError: no host of a failover URL is writable yet (a promotion).
            log.warning("listen_unavailable", error=type(exc).__name__)

    async def _close_listener(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
            self._listener = None

    async def run(self) -> None:
        """Loop until stopped."""
        settings = self.container.settings
        log.info("worker_started", worker_id=self.worker_id)
        if settings.worker_metrics_port:
            server, thread = serve_metrics(  # guarded like the API's /metrics (ADR 0062)
                settings, self.container.metrics.registry, settings.worker_metrics_port
            )
            self.resources.append(_closer(server, thread))
        loop = asyncio.get_running_loop()
        last_beat = -1e9
        try:
            while not self._stop.is_set():
                if self._listener is not None and self._listener.is_closed():
                    self._listener = None
                await self._listen()
                try:
                    if loop.time() - last_beat >= HEARTBEAT_SECONDS:
                        await self.heartbeat()
                        last_beat = loop.time()
                    await self._run_periodic(loop.time())
                    self._wake.clear()
                    handled = await self.run_once()
                except Exception as exc:  # database restarts etc.: log, back off, carry on
                    log.warning(
                        "worker_cycle_failed", error=type(exc).__name__, detail=str(exc)[:200]
                    )
                    await self._close_listener()
                    handled = 0
                    await asyncio.sleep(min(5.0, settings.worker_poll_seconds * 4))
                if handled == 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            self._wake.wait(), timeout=settings.worker_poll_seconds
                        )
        finally:
            for task in self._background.values():
                task.cancel()  # its work is redone by the next run (the jobs are idempotent)
            for task in self._background.values():
                with contextlib.suppress(BaseException):
                    await task
            await self._close_listener()
            with contextlib.suppress(Exception):
                async with self.container.uow() as uow:
                    await uow.session.execute(
                        delete(WorkerHeartbeatRow).where(
                            WorkerHeartbeatRow.worker_id == self.worker_id
                        )
                    )
                    await uow.commit()
            await self.publisher.close()
            for close in self.resources:
                with contextlib.suppress(Exception):
                    await close()
            await self.container.database.dispose()
            log.info("worker_stopped", worker_id=self.worker_id)
