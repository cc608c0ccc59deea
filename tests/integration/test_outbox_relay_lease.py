"""The outbox relay holds one lease per message, renews it while delivering, and is fenced by
the claim's round (issue 18, ADR 0045).

On the old main a relay claimed a batch under one lease and delivered it message after message:
a message whose lease ran out while the batch's earlier messages were delivered was taken over
by another relay and published by both; a slow subscriber (a notification being delivered)
lost its lease mid-delivery; and ``mark_dispatched`` checked only the worker id, so a relay
(or a second relay loop with the same id) marked sent a message another round owned.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from civicloom.kernel import FixedClock
from civicloom.outbox import (
    CloudEvent,
    EventType,
    OutboxMessage,
    claim_due,
    enqueue_event,
    mark_dispatched,
    mark_failed,
    renew_lease,
)
from civicloom.outbox.tables import OutboxRow
from civicloom.runtime import Container
from civicloom.worker import Worker

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


async def _enqueue(container: Container, n: int) -> None:
    async with container.uow() as uow:
        for i in range(n):
            event = CloudEvent(
                type=EventType.TASK_CREATED,
                source="urn:test",
                subject=f"s{i}",
                time=T0,
                data={"i": i},
            )
            await enqueue_event(uow.session, event, key=f"lease-test:{i}")
        await uow.commit()


async def _claim(container: Container, relay: str, at: datetime) -> list[OutboxMessage]:
    async with container.uow() as uow:
        claimed = await claim_due(uow.session, relay, at, 10, LEASE)
        await uow.commit()
    return claimed


async def _rows(container: Container) -> list[tuple[int, str | None, bool]]:
    """(subject index, claimed_by, dispatched) per message, in order."""
    async with container.uow() as uow:
        rows = list(await uow.session.scalars(select(OutboxRow).order_by(OutboxRow.id)))
    return [(r.payload["data"]["i"], r.claimed_by, r.dispatched_at is not None) for r in rows]


class Recording:
    """A publisher that records what it published and can act on the first publish."""

    def __init__(self) -> None:
        self.published: list[int] = []
        self.on_first: object = None

    async def publish(self, message: OutboxMessage) -> None:
        self.published.append(int(message.payload["data"]["i"]))
        if len(self.published) == 1 and callable(self.on_first):
            await self.on_first()

    async def close(self) -> None:
        return None


async def test_a_relay_whose_lease_was_lost_does_not_mark_another_rounds_message_sent(
    container: Container,
) -> None:
    await _enqueue(container, 1)
    [mine] = await _claim(container, "relay", T0)
    # The lease runs out; a relay with the same id (a second loop, a restarted process on
    # the same host and pid) claims the message again: a new round.
    [theirs] = await _claim(container, "relay", T0 + LEASE + timedelta(seconds=1))
    assert (mine.attempts, theirs.attempts) == (1, 2)
    async with container.uow() as uow:
        assert not await renew_lease(uow.session, mine, "relay", T0 + LEASE * 2, LEASE)
        assert not await mark_dispatched(uow.session, mine, "relay", T0 + LEASE * 2)
        await mark_failed(uow.session, mine, "relay", T0 + LEASE * 2, "late")
        await uow.commit()
    async with container.uow() as uow:
        row = (await uow.session.scalars(select(OutboxRow))).one()
        assert (row.dispatched_at, row.last_error, row.attempts) == (None, None, 2)
        assert row.claimed_until == T0 + LEASE * 2 + timedelta(seconds=1)
    async with container.uow() as uow:
        assert await mark_dispatched(uow.session, theirs, "relay", T0 + LEASE * 2)
        await uow.commit()
    assert await _rows(container) == [(0, "relay", True)]


async def test_a_message_taken_over_while_the_batch_was_delivered_is_published_once(
    container: Container,
) -> None:
    await _enqueue(container, 3)
    clock = FixedClock(T0)
    container.clock = clock
    publisher = Recording()
    taken: list[OutboxMessage] = []

    async def slow_first_publish() -> None:
        # The first message's broker round trip outlasts the lease; meanwhile relay B finds
        # the rest of the batch expired and claims it.
        clock.advance(LEASE + timedelta(seconds=1))
        taken.extend(await _claim(container, "relay-b", clock.now()))

    publisher.on_first = slow_first_publish
    relay_a = Worker(container, publisher, worker_id="relay-a")
    assert await relay_a.relay_outbox() == 3
    assert [m.payload["data"]["i"] for m in taken] == [0, 1, 2]
    assert publisher.published == [0]  # A published only the message it was publishing
    # A's delivery of message 0 is not recorded either: B's round owns it now.
    assert await _rows(container) == [
        (0, "relay-b", False),
        (1, "relay-b", False),
        (2, "relay-b", False),
    ]


async def test_a_slow_delivery_keeps_its_lease(container: Container) -> None:
    await _enqueue(container, 1)
    clock = FixedClock(T0)
    container.clock = clock
    third = LEASE / 3
    beats: list[datetime] = []

    async def tick(_: float) -> None:  # the heartbeat's pace, moved by hand
        await asyncio.sleep(0)
        clock.advance(third)
        beats.append(clock.now())

    stolen: list[OutboxMessage] = []

    async def slow_subscriber(message: OutboxMessage) -> float | None:
        # Delivering takes three leases; another relay keeps trying to take the message.
        while clock.now() < T0 + LEASE * 3:
            await asyncio.sleep(0)
            stolen.extend(await _claim(container, "relay-b", clock.now()))
        return None

    relay_a = Worker(
        container, Recording(), worker_id="relay-a", subscribers=[slow_subscriber], sleep=tick
    )
    assert await relay_a.relay_outbox() == 1
    assert len(beats) >= 9
    assert stolen == []
    assert await _rows(container) == [(0, "relay-a", True)]
